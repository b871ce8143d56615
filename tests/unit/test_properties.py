"""Property-based checks of the configuration parser and the Shapeset generator's parameters:
whatever the input, either a valid object comes out or a one-line GlorotError naming the field."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glorot.config import TrainConfig, build_config
from glorot.data.shapeset import ShapesetParams, generate
from glorot.errors import GlorotError

values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5000), st.floats(allow_nan=True),
                   st.text(max_size=12), st.sampled_from(["tanh", "sigmoid", "softsign", "normalized", "standard"]),
                   st.sampled_from(["100", "0.01", "1e-2", "inf", "nan", "5", "cpu"]))
fields = st.sampled_from(sorted(TrainConfig.model_fields) + ["colour", "lr_grid"])
NUMBERS = {name for name, f in TrainConfig.model_fields.items() if f.annotation in (int, float)}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(fields, values, max_size=4))
def test_config_parser_accepts_or_names_the_field(raw):
    try:
        config = build_config(**raw)
    except GlorotError as e:
        message = str(e)
        assert "\n" not in message and message.startswith("invalid ")
        assert any(f"invalid {name}:" in message for name in raw)
        return
    assert config.depth >= 1 and config.lr > 0 and config.batch_size >= 1
    assert math.isfinite(config.lr) and isinstance(config.lr, float)
    for name in NUMBERS & set(raw):  # a number came in as a number: no bool, no string, no float for an int
        value, kind = raw[name], TrainConfig.model_fields[name].annotation
        assert type(value) in {int, kind} and getattr(config, name) == value and type(getattr(config, name)) is kind
    assert build_config(**config.model_dump()) == config


shapeset_fields = st.fixed_dictionaries({}, optional={
    "size": st.integers(-2, 40), "min_objects": st.integers(-1, 3), "max_objects": st.integers(-1, 3),
    "scale_min": st.floats(-0.5, 1.5), "scale_max": st.floats(-0.5, 1.5),
    "fg_min": st.floats(-0.5, 1.5), "fg_max": st.floats(-0.5, 1.5),
    "bg_min": st.floats(-0.5, 1.5), "bg_max": st.floats(-0.5, 1.5),
    "swap_prob": st.floats(-0.5, 1.5), "max_overlap": st.floats(-0.5, 1.5),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapeset_fields, st.integers(0, 2**32 - 1))
def test_shapeset_parameters_are_validated_and_valid_ones_generate(raw, seed):
    try:
        params = ShapesetParams(**raw)
    except GlorotError as e:
        assert "\n" not in str(e) and any(name in str(e) for name in raw)
        return
    try:
        x, y = generate(16, seed, params)
    except GlorotError as e:  # extreme but valid parameters may make placement impossible
        assert "cannot place" in str(e)
        return
    assert x.shape == (16, params.size * params.size) and x.dtype == np.float32
    assert np.all((x >= -1) & (x <= 1)) and np.all((y >= 0) & (y <= 8))
