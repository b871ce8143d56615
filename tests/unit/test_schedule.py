"""The one schedule: what is due at an update, and how far the next action is."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glorot.engine.schedule import Actions, Schedule


def test_actions_at_the_start_the_periods_and_the_end():
    s = Schedule(updates=1000, eval_every=300, probe_every=0, checkpoint_every=250)
    assert s.actions(0) == Actions(evaluate=True, probe=True)
    assert s.actions(250) == Actions(checkpoint=True)
    assert s.actions(300) == Actions(evaluate=True)
    assert s.actions(301) == Actions()
    assert s.actions(1000) == Actions(evaluate=True, probe=True, end=True)  # no checkpoint at the end
    assert Schedule(10, 5).actions(0) == Actions(evaluate=True, probe=True, end=False)
    assert Schedule(0, 5).actions(0).end


@pytest.mark.parametrize("u, expected", [(0, 1), (249, 1), (250, 6), (256, 44), (300, 200), (900, 100), (999, 1)])
def test_updates_to_the_next_action(u, expected):
    assert Schedule(1000, 300, 0, 250).to_next_action(u) == expected


@given(updates=st.integers(1, 400), eval_every=st.integers(1, 50), probe_every=st.integers(0, 50),
       checkpoint_every=st.one_of(st.none(), st.integers(1, 50)))
def test_the_next_action_is_the_first_update_with_something_due(updates, eval_every, probe_every, checkpoint_every):
    """Stepping by to_next_action visits exactly the updates where something is due."""
    s = Schedule(updates, eval_every, probe_every, checkpoint_every)
    due = [u for u in range(1, updates + 1) if s.actions(u) != Actions()]
    visited, u = [], 0
    while u < updates:
        u += s.to_next_action(u)
        visited.append(u)
    assert visited == due


def test_early_probes_are_log_spaced_before_the_first_periodic_one():
    """Figure 2's early phase: probes at 1, 2, 4, ... updates until the first periodic probe."""
    s = Schedule(updates=1000, eval_every=300, probe_every=100)
    assert [u for u in range(1000) if s.actions(u).probe] == [0, 1, 2, 4, 8, 16, 32, 64, 100, 200, 300, 400, 500,
                                                             600, 700, 800, 900]
    assert s.actions(4) == Actions(probe=True)  # a probe only: no evaluation
    only_edges = Schedule(updates=20, eval_every=20, probe_every=0)
    assert [u for u in range(21) if only_edges.actions(u).probe] == [0, 1, 2, 4, 8, 16, 20]
    assert [only_edges.to_next_action(u) for u in (0, 1, 2, 3, 16)] == [1, 1, 2, 1, 4]
