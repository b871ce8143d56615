"""The one configuration object of a training run, validated once and passed everywhere.

Defaults are the paper's (Section 2.3): 5 hidden layers of 1000 units, plain SGD on
mini-batches of 10, negative log-likelihood, standard initialisation. Every source of
randomness derives from ``seed``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from glorot.paper.activations import ACTIVATIONS
from glorot.paper.costs import COSTS
from glorot.errors import GlorotError
from glorot.paper.init import INITS

#: The paper's data sets (Section 2.1-2.2) and their names in Table 1's column headers.
DATASET_TITLES = {"shapeset": "Shapeset-3x2", "mnist": "MNIST", "cifar10": "CIFAR-10",
                  "small_imagenet": "Small-ImageNet"}
DATASETS = tuple(DATASET_TITLES)


def _one_of(value: str, valid) -> str:
    if value not in valid:
        raise ValueError(f"{value!r} is not one of {', '.join(valid)}")
    return value


class TrainConfig(BaseModel):
    """Everything that decides a training run's numbers (and nothing that does not)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = "shapeset"
    activation: str = "tanh"
    init: str = "standard"
    depth: int = Field(5, ge=1)
    width: int = Field(1000, ge=1)
    cost: str = "nll"
    lr: float = Field(0.01, gt=0)
    batch_size: int = Field(10, ge=1)
    updates: int = Field(20_000, ge=0)
    seed: int = Field(0, ge=0)
    eval_every: int = Field(5000, ge=1, description="updates between validation/test evaluations")
    probe_every: int = Field(5000, ge=0, description="updates between diagnostics; 0: only at start and end")
    probe_size: int = Field(300, ge=1, description="examples in the fixed probe set (paper, Figure 4: 300)")
    jac_examples: int = Field(2, ge=1, description="probe examples whose layer Jacobians are decomposed")
    valid_size: int = Field(10_000, ge=1, description="Shapeset validation images when generated in memory")
    test_size: int = Field(10_000, ge=1, description="Shapeset test images when generated in memory")
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, v: str) -> str:
        return _one_of(v, DATASETS)

    @field_validator("activation")
    @classmethod
    def _activation(cls, v: str) -> str:
        return _one_of(v, ACTIVATIONS)

    @field_validator("init")
    @classmethod
    def _init(cls, v: str) -> str:
        return _one_of(v, INITS)

    @field_validator("cost")
    @classmethod
    def _cost(cls, v: str) -> str:
        return _one_of(v, COSTS)

    @property
    def paper_name(self) -> str:
        """The paper's name for this network, e.g. ``Tanh N`` for tanh with normalized init."""
        suffix = " N" if self.init == "normalized" else ""
        return self.activation.capitalize() + suffix

    @property
    def paper_cell(self) -> str:
        """This run's cell of the paper's Table 1, e.g. ``Tanh N / Shapeset-3x2``."""
        return f"{self.paper_name} / {DATASET_TITLES[self.dataset]}"


def build_config(**fields: Any) -> TrainConfig:
    """A validated :class:`TrainConfig`, or a one-line :class:`GlorotError` naming the bad field."""
    try:
        return TrainConfig(**fields)
    except ValidationError as e:
        raise GlorotError(describe_validation_error(e)) from None


def describe_validation_error(e: ValidationError) -> str:
    """Pydantic's first error as one line: ``depth: Input should be greater ... (got 0)``."""
    err = e.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "config"
    msg = err["msg"].removeprefix("Value error, ")
    got = f" (got {err['input']!r})" if err["type"] not in ("value_error", "extra_forbidden") else ""
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return f"invalid {field}: {msg}{got}"
