"""Test data with a fixed pool of training images, for the batched and device training paths."""

import dataclasses

from glorot.config import build_config
from glorot.data.shapeset import generate
from glorot.data.sources import EpochStream, load_data


def pooled_data(settings: dict, n: int, seed: int):
    """The data of ``settings`` with training batches drawn from a fixed pool of ``n`` Shapeset
    images (the image sets' epoch stream) instead of 10,000 fresh images per configuration."""
    bundle = load_data(build_config(**settings))
    x, y = generate(n, seed=seed)
    return dataclasses.replace(bundle, stream_factory=lambda s, batch: EpochStream(x, y, s, batch))
