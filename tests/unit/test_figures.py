"""Figures 11-12 (``glorot.report.figures.test_error_curves``): an axis a reader can read."""

import pytest

from glorot.report import figures
from glorot.report.records.panels import Curve, CurvePanel

UPDATES = (0, 5000, 10000)


@pytest.mark.parametrize("curves, scale", [
    # MNIST at 5 x 1000: four networks near 2% beside a sigmoid at chance (88.65%)
    ((Curve("Tanh N", UPDATES, (92.7, 5.8, 1.8), (92.0, 5.5, 1.6), (93.0, 6.0, 1.9)),
      Curve("Sigmoid", UPDATES, (90.0, 89.0, 88.65))), "log"),
    # Shapeset-3x2: 15% to 92%, less than a decade
    ((Curve("Tanh N", UPDATES, (91.8, 40.0, 15.6)), Curve("Tanh", UPDATES, (91.7, 60.0, 27.2))), "linear"),
    # a network with no test error: no log scale to draw it on
    ((Curve("Tanh N", UPDATES, (90.0, 10.0, 0.0)),), "linear"),
])
def test_a_panel_whose_errors_span_a_decade_is_drawn_on_a_log_scale(curves, scale, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.append(fig) or path)
    figures.test_error_curves([CurvePanel("MNIST", curves)], tmp_path / "fig12.png")
    (ax,) = drawn[0].axes
    assert ax.get_yscale() == scale
    assert ax.get_ylabel() == ("test error (%, log scale)" if scale == "log" else "test error (%)")
