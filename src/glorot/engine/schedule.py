"""When a run does something besides its SGD updates: evaluate, take the paper's
diagnostics, save a checkpoint, stop.

One :class:`Schedule` per configuration answers both questions the training loop asks:
"is an action due after update u" (:meth:`Schedule.actions`) and "how many updates until
the next one" (:meth:`Schedule.to_next_action`), so the loop can run the updates in between
without looking back at the host (on a GPU: without a synchronisation).

Evaluations and diagnostics fall at the start (update 0), every ``eval_every`` /
``probe_every`` updates, and at the end (Figures 2-4 and 9-12 plot both against updates);
``probe_every = 0`` means only at the start and the end. Checkpoints fall every
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

    def actions(self, update: int) -> Actions:
        """What is due once ``update`` updates have been applied (0: before the first)."""
        edge = update in (0, self.updates)
        return Actions(
            evaluate=edge or self._periodic(update, self.eval_every),
            probe=edge or self._periodic(update, self.probe_every),
            checkpoint=0 < update < self.updates and self._periodic(update, self.checkpoint_every),
            end=update >= self.updates,
        )

    def to_next_action(self, update: int) -> int:
        """Updates from ``update`` to the next update at which something is due (at least 1,
        never past the end)."""
        points = [self.updates]
        for every in (self.eval_every, self.probe_every, self.checkpoint_every):
            if every:
                points.append((update // every + 1) * every)
        return max(1, min(points) - update)
