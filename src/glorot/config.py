"""The one configuration object of a training run, validated once and passed everywhere.

Defaults are the paper's (Section 2.3): 5 hidden layers of 1000 units, plain SGD on
mini-batches of 10, negative log-likelihood, standard initialisation. Every source of
randomness derives from ``seed``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from glorot.errors import GlorotError
from glorot.paper.activations import ACTIVATIONS
from glorot.paper.costs import COSTS
from glorot.paper.init import INITS

#: The paper's data sets (Section 2.1-2.2) and their names in Table 1's column headers.
DATASET_TITLES = {"shapeset": "Shapeset-3x2", "mnist": "MNIST", "cifar10": "CIFAR-10",
                  "small_imagenet": "Small-ImageNet"}
DATASETS = tuple(DATASET_TITLES)


def _one_of(valid) -> AfterValidator:
    """A check that a name is one of ``valid`` (the keys of one of the paper's tables)."""
    def check(value: str) -> str:
        if value not in valid:
            raise ValueError(f"{value!r} is not one of {', '.join(valid)}")
        return value
    return AfterValidator(check)


#: Names checked against the paper's tables; as types, so that a study's fields carry the check too.
Dataset = Annotated[str, _one_of(DATASETS)]
Activation = Annotated[str, _one_of(tuple(ACTIVATIONS))]
#: The initialisation schemes of :mod:`glorot.paper.init`, and ``dae``: the standard one (eq. 1)
#: followed by greedy layer-wise denoising auto-encoder pre-training (:mod:`glorot.paper.pretraining`).
PRETRAINED = "dae"
Init = Annotated[str, _one_of((*INITS, PRETRAINED))]
Cost = Annotated[str, _one_of(tuple(COSTS))]

#: The initialisations that the paper names (eq. 1 and the normalized eq. 16); others are extensions.
PAPER_INITS = {"standard": "", "normalized": " N"}
#: Pre-training is named as in the paper's discussion of it (Section 3.1): ``Sigmoid DAE``.
_NAMED_INITS = {**PAPER_INITS, PRETRAINED: " DAE"}


def network_name(activation: str, init: str) -> str:
    """A network's name in tables: the paper's (``Tanh``, ``Tanh N`` for the normalized init, eq. 16)
    for the paper's initialisations; ``activation/init`` (``tanh/he``) for an extension, the
    study syntax, so that an extension never shares a row of Table 1 with a network of the paper."""
    if init in _NAMED_INITS:
        return activation.capitalize() + _NAMED_INITS[init]
    return f"{activation}/{init}"


class TrainConfig(BaseModel):
    """Everything that decides a training run's numbers (and nothing that does not)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Dataset = "shapeset"
    activation: Activation = "tanh"
    init: Init = "standard"
    depth: int = Field(5, ge=1)
    width: int = Field(1000, ge=1)
    cost: Cost = "nll"
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
    pretrain_updates: int = Field(10_000, ge=0, description="init dae: pre-training updates per hidden layer")
    pretrain_lr: float = Field(0.01, gt=0, description="init dae: pre-training learning rate")
    pretrain_noise: float = Field(0.25, ge=0, lt=1, description="init dae: masking-noise probability per input")

    @property
    def paper_name(self) -> str:
        """This network's name in tables (:func:`network_name`): ``Tanh N``, or ``tanh/he`` outside the paper."""
        return network_name(self.activation, self.init)

    @property
    def paper_cell(self) -> str:
        """This run's cell of the paper's Table 1, e.g. ``Tanh N / Shapeset-3x2``."""
        return f"{self.paper_name} / {DATASET_TITLES[self.dataset]}"

    @property
    def label(self) -> str:
        """A one-line name of this run: its cell and grid point, e.g. ``Tanh N / Shapeset-3x2 d5 w500 lr=0.05 s0``."""
        return f"{self.paper_cell} d{self.depth} w{self.width} lr={self.lr:g} s{self.seed}"


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
    got = f" (got {err['input']!r})" if err["type"] not in ("value_error", "extra_forbidden", "missing") else ""
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return f"invalid {field}: {msg}{got}"
