"""The one configuration object of a training run, validated once and passed everywhere.

Defaults are the paper's (Section 2.3): 5 hidden layers of 1000 units, plain SGD on
mini-batches of 10, negative log-likelihood, standard initialisation. Every source of
randomness derives from ``seed``.

Numbers are strict: a count is an ``int`` (not ``True``, not ``"100"``, not ``100.0``), a
rate a ``float`` or an ``int`` that float32, the engine's dtype, holds as a finite normal number
(``lr: 1e308`` is an error here, not an overflow in the middle of training). Training length
and the size of a study have upper bounds far above the paper's (millions of updates,
:data:`MAX_UPDATES`, :data:`MAX_CONFIGS`), which a paper-scale study lifts with an environment
setting (:func:`limit`). Sizes are bounded twice: hard caps where memory is not
the point (:data:`MAX_DEPTH`, :data:`MAX_BATCH`, ...), and what fits in this machine's memory
(:func:`memory_needs`, checked with the device when a configuration is validated, so that a
run that cannot start fails at the edge in one line, before any data or MLflow run).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (AfterValidator, AllowInfNan, BaseModel, ConfigDict, Field, Strict, ValidationError,
                      ValidationInfo, model_validator)

from glorot.errors import GlorotError, shorten
from glorot.paper.names import ACTIVATION_NAMES, COST_NAMES, INIT_NAMES

#: The paper's data sets (Section 2.1-2.2) and their names in Table 1's column headers.
DATASET_TITLES = {"shapeset": "Shapeset-3x2", "mnist": "MNIST", "cifar10": "CIFAR-10",
                  "small_imagenet": "Small-ImageNet"}
DATASETS = tuple(DATASET_TITLES)
#: Inputs and classes of each data set (Section 2.1-2.2): 32x32, 28x28, 32x32x3 and 37x37 images.
DATASET_SHAPES = {"shapeset": (1024, 9), "mnist": (784, 10), "cifar10": (3072, 10), "small_imagenet": (1369, 10)}

#: Hard caps where memory is not the point (the paper: depth 5, mini-batches of 10, 300 probe examples).
MAX_DEPTH = 100
MAX_BATCH = 100_000
MAX_EXAMPLES = 1_000_000  # Shapeset validation and test images generated in memory
MAX_PROBE = 100_000
MAX_SEED = 2**64 - 1  # torch.manual_seed's range
FLOAT_BYTES = 4  # float32 everywhere
#: The largest and the smallest normal magnitude of float32, the engine's dtype.
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38
#: Default upper bounds on a run's updates (``updates``, ``pretrain_updates``) and on a study's
#: configurations; each can be raised with the environment setting of :data:`LIMIT_SETTINGS`.
MAX_UPDATES = 10**8
MAX_CONFIGS = 10_000
LIMIT_SETTINGS = {"updates": ("GLOROT_MAX_UPDATES", MAX_UPDATES), "configs": ("GLOROT_MAX_CONFIGS", MAX_CONFIGS)}


def limit(name: str) -> int:
    """The upper bound ``name`` (``updates`` or ``configs``): its environment setting
    (:data:`LIMIT_SETTINGS`, e.g. ``GLOROT_MAX_UPDATES=1000000000`` for a longer study), else the default."""
    setting, default = LIMIT_SETTINGS[name]
    text = os.environ.get(setting, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise GlorotError(f"invalid {setting}: must be a positive integer (got {shorten(text)})")
    return int(text)


def over_limit(name: str, what: str, n: int) -> str | None:
    """The one line that says ``n`` ``what`` exceed the limit ``name`` and how to lift it, or ``None``."""
    bound = limit(name)
    if n <= bound:
        return None
    setting = LIMIT_SETTINGS[name][0]
    return (f"{n:,} {what} exceed the limit of {bound:,}; for a study that needs more (the paper's ran up to "
            f"millions of updates), set {setting} to a larger number")


def _float32(value: float) -> float:
    """A rate that float32, the engine's dtype, holds as a finite normal number (or zero)."""
    if abs(value) > FLOAT32_MAX or 0 < abs(value) < FLOAT32_TINY:
        raise ValueError(f"{value!r} is outside what float32, the engine's dtype, holds "
                         f"(magnitudes {FLOAT32_TINY:.3g} to {FLOAT32_MAX:.3g}, or 0)")
    return value

#: A count: an ``int``, never a bool, a string or a float (``widths: [true]`` is not width 1).
Count = Annotated[int, Strict()]
#: A rate: a finite ``float``; an ``int`` is taken as a float (``lrs: [1]``), a bool or a string is not.
Rate = Annotated[float, Strict(), AllowInfNan(False), AfterValidator(_float32)]
#: The validation context key that turns the checks against this machine (memory, CUDA) off:
#: for a launcher whose configurations train on other machines, which check them on arrival.
CHECK_MACHINE = "check_machine"


@dataclass(frozen=True)
class OneOf:
    """A check that a name is one of ``valid`` (the keys of one of the paper's tables), which
    also tells the command line the choices (:func:`field_choices`)."""

    valid: tuple[str, ...]

    def __call__(self, value: str) -> str:
        if value not in self.valid:
            raise ValueError(f"{shorten(value)} is not one of {', '.join(self.valid)}")
        return value


#: Names checked against the paper's tables; as types, so that a study's fields carry the check too.
Dataset = Annotated[str, AfterValidator(OneOf(DATASETS))]
Activation = Annotated[str, AfterValidator(OneOf(ACTIVATION_NAMES))]
#: The initialisation schemes of :mod:`glorot.paper.init`, and ``dae``: the standard one (eq. 1)
#: followed by greedy layer-wise denoising auto-encoder pre-training (:mod:`glorot.paper.pretraining`).
PRETRAINED = "dae"
Init = Annotated[str, AfterValidator(OneOf((*INIT_NAMES, PRETRAINED)))]
Cost = Annotated[str, AfterValidator(OneOf(COST_NAMES))]

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

    dataset: Dataset = Field("shapeset", description="data set (paper, Section 2.1-2.2)")
    activation: Activation = Field("tanh", description="hidden-unit non-linearity (paper, Section 2.3)")
    init: Init = Field("standard", description="weight initialisation: eq. 1, eq. 16, he, orthogonal, lsuv, "
                                                "or eq. 1 then DAE pre-training")
    depth: Count = Field(5, ge=1, le=MAX_DEPTH, description="hidden layers")
    width: Count = Field(1000, ge=1, description="units per hidden layer")
    cost: Cost = Field("nll", description="training cost: negative log-likelihood or quadratic (Figure 5)")
    lr: Rate = Field(0.01, gt=0, description="learning rate of plain SGD")
    batch_size: Count = Field(10, ge=1, le=MAX_BATCH, description="examples per mini-batch")
    updates: Count = Field(20_000, ge=0, description="SGD updates (mini-batches) to train for (at most "
                                                     "GLOROT_MAX_UPDATES, default 10^8)")
    seed: Count = Field(0, ge=0, le=MAX_SEED, description="seed of every source of randomness")
    eval_every: Count = Field(5000, ge=1, description="updates between validation/test evaluations")
    probe_every: Count = Field(5000, ge=0, description="updates between diagnostics; 0: only at start and end")
    probe_size: Count = Field(300, ge=1, le=MAX_PROBE,
                              description="examples in the fixed probe set (paper, Figure 4: 300)")
    jac_examples: Count = Field(2, ge=1, le=MAX_PROBE,
                                description="probe examples whose layer Jacobians are decomposed")
    valid_size: Count = Field(10_000, ge=1, le=MAX_EXAMPLES,
                              description="Shapeset validation images when generated in memory")
    test_size: Count = Field(10_000, ge=1, le=MAX_EXAMPLES, description="Shapeset test images when generated in memory")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="where to train; auto: CUDA when there is one")
    pretrain_updates: Count = Field(10_000, ge=0, description="init dae: pre-training updates per hidden layer")
    pretrain_lr: Rate = Field(0.01, gt=0, description="init dae: pre-training learning rate")
    pretrain_noise: Rate = Field(0.25, ge=0, lt=1, description="init dae: masking-noise probability per input")

    @model_validator(mode="after")
    def _within_limits(self) -> TrainConfig:
        """At most :func:`limit` ``("updates")`` updates, in training and in each layer's pre-training."""
        for field in ("updates", "pretrain_updates"):
            if problem := over_limit("updates", "updates", getattr(self, field)):
                raise FieldProblem(field, problem)
        return self

    @model_validator(mode="after")
    def _fits_this_machine(self, info: ValidationInfo) -> TrainConfig:
        """The device exists and the sizes fit in memory here, unless the validation context says
        that the run trains elsewhere (:data:`CHECK_MACHINE`)."""
        if (info.context or {}).get(CHECK_MACHINE, True):
            check_machine(self)
        return self

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


def field_choices(name: str) -> tuple[str, ...] | None:
    """The values a :class:`TrainConfig` field takes when they are a list of names (``activation``:
    ``sigmoid, tanh, ...``; ``device``: ``auto, cpu, cuda``), else ``None``: what ``--help`` lists."""
    field = TrainConfig.model_fields[name]
    if get_origin(field.annotation) is Literal:
        return get_args(field.annotation)
    return next((m.func.valid for m in field.metadata
                 if isinstance(m, AfterValidator) and isinstance(m.func, OneOf)), None)


def build_config(*, check_machine: bool = True, **fields: Any) -> TrainConfig:
    """A validated :class:`TrainConfig`, or a one-line :class:`GlorotError` naming the bad field.
    ``check_machine=False`` leaves out the checks against this machine (it trains elsewhere)."""
    try:
        return TrainConfig.model_validate(fields, context={CHECK_MACHINE: check_machine})
    except ValidationError as e:
        raise GlorotError(describe_validation_error(e)) from None


class FieldProblem(ValueError):
    """A check across fields that blames one of them: its error names ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def machine_memory() -> int | None:
    """This machine's RAM in bytes (``None`` where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


@functools.cache
def cuda_available() -> bool:
    """Whether torch sees a CUDA device (asked once per process)."""
    import torch

    return torch.cuda.is_available()


def memory_needs(config: TrainConfig) -> dict[str, int]:
    """The bytes a run of ``config`` holds at least at once (float32), by what it holds them for,
    keyed by the field to blame: ``weights`` (one net's weights and biases: n_in x width +
    (depth - 1) x width^2 + width x classes, plus biases), ``batch_size`` (a training step:
    the weights, their gradients, and each layer's values and gradients for a mini-batch),
    ``probe_size`` (the same for the diagnostics' pass over the probe set, Figures 6-10) and
    ``jac_examples`` (the Gram matrices of the layer Jacobians, Section 4.2.2, width^2 each,
    with as much again for the eigen-decomposition)."""
    n_in, classes = DATASET_SHAPES[config.dataset]
    d, w = config.depth, config.width
    weights = FLOAT_BYTES * (n_in * w + (d - 1) * w * w + w * classes + d * w + classes)
    per_example = FLOAT_BYTES * 2 * (n_in + 2 * d * w + classes)  # inputs, pre-activations, outputs; and gradients
    jacobians = FLOAT_BYTES * 2 * min(config.jac_examples, config.probe_size) * w * w
    return {"weights": weights, "batch_size": 2 * weights + config.batch_size * per_example,
            "probe_size": 2 * weights + config.probe_size * per_example, "jac_examples": weights + jacobians}


def _gib(n: float) -> str:
    return f"{n / 2**30:,.0f} GiB" if n >= 100 * 2**30 else f"{n / 2**30:.1f} GiB"


def check_machine(config: TrainConfig) -> None:
    """Raise :class:`FieldProblem` when ``config`` cannot run here: ``device: cuda`` without a
    CUDA device, or sizes beyond this machine's RAM (:func:`memory_needs`)."""
    if config.device == "cuda" and not cuda_available():
        raise FieldProblem("device", "'cuda' requested but no CUDA device is available")
    ram = machine_memory()
    if ram is None:
        return
    needs, has = memory_needs(config), f"this machine has {_gib(ram)}"
    units = f"{config.depth} x {config.width} units"
    if needs["weights"] > ram:
        raise FieldProblem("width", f"{units} need {_gib(needs['weights'])} for the weights alone; {has}")
    if needs["batch_size"] > ram:
        raise FieldProblem("batch_size", f"a training step of {units} on mini-batches of {config.batch_size} needs "
                           f"{_gib(needs['batch_size'])} (weights, their gradients, and each layer's values and "
                           f"gradients); {has}")
    if needs["probe_size"] > ram:
        raise FieldProblem("probe_size", f"the diagnostics of {units} on {config.probe_size} probe examples need "
                           f"{_gib(needs['probe_size'])}; {has}")
    if needs["jac_examples"] > ram:
        n = min(config.jac_examples, config.probe_size)
        raise FieldProblem("jac_examples", f"the Jacobians of {n} probe examples ({config.width} x {config.width} "
                           f"per layer) need {_gib(needs['jac_examples'])}; {has}")


def describe_validation_error(e: ValidationError) -> str:
    """Pydantic's first error as one line: ``depth: Input should be greater ... (got 0)``."""
    err = e.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "config"
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, FieldProblem):
        field = cause.field
    msg = err["msg"].removeprefix("Value error, ")
    got = f" (got {shorten(err['input'])})" if err["type"] not in ("value_error", "extra_forbidden", "missing") else ""
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return f"invalid {field}: {msg}{got}"
