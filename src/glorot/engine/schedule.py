"""When a run does something besides its SGD updates: evaluate, take the paper's
diagnostics, save a checkpoint, stop.

One :class:`Schedule` per configuration answers both questions the training loop asks:
"is an action due after update u" (:meth:`Schedule.actions`) and "how many updates until
the next one" (:meth:`Schedule.to_next_action`), so the loop can run the updates in between
without looking back at the host (on a GPU: without a synchronisation).

Evaluations and diagnostics fall at the start (update 0), every ``eval_every`` /
``probe_every`` updates, and at the end (Figures 2-4 and 9-12 plot both against updates);
``probe_every = 0`` means only at the start and the end. Before the first periodic probe
(``probe_every``, else the end) the diagnostics also fall at updates 1, 2, 4, 8, ... (log-spaced
from the first update): Figure 2's top sigmoid layer is pushed to 0 "very quickly at the
beginning" (Section 3.1), a phase one probe every ``probe_every`` updates cannot resolve, so
the early probes resolve it at every scale. Probes only read the net: the updates, and their
order, are the same with or without them. Checkpoints fall every
``checkpoint_every`` updates strictly between the start and the end: a finished run needs
none.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actions:
    """What is due after one update."""

    evaluate: bool = False
    probe: bool = False
    checkpoint: bool = False
    end: bool = False


@dataclass(frozen=True)
class Schedule:
    """The update counts at which one configuration evaluates, probes, checkpoints and ends."""

    updates: int
    eval_every: int
    probe_every: int = 0
    checkpoint_every: int | None = None

    @staticmethod
    def _periodic(update: int, every: int | None) -> bool:
        return bool(every) and update % every == 0

    def _first_periodic_probe(self) -> int:
        return self.probe_every or self.updates

    def _early_probe(self, update: int) -> bool:
        """``update`` is a power of 2 before the first periodic probe (the log-spaced early probes)."""
        return 0 < update < self._first_periodic_probe() and update & (update - 1) == 0

    def actions(self, update: int) -> Actions:
        """What is due once ``update`` updates have been applied (0: before the first)."""
        edge = update in (0, self.updates)
        return Actions(
            evaluate=edge or self._periodic(update, self.eval_every),
            probe=edge or self._periodic(update, self.probe_every) or self._early_probe(update),
            checkpoint=0 < update < self.updates and self._periodic(update, self.checkpoint_every),
            end=update >= self.updates,
        )

    def to_next_action(self, update: int) -> int:
        """Updates from ``update`` to the next update at which something is due (at least 1,
        never past the end)."""
        points = [self.updates]
        early = 1 << update.bit_length()  # the next power of 2 after ``update``
        if early < self._first_periodic_probe():
            points.append(early)
        for every in (self.eval_every, self.probe_every, self.checkpoint_every):
            if every:
                points.append((update // every + 1) * every)
        return max(1, min(points) - update)
