"""The one learning-rate rule (paper Section 2.3, glorot.paper.selection)."""

import math

import pytest

from glorot.paper.selection import Trial, choose_lr, rate_means


def trials(table):
    """{lr: {seed: valid_error or None (diverged)}} as trials."""
    return [Trial(lr, seed, err, err is not None) for lr, seeds in table.items() for seed, err in seeds.items()]


def test_lowest_seed_mean_wins_not_the_lowest_single_run():
    # 0.1 has the single best run (seed 0) but the worse mean.
    assert choose_lr(trials({0.1: {0: 0.10, 1: 0.40, 2: 0.40}, 0.01: {0: 0.20, 1: 0.20, 2: 0.20}})) == 0.01


def test_exact_tie_goes_to_the_smaller_rate():
    assert choose_lr(trials({0.1: {0: 0.25}, 0.01: {0: 0.25}, 1.0: {0: 0.25}})) == 0.01


def test_a_rate_with_a_diverged_seed_is_not_eligible():
    table = {0.1: {0: 0.05, 1: None}, 0.01: {0: 0.30, 1: 0.30}}
    assert choose_lr(trials(table)) == 0.01
    assert set(rate_means(trials(table))) == {0.01}


def test_a_nan_error_counts_as_not_finished():
    assert choose_lr([Trial(0.1, 0, math.nan, True), Trial(0.01, 0, 0.5, True)]) == 0.01


def test_no_eligible_rate_gives_none():
    assert choose_lr(trials({0.1: {0: None}, 1.0: {0: None}})) is None
    assert choose_lr([]) is None


def test_rates_are_compared_on_their_shared_seeds():
    # The chosen rate was run on seeds 0-2 afterwards; its seeds 1 and 2 must not count
    # against the rates tried on seed 0 only.
    table = {0.1: {0: 0.20}, 0.01: {0: 0.10, 1: 0.90, 2: 0.90}}
    assert choose_lr(trials(table)) == 0.01
    assert rate_means(trials(table)) == {0.1: 0.20, 0.01: 0.10}


def test_rates_sharing_no_seed_are_refused():
    with pytest.raises(ValueError, match="share no seed"):
        choose_lr(trials({0.1: {0: 0.2}, 0.01: {1: 0.1}}))
