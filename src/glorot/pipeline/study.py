"""Studies: named sweeps over configurations, declared in ``params.yaml`` (the single home
of every experiment knob, read by DVC and by the command line) and validated here once.

A study is the product datasets x networks x depths x widths x learning rates x seeds of
:class:`~glorot.config.TrainConfig` (``lrs`` is the grid of each network that ``network_lrs``
does not give its own, e.g. ``network_lrs: {Tanh N: [0.03]}``); every other field of
``TrainConfig`` (cost, batch size, updates, evaluation and probe schedule, device, ...) is set
once for the whole study, with ``TrainConfig``'s own types, defaults and constraints
(:data:`StudySettings`). Networks use the paper's names (``Tanh N`` is tanh with the normalized
initialisation, eq. 16; ``Tanh`` the standard one, eq. 1); an extension outside the paper is
written ``activation/init``, e.g. ``relu/he``.

A study may also be the union of ``parts``: each part a grid of its own, the study's fields with
some replaced (``parts: [{init_only: true, depths: [5, 50]}, {depths: [30], updates: 20000}]``);
then only the parts' configurations run, and the study's ``datasets`` must hold every part's (the
sweep loads those). The init lab (issue 25) is one: diagnostics at initialisation to depth 50, and
short trainings at depth 30.

Validation happens once, when a study is read (:meth:`Params.get_study`): the study's own
fields, then every configuration of its grid, which the study keeps (:meth:`StudyConfig.configs`),
including whether each fits this machine (its memory, its CUDA device; :func:`glorot.config.check_machine`).

Numbers are strict (:data:`glorot.config.Count`, :data:`glorot.config.Rate`): ``widths: [true]``,
``updates: "100"`` and ``lrs: [.inf]`` are errors, while ``lr: 0.01``, ``lrs: [0.01, 1]`` are
fine. The file is read as DVC reads it (:mod:`glorot.pipeline.params_file`: ruamel.yaml, YAML 1.2
numbers, a key given twice refused): ``1e-2`` is the float 0.01.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, create_model, field_validator
from pydantic.fields import FieldInfo

from glorot.config import (CHECK_MACHINE, DATASETS, PRETRAINED, Count, Rate, TrainConfig, build_config,
                           describe_validation_error, over_limit)
from glorot.data.defaults import SHAPESET_TEST_SEED, SHAPESET_VALID_SEED
from glorot.errors import GlorotError, shorten
from glorot.paper.names import ACTIVATION_NAMES, INIT_NAMES
from glorot.paper.selection import Trial, choose_lr
from glorot.pipeline.params_file import read_params_file

#: The five networks of the paper's Table 1, in its row order.
TABLE1_NETWORKS = ("Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid")

#: The fields of :class:`~glorot.config.TrainConfig` that a study varies, each given as a list.
GRID_FIELDS = ("dataset", "activation", "init", "depth", "width", "lr", "seed")
#: Shared fields that a study must set (``TrainConfig``'s default would be a silent choice).
REQUIRED_SHARED = ("updates",)


def _shared_field(name: str, field: FieldInfo) -> tuple[Any, FieldInfo]:
    """``TrainConfig``'s field ``name`` as a study's field: same type, checks and description."""
    if name in REQUIRED_SHARED:
        return field.rebuild_annotation(), Field(description=field.description)
    return field.annotation, field


#: The part of a study shared by all its configurations: every ``TrainConfig`` field outside
#: :data:`GRID_FIELDS`, derived from ``TrainConfig`` so that its constraints hold here too.
StudySettings = create_model(
    "StudySettings", __config__=ConfigDict(extra="forbid", frozen=True),
    **{name: _shared_field(name, field) for name, field in TrainConfig.model_fields.items()
       if name not in GRID_FIELDS})


def parse_network(name: str) -> tuple[str, str]:
    """``"Tanh N"`` -> ``("tanh", "normalized")``; ``"Sigmoid DAE"`` -> ``("sigmoid", "dae")`` (pre-trained);
    ``"relu/he"`` -> ``("relu", "he")``."""
    inits = (*INIT_NAMES, PRETRAINED)
    if "/" in name:
        activation, init = (part.strip().lower() for part in name.split("/", 1))
    else:
        words = name.split()
        activation = words[0].lower() if words else ""
        init = {(): "standard", ("N",): "normalized", ("DAE",): PRETRAINED}.get(tuple(words[1:]), "?")
    if activation not in ACTIVATION_NAMES or init not in inits:
        raise ValueError(f"unknown network {shorten(name)}; use a paper name such as 'Tanh N', 'Sigmoid DAE' or "
                         f"'activation/init' with activation in {', '.join(ACTIVATION_NAMES)} and init in "
                         f"{', '.join(inits)}")
    return activation, init


class StudyConfig(StudySettings):
    """One study of ``params.yaml``: the grid to sweep and the shared training settings.

    Constructing one validates it down to each configuration of the grid; a bad grid value
    (``widths: [0]``) is a one-line :class:`GlorotError` naming ``TrainConfig``'s field.
    """

    name: str
    description: str = ""
    datasets: list[str] = Field(min_length=1)
    networks: list[str] = Field(min_length=1)
    depths: list[Count] = Field([5], min_length=1)
    widths: list[Count] = Field([1000], min_length=1)
    lrs: list[Rate] = Field(min_length=1)
    network_lrs: dict[str, list[Rate]] = Field(
        {}, description="a network's own learning-rate grid, instead of `lrs`, e.g. {'Tanh N': [0.03]}")
    seeds: list[Count] = Field([0], min_length=1)
    lr_choice_seeds: list[Count] = Field(
        [], description="seeds on which each network's learning rate is chosen from its grid (Section 2.3, "
                        "glorot.paper.selection); the study's other seeds then run at the chosen rate only. "
                        "Empty: every seed runs at every rate")
    init_only: bool = Field(False, description="only the diagnostics at initialisation (Figures 6-8)")
    parts: list[dict[str, Any]] = Field(
        [], description="grids whose union is the study, each the study's fields with some replaced")
    group: int | str = Field(
        "auto", description="configurations trained as one batched model: at most this many, or `auto` to "
                            "measure the fastest size (glorot.engine.grouping); the numbers are the same either way")
    _configs: tuple[TrainConfig, ...] = PrivateAttr(())

    @field_validator("datasets")
    @classmethod
    def _datasets(cls, v: list[str]) -> list[str]:
        bad = [d for d in v if d not in DATASETS]
        if bad:
            raise ValueError(f"unknown dataset {shorten(bad[0])}; valid: {', '.join(DATASETS)}")
        return v

    @field_validator("group", mode="before")
    @classmethod
    def _group(cls, v: Any) -> Any:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            return v
        raise ValueError(f"must be `auto` or an integer >= 1 (got {shorten(v)})")

    @field_validator("networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for name in v:
            parse_network(name)
        return v

    def lrs_of(self, network: str) -> list[float]:
        """The learning-rate grid of ``network`` (one of :attr:`networks`)."""
        return self.network_lrs.get(network, self.lrs)

    def _part_configs(self, context: Any) -> tuple[TrainConfig, ...]:
        """The configurations of every part, in order, each part validated as a study of its own
        (errors name it: ``parts[1]: invalid depth: ...``); a configuration in two parts runs once."""
        base = self.model_dump(exclude={"parts"})
        configs: dict[TrainConfig, None] = {}
        for k, part in enumerate(self.parts):
            if bad := next((f for f in ("parts", "name", "lr_choice_seeds") if f in part), None):
                raise GlorotError(f"invalid parts[{k}]: a part cannot set {bad}")
            try:
                sub = StudyConfig.model_validate({**base, **part}, context=context)
            except ValidationError as e:
                raise GlorotError(f"parts[{k}]: {describe_validation_error(e)}") from None
            except GlorotError as e:
                raise GlorotError(f"parts[{k}]: {e}") from None
            if not set(sub.datasets) <= set(self.datasets):
                raise GlorotError(f"invalid parts[{k}]: datasets {sub.datasets} are not all in the study's "
                                  f"({', '.join(self.datasets)})")
            configs.update(dict.fromkeys(sub.configs()))
        return tuple(configs)

    def model_post_init(self, context: Any) -> None:
        if self.parts:
            if self.lr_choice_seeds:
                raise GlorotError("invalid lr_choice_seeds: a study of parts cannot choose its rates on some seeds")
            self._configs = self._part_configs(context)
            return
        if not set(self.lr_choice_seeds) <= set(self.seeds):
            raise GlorotError(f"invalid lr_choice_seeds: {self.lr_choice_seeds} are not all among the study's seeds "
                              f"{self.seeds}")
        for network, grid in self.network_lrs.items():
            if network not in self.networks or not grid:
                raise GlorotError(f"invalid network_lrs: {network!r} needs a network of the study "
                                  f"({', '.join(self.networks)}) and at least one rate")
        count = sum(len(self.datasets) * len(self.depths) * len(self.widths) * len(self.lrs_of(network))
                    * len(self.seeds) for network in self.networks)
        if problem := over_limit("configs", "configurations", count):
            raise GlorotError(f"too many configurations: {problem}")
        check_machine = (context or {}).get(CHECK_MACHINE, True)
        shared = self.model_dump(include=set(StudySettings.model_fields))
        if self.init_only:
            shared["updates"] = 0
        self._configs = tuple(
            build_config(dataset=dataset, activation=activation, init=init, depth=depth, width=width, lr=lr,
                         seed=seed, check_machine=check_machine, **shared)
            for dataset in self.datasets for network in self.networks for (activation, init) in [parse_network(network)]
            for depth, width, lr, seed in itertools.product(self.depths, self.widths, self.lrs_of(network),
                                                            self.lr_choice_seeds or self.seeds))

    def configs(self) -> list[TrainConfig]:
        """Every configuration of the study that is known before training, validated when the study
        was, in a stable order: with ``lr_choice_seeds``, those seeds at every rate of the grid (the
        other seeds wait for the choice, :meth:`follower_configs`)."""
        return list(self._configs)

    @property
    def follower_seeds(self) -> list[int]:
        """The seeds that run at the chosen rate only (none unless ``lr_choice_seeds`` is set)."""
        return [s for s in self.seeds if self.lr_choice_seeds and s not in self.lr_choice_seeds]

    @property
    def n_configs(self) -> int:
        """How many configurations the study trains in all, the followers of the choice included."""
        return len(self._configs) + len({cell_of(c) for c in self._configs}) * len(self.follower_seeds)

    def follower_configs(self, chosen: dict[tuple, float]) -> list[TrainConfig]:
        """The configurations of the :attr:`follower_seeds`, each network cell (:func:`cell_of`) at
        its ``chosen`` rate (cells without a choice are left out: no rate of theirs was eligible)."""
        first = self.lr_choice_seeds[0] if self.lr_choice_seeds else None
        return [build_config(**{**c.model_dump(), "seed": seed}, check_machine=False)
                for c in self._configs if c.seed == first and chosen.get(cell_of(c)) == c.lr
                for seed in self.follower_seeds]


def chosen_rates(study: StudyConfig, trials: Iterable[tuple[tuple, Trial]]) -> dict[tuple, float]:
    """Each network cell's learning rate (:func:`cell_of`) chosen by
    :func:`glorot.paper.selection.choose_lr` from its ``trials`` on the study's
    ``lr_choice_seeds`` (``(cell, trial)`` pairs; trials of other seeds are ignored); a cell with
    no eligible rate (every rate diverged) has none. A grid that cannot be compared is a one-line
    :class:`GlorotError`."""
    groups: dict[tuple, list[Trial]] = defaultdict(list)
    for cell, trial in trials:
        if trial.seed in study.lr_choice_seeds:
            groups[cell].append(trial)
    chosen = {}
    for cell, group in groups.items():
        try:
            lr = choose_lr(group)
        except ValueError as e:
            raise GlorotError(f"{cell[1]} on {cell[0]}: {e}") from None
        if lr is not None:
            chosen[cell] = lr
    return chosen


def cell_of(config: TrainConfig) -> tuple:
    """What a learning rate is chosen for: the network (activation, initialisation, pre-training)
    at one depth and width on one data set; every other field is the study's."""
    return (config.dataset, config.paper_name, config.depth, config.width)


class ShapesetSplits(BaseModel):
    """The fixed Shapeset-3x2 validation and test sets that the ``shapeset`` DVC stage writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    valid_n: Count = Field(10_000, ge=1)
    test_n: Count = Field(10_000, ge=1)
    valid_seed: Count = Field(SHAPESET_VALID_SEED, ge=0)
    test_seed: Count = Field(SHAPESET_TEST_SEED, ge=0)


class Params(BaseModel):
    """The whole of ``params.yaml`` (or of the parameters file given instead)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    study: str
    data_dir: str = "data"
    shapeset: ShapesetSplits = ShapesetSplits()
    tracking_uri: str | None = None
    imagesets: dict[str, dict[str, Any]] = {}
    studies: dict[str, dict[str, Any]]
    _source: str = PrivateAttr("params.yaml")  # the file as the user named it, for error messages

    def get_study(self, name: str | None = None, check_machine: bool = True) -> StudyConfig:
        """The study called ``name`` (default: the selected ``study``), validated down to each
        configuration; errors name the parameters file, e.g. ``other.yaml studies.quick: ...``.
        ``check_machine=False`` leaves out the checks against this machine (memory, CUDA): for a
        launcher whose configurations train on other machines, which check them on arrival."""
        name = name or self.study
        if name not in self.studies:
            raise GlorotError(f"unknown study {shorten(name)}; valid: {', '.join(self.studies)}")
        if "name" in self.studies[name]:
            raise GlorotError(f"{self._source} studies.{name}: invalid name: unknown field (a study's name is its key)")
        try:
            return StudyConfig.model_validate({**self.studies[name], "name": name},
                                              context={CHECK_MACHINE: check_machine})
        except ValidationError as e:
            raise GlorotError(f"{self._source} studies.{name}: {describe_validation_error(e)}") from None
        except GlorotError as e:
            raise GlorotError(f"{self._source} studies.{name}: {e}") from None


def load_params(path: str | Path = "params.yaml", root: str | Path | None = None) -> Params:
    """Read and validate a parameters file: ``path``, relative to ``root`` if given (and named
    as given in errors); problems are one-line :class:`GlorotError` s."""
    file = Path(root) / path if root is not None else Path(path)
    raw = read_params_file(file, str(path))
    try:
        params = Params(**(raw or {}))
    except (ValidationError, TypeError) as e:
        detail = describe_validation_error(e) if isinstance(e, ValidationError) else str(e)
        raise GlorotError(f"{path}: {detail}") from None
    params._source = str(path)
    return params
