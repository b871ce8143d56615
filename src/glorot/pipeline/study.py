"""Studies: named sweeps over configurations, declared in ``params.yaml`` (the single home
of every experiment knob, read by DVC and by the command line) and validated here once.

A study is the product datasets x networks x depths x widths x learning rates x seeds of
:class:`~glorot.config.TrainConfig`; networks use the paper's names (``Tanh N`` is tanh
with the normalized initialisation, eq. 16; ``Tanh`` the standard one, eq. 1). An
extension outside the paper is written ``activation/init``, e.g. ``relu/he``.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from glorot.paper.activations import ACTIVATIONS
from glorot.config import DATASETS, TrainConfig, build_config, describe_validation_error
from glorot.data.sources import SHAPESET_TEST_SEED, SHAPESET_VALID_SEED
from glorot.errors import GlorotError
from glorot.paper.init import INITS

#: The five networks of the paper's Table 1, in its row order.
TABLE1_NETWORKS = ("Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid")


def parse_network(name: str) -> tuple[str, str]:
    """``"Tanh N"`` -> ``("tanh", "normalized")``; ``"relu/he"`` -> ``("relu", "he")``."""
    if "/" in name:
        activation, init = (part.strip().lower() for part in name.split("/", 1))
    else:
        words = name.split()
        activation = words[0].lower() if words else ""
        init = "normalized" if words[1:] == ["N"] else "standard" if len(words) == 1 else "?"
    if activation not in ACTIVATIONS or init not in INITS:
        raise ValueError(f"unknown network {name!r}; use a paper name such as 'Tanh N' or 'activation/init' "
                         f"with activation in {', '.join(ACTIVATIONS)} and init in {', '.join(INITS)}")
    return activation, init


class StudyConfig(BaseModel):
    """One study of ``params.yaml``: the grid to sweep and the shared training settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    datasets: list[str] = Field(min_length=1)
    networks: list[str] = Field(min_length=1)
    depths: list[int] = Field([5], min_length=1)
    widths: list[int] = Field([1000], min_length=1)
    lrs: list[float] = Field(min_length=1)
    seeds: list[int] = Field([0], min_length=1)
    updates: int = Field(ge=0)
    batch_size: int = 10
    cost: str = "nll"
    eval_every: int = 5000
    probe_every: int = 5000
    probe_size: int = 300
    jac_examples: int = 2
    device: Literal["auto", "cpu", "cuda"] = "auto"
    init_only: bool = Field(False, description="only the diagnostics at initialisation (Figures 6-8)")
    group: int | str = Field(
        "auto", description="configurations trained as one batched model: at most this many, or `auto` to "
                            "measure the fastest size (glorot.engine.grouping); the numbers are the same either way")

    @field_validator("datasets")
    @classmethod
    def _datasets(cls, v: list[str]) -> list[str]:
        bad = [d for d in v if d not in DATASETS]
        if bad:
            raise ValueError(f"unknown dataset {bad[0]!r}; valid: {', '.join(DATASETS)}")
        return v

    @field_validator("group", mode="before")
    @classmethod
    def _group(cls, v: Any) -> Any:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            return v
        raise ValueError(f"must be `auto` or an integer >= 1 (got {v!r})")

    @field_validator("networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for name in v:
            parse_network(name)
        return v

    def configs(self) -> list[TrainConfig]:
        """Every configuration of the study, validated, in a stable order."""
        grid = itertools.product(self.datasets, self.networks, self.depths, self.widths, self.lrs, self.seeds)
        shared = self.model_dump(include={"batch_size", "cost", "eval_every", "probe_every", "probe_size",
                                          "jac_examples", "device"})
        out = []
        for dataset, network, depth, width, lr, seed in grid:
            activation, init = parse_network(network)
            out.append(build_config(dataset=dataset, activation=activation, init=init, depth=depth, width=width,
                                    lr=lr, seed=seed, updates=0 if self.init_only else self.updates, **shared))
        return out


class ShapesetSplits(BaseModel):
    """The fixed Shapeset-3x2 validation and test sets that the ``shapeset`` DVC stage writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    valid_n: int = Field(10_000, ge=1)
    test_n: int = Field(10_000, ge=1)
    valid_seed: int = Field(SHAPESET_VALID_SEED, ge=0)
    test_seed: int = Field(SHAPESET_TEST_SEED, ge=0)


class Params(BaseModel):
    """The whole of ``params.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    study: str
    data_dir: str = "data"
    shapeset: ShapesetSplits = ShapesetSplits()
    tracking_uri: str | None = None
    imagesets: dict[str, dict[str, Any]] = {}
    studies: dict[str, dict[str, Any]]

    def get_study(self, name: str | None = None) -> StudyConfig:
        """The study called ``name`` (default: the selected ``study``), validated down to each configuration."""
        name = name or self.study
        if name not in self.studies:
            raise GlorotError(f"unknown study {name!r}; valid: {', '.join(self.studies)}")
        try:
            study = StudyConfig(name=name, **self.studies[name])
            study.configs()  # every configuration of the grid must be valid too
        except ValidationError as e:
            raise GlorotError(f"params.yaml studies.{name}: {describe_validation_error(e)}") from None
        except GlorotError as e:
            raise GlorotError(f"params.yaml studies.{name}: {e}") from None
        return study


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``; problems are one-line :class:`GlorotError` s."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise GlorotError(f"missing parameters file: {path}") from None
    except yaml.YAMLError as e:
        raise GlorotError(f"corrupt parameters file {path}: {str(e).splitlines()[0]}") from None
    try:
        return Params(**(raw or {}))
    except (ValidationError, TypeError) as e:
        detail = describe_validation_error(e) if isinstance(e, ValidationError) else str(e)
        raise GlorotError(f"{path}: {detail}") from None
