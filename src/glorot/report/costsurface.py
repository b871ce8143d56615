"""Figure 5's small experiment: the cost of a two-layer net as a function of two weights.

A net with one hidden layer (``glorot.paper.nets.MLP`` with ``depth=1``: W1 then the softmax
layer W2) is built with the normalized init from a fixed seed; on a fixed batch of
Shapeset-3x2 images, one weight of each layer is swept over a grid while every other
weight stays at its initial value, and the mean cost is evaluated with the cross-entropy
(``glorot.paper.costs.nll``) and the quadratic cost (``glorot.paper.costs.quadratic``). The two
weights: W1[0, p] from the input pixel p with the largest variance over the batch to
hidden unit 0, and W2[c, 0] from hidden unit 0 to the most frequent class c.

The paper's point: the quadratic surface has much flatter plateaus. The number reported
is the share of the grid where the gradient's magnitude (central differences) is below
:data:`PLATEAU_THRESHOLD` x that surface's largest gradient. Deterministic: fixed data
seed, fixed init seed, CPU float32.
"""

from __future__ import annotations

import numpy as np
import torch

from glorot.paper.costs import nll, quadratic
from glorot.data import shapeset
from glorot.paper.nets import MLP
from glorot.report.records import CostSurface

DATA_SEED = 5_2010
INIT_SEED = 0
N_EXAMPLES = 200
WIDTH = 10
GRID = 41
RANGE = 10.0
PLATEAU_THRESHOLD = 0.1


def plateau_fraction(surface: np.ndarray, grid: np.ndarray, threshold: float = PLATEAU_THRESHOLD) -> float:
    """Share of the grid points where |grad| < ``threshold`` x max |grad| (central differences)."""
    g0, g1 = np.gradient(surface, grid, grid)
    magnitude = np.hypot(g0, g1)
    top = magnitude.max()
    return float((magnitude < threshold * top).mean()) if top > 0 else 1.0


@torch.no_grad()
def cost_surfaces(grid_points: int = GRID, span: float = RANGE, n_examples: int = N_EXAMPLES,
                  width: int = WIDTH) -> CostSurface:
    """Both costs on a ``grid_points`` x ``grid_points`` grid of (W1[0, p], W2[c, 0]) in [-span, span]^2."""
    x_np, y_np = shapeset.generate(n_examples, DATA_SEED)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    net = MLP(x.shape[1], len(shapeset.CLASS_NAMES), depth=1, width=width, activation="tanh",
              init="normalized", seed=INIT_SEED)
    w1, w2 = net.layers[0].weight, net.layers[1].weight
    pixel = int(x.var(0).argmax())
    klass = int(torch.bincount(y, minlength=w2.shape[0]).argmax())
    grid = np.linspace(-span, span, grid_points)
    # The hidden layer's pre-activation without W1[0, pixel]'s share, so each grid row is one update.
    base_s = torch.addmm(net.layers[0].bias, x, w1.t())
    base_s[:, 0] -= x[:, pixel] * w1[0, pixel]
    surfaces = {name: np.zeros((grid_points, grid_points)) for name in ("nll", "quadratic")}
    b = torch.from_numpy(grid).to(x.dtype)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thousands of tiny ops: threads only add overhead
    try:
        for i, a in enumerate(grid):
            s = base_s.clone()
            s[:, 0] += x[:, pixel] * float(a)
            z = net.act.fn(s)
            # Every W2[klass, 0] of the row at once: only logit ``klass`` moves, by (b - W2[klass, 0]) z_0.
            logits = net.layers[1](z).expand(grid_points, -1, -1).clone()
            logits[:, :, klass] += (b - w2[klass, 0])[:, None] * z[None, :, 0]
            for j in range(grid_points):
                surfaces["nll"][i, j] = float(nll(logits[j], y)[0])
                surfaces["quadratic"][i, j] = float(quadratic(logits[j], y)[0])
    finally:
        torch.set_num_threads(threads)
    return CostSurface(
        grid=tuple(grid.tolist()), surfaces={k: v.tolist() for k, v in surfaces.items()},
        plateau_threshold=PLATEAU_THRESHOLD,
        plateau_fraction={k: plateau_fraction(v, grid) for k, v in surfaces.items()},
        weights={"w1": f"W1[0, {pixel}] (input pixel {pixel} -> hidden unit 0)",
                 "w2": f"W2[{klass}, 0] (hidden unit 0 -> class {klass})"},
        scale=(f"{n_examples} Shapeset-3x2 images (seed {DATA_SEED}), 1024-{width}-9 tanh net, normalized "
               f"init (seed {INIT_SEED}), {grid_points}x{grid_points} grid on [-{span:g}, {span:g}]^2"),
    )
