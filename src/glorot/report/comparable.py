"""When two Table 1 cells may be compared, and when a network has learned nothing.

* **Like with like**: two cells are compared only when they ran the same design: depth,
  width, number of updates, learning-rate grid and seeds (:func:`differences`). The
  learning rate each cell *chose* on validation error may differ: that is the protocol.
* **Chance**: a network whose mean test error is within :data:`AT_CHANCE_MARGIN_PCT`
  percentage points of the majority-class error of its data set (:data:`CHANCE_ERROR_PCT`)
  has learned nothing at this scale (:func:`at_chance`), and a ranking claim that rests on it
  is not decided. On Shapeset-3x2 one or two objects are equally likely and each object's
  shape is one of three, so each one-object class has probability 1/2 x 1/3 = 1/6 and the
  majority-class error is 5/6 = 83.3% (the paper's Sigmoid, 82.61%, is at chance).
"""

from __future__ import annotations

from collections.abc import Iterable

from glorot.report.records import Cell

#: The error (%) of always answering the most frequent class of the test set.
CHANCE_ERROR_PCT = {
    "shapeset": 100 * 5 / 6,  # three one-object classes of probability 1/6 each
    "mnist": 88.65,           # the digit 1: 1,135 of the 10,000 test images
    "cifar10": 90.0,          # 10 balanced classes
    "small_imagenet": 90.0,   # 10 balanced classes
}
#: A network this close (percentage points) to the majority-class error is at chance.
AT_CHANCE_MARGIN_PCT = 2.0
#: The design two cells must share to be compared (the attribute of :class:`Cell`, its name).
DESIGN = (("depth", "depth"), ("widths", "width"), ("updates_run", "updates"), ("lr_grid", "learning-rate grid"),
          ("seeds_run", "seeds"))


def chance_pct(dataset: str) -> float | None:
    """The majority-class test error (%) of ``dataset``, None if unknown."""
    return CHANCE_ERROR_PCT.get(dataset)


def at_chance(cell: Cell) -> bool:
    """Whether the cell's mean test error is within the margin of its data set's chance level."""
    chance = chance_pct(cell.dataset)
    return cell.ok and chance is not None and cell.mean_pct >= chance - AT_CHANCE_MARGIN_PCT


def _show(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) + ")"
    return str(value)


def differences(a: Cell, b: Cell, ignore: Iterable[str] = ()) -> list[str]:
    """How the designs of cells ``a`` and ``b`` differ (empty: like with like), e.g. ``seeds (0, 1)
    vs (0)``; names in ``ignore`` (``depth``, ``width``, ...) are not checked."""
    skip = set(ignore)
    out = []
    for attr, name in DESIGN:
        va, vb = getattr(a, attr), getattr(b, attr)
        if name not in skip and va != vb:
            out.append(f"{name} {_show(va)} vs {_show(vb)}")
    return out
