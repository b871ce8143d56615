"""Studies in params.yaml: parsing, validation and expansion into configurations."""

import pytest
import yaml

from glorot.errors import GlorotError
from glorot.paper.table1 import TABLE1, table1_error
from glorot.pipeline.study import TABLE1_NETWORKS, load_params, parse_network

REPO_PARAMS = "params.yaml"


@pytest.mark.parametrize("name,expected", [
    ("Tanh", ("tanh", "standard")), ("Tanh N", ("tanh", "normalized")), ("Softsign N", ("softsign", "normalized")),
    ("Sigmoid", ("sigmoid", "standard")), ("relu/he", ("relu", "he")),
])
def test_paper_network_names(name, expected):
    assert parse_network(name) == expected


@pytest.mark.parametrize("name", ["Tanh X", "Gelu", "tanh/xavier", ""])
def test_unknown_network_names_are_rejected(name):
    with pytest.raises(ValueError, match="unknown network"):
        parse_network(name)


def test_shipped_studies_expand_as_the_paper_describes():
    params = load_params(REPO_PARAMS)
    quick = params.get_study()
    assert quick.name == "quick" and quick.datasets == ["shapeset"]
    configs = quick.configs()
    assert len(quick.lrs) >= 2  # each network's learning rate is chosen on validation from a grid
    assert [c.paper_name for c in configs] == [name for name in TABLE1_NETWORKS for _ in quick.lrs]
    assert all(c.depth == 5 and c.batch_size == 10 and c.cost == "nll" for c in configs)
    table1 = params.get_study("table1").configs()
    assert len(table1) == 4 * 5 * 5 * 3
    assert {c.width for c in table1} == {1000} and {c.updates for c in table1} == {5_000_000}
    assert {c.dataset for c in table1} == {"shapeset", "mnist", "cifar10", "small_imagenet"}
    init = params.get_study("init").configs()
    assert {c.updates for c in init} == {0} and {c.init for c in init} == {"standard", "normalized"}


def test_the_initlab_study_is_its_two_parts():
    # issue 25: at initialisation, 4 activations x 5 inits to depth 50; trained, tanh and relu at depth 30
    study = load_params(REPO_PARAMS).get_study("initlab")
    configs = study.configs()
    at_init = [c for c in configs if c.updates == 0]
    trained = [c for c in configs if c.updates > 0]
    inits = {"standard", "normalized", "he", "orthogonal", "lsuv"}
    assert len(at_init) == 4 * 5 * 3 and {c.dataset for c in at_init} == {"shapeset"}
    assert {c.depth for c in at_init} == {5, 20, 50} and {c.init for c in at_init} == inits
    assert {c.activation for c in at_init} == {"tanh", "softsign", "sigmoid", "relu"}
    assert len(trained) == 2 * 5 * 2 * 2 and {c.depth for c in trained} == {30}
    assert {c.dataset for c in trained} == {"shapeset", "mnist"} and {c.activation for c in trained} == {"tanh", "relu"}
    assert {c.lr for c in trained} == set(study.lrs) and len(study.lrs) >= 2  # chosen on validation
    assert {c.width for c in configs} == {256} and len(set(configs)) == len(configs)


@pytest.mark.parametrize("part,message", [
    ({"depths": [0]}, "studies.initlab: parts[2]: invalid depth: Input should be greater"),
    ({"networks": ["tanh/xavier"]}, "studies.initlab: parts[2]: invalid networks: unknown network"),
    ({"datasets": ["cifar10"]}, "studies.initlab: invalid parts[2]: datasets ['cifar10'] are not all in the study's"),
    ({"parts": []}, "studies.initlab: invalid parts[2]: a part cannot set parts"),
    ({"colour": "red"}, "studies.initlab: parts[2]: invalid colour: unknown field"),
])
def test_invalid_parts_are_one_line_errors(tmp_path, part, message):
    path = _write(tmp_path, lambda p: p["studies"]["initlab"]["parts"].append(part))
    with pytest.raises(GlorotError) as err:
        load_params(path).get_study("initlab")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_paper_table1_is_complete():
    assert set(TABLE1) == set(TABLE1_NETWORKS)
    assert table1_error("Tanh N", "shapeset") == 15.60 and table1_error("Sigmoid", "mnist") == 2.21
    assert table1_error("Relu", "shapeset") is None


def _write(tmp_path, mutate):
    params = yaml.safe_load(open(REPO_PARAMS).read())
    mutate(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_unknown_study_names_the_valid_ones():
    with pytest.raises(GlorotError, match="unknown study 'nope'; valid: quick, depth, pretraining, table1, mnist, shapeset1000, init, initlab"):
        load_params(REPO_PARAMS).get_study("nope")


@pytest.mark.parametrize("mutate,message", [
    (lambda p: p["studies"]["quick"].update(networks=["Tanh Q"]), "studies.quick: invalid networks: unknown network"),
    (lambda p: p["studies"]["quick"].update(datasets=["svhn"]), "studies.quick: invalid datasets: unknown dataset 'svhn'"),
    (lambda p: p["studies"]["quick"].update(lrs=[]), "studies.quick: invalid lrs: List should have at least 1 item"),
    (lambda p: p["studies"]["quick"].update(depths=[0]), "studies.quick: invalid depth: Input should be greater"),
    (lambda p: p["studies"]["quick"].update(lrs=[-0.1]), "studies.quick: invalid lr: Input should be greater than 0"),
    (lambda p: p["studies"]["quick"].update(colour="red"), "studies.quick: invalid colour: unknown field"),
    (lambda p: p["studies"]["quick"].update(name="fast"), "studies.quick: invalid name: unknown field"),
    (lambda p: p["studies"]["quick"].update(group=0), "studies.quick: invalid group: must be `auto` or an integer >= 1"),
    (lambda p: p["studies"]["quick"].update(group=2.5), "studies.quick: invalid group: must be `auto` or an integer"),
    (lambda p: p["studies"]["quick"].update(group="fast"), "studies.quick: invalid group: must be `auto` or an"),
])
def test_invalid_study_fields_are_one_line_errors(tmp_path, mutate, message):
    with pytest.raises(GlorotError) as err:
        load_params(_write(tmp_path, mutate)).get_study("quick").configs()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_invalid_top_level_fields_and_files(tmp_path):
    with pytest.raises(GlorotError, match="invalid shapeset.valid_n: Input should be greater than or equal to 1"):
        load_params(_write(tmp_path, lambda p: p["shapeset"].update(valid_n=0)))
    with pytest.raises(GlorotError, match="missing parameters file"):
        load_params(tmp_path / "nothing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: [unclosed\n")
    with pytest.raises(GlorotError, match="corrupt parameters file"):
        load_params(bad)


@pytest.mark.parametrize("activation,init,name", [
    ("tanh", "standard", "Tanh"), ("tanh", "normalized", "Tanh N"), ("tanh", "he", "tanh/he"),
    ("relu", "he", "relu/he"), ("relu", "standard", "Relu"),
])
def test_networks_outside_the_paper_are_named_apart_from_its_rows(activation, init, name):
    from glorot.config import build_config

    config = build_config(activation=activation, init=init)
    assert config.paper_name == name and config.paper_cell == f"{name} / Shapeset-3x2"
    assert parse_network(name) == (activation, init)  # the study syntax reads the name back
    assert (table1_error(name, "shapeset") is None) == (name not in TABLE1)


def test_a_study_with_an_extension_names_each_network_once(tmp_path):
    path = _write(tmp_path, lambda p: p["studies"]["quick"].update(networks=["Tanh", "tanh/he", "Tanh N"], lrs=[0.05]))
    names = [c.paper_name for c in load_params(path).get_study("quick").configs()]
    assert names == ["Tanh", "tanh/he", "Tanh N"]


def test_study_errors_name_the_parameters_file_given(tmp_path):
    params = yaml.safe_load(open(REPO_PARAMS).read())
    params["studies"]["quick"]["batch_size"] = 0
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(GlorotError) as err:
        load_params("other.yaml", root=tmp_path).get_study("quick")
    assert str(err.value) == "other.yaml studies.quick: invalid batch_size: Input should be greater than or equal to 1 (got 0)"


@pytest.mark.parametrize("field", ["batch_size", "cost", "eval_every", "probe_every", "probe_size", "jac_examples",
                                   "device", "updates"])
def test_a_study_shares_the_training_configuration_fields_and_their_checks(field):
    from glorot.config import TrainConfig
    from glorot.pipeline.study import StudyConfig

    ours, theirs = StudyConfig.model_fields[field], TrainConfig.model_fields[field]
    assert (ours.annotation, ours.metadata) == (theirs.annotation, theirs.metadata)


def test_a_study_must_say_how_many_updates(tmp_path):
    with pytest.raises(GlorotError) as err:
        load_params(_write(tmp_path, lambda p: p["studies"]["quick"].pop("updates"))).get_study("quick")
    assert str(err.value).endswith("studies.quick: invalid updates: Field required")


# ---------------------------------------------------------------------------------------
# Strict types, finite rates, bounds that say what fits, the device: each error names the
# parameters file given (here ``other.yaml``, read relative to its folder).


def _other(tmp_path, mutate=lambda p: None, text: str | None = None):
    """``other.yaml`` in ``tmp_path``: the repository's parameters changed by ``mutate``, or ``text``."""
    params = yaml.safe_load(open(REPO_PARAMS).read())
    mutate(params)
    (tmp_path / "other.yaml").write_text(text if text is not None else yaml.safe_dump(params))
    return load_params("other.yaml", root=tmp_path)


def _study_error(tmp_path, mutate=lambda p: None, text: str | None = None, **kwargs) -> str:
    with pytest.raises(GlorotError) as err:
        _other(tmp_path, mutate, text).get_study("quick", **kwargs)
    message = str(err.value)
    assert "\n" not in message and message.startswith("other.yaml studies.quick: "), message
    return message.removeprefix("other.yaml studies.quick: ")


def _quick(**fields):
    return lambda p: p["studies"]["quick"].update(**fields)


@pytest.mark.parametrize("fields,message", [
    ({"widths": [True]}, "invalid widths.0: Input should be a valid integer (got True)"),
    ({"depths": [5, False]}, "invalid depths.1: Input should be a valid integer (got False)"),
    ({"seeds": ["0"]}, "invalid seeds.0: Input should be a valid integer (got '0')"),
    ({"widths": [500.0]}, "invalid widths.0: Input should be a valid integer (got 500.0)"),
    ({"lrs": ["0.01"]}, "invalid lrs.0: Input should be a valid number (got '0.01')"),
    ({"lrs": [True]}, "invalid lrs.0: Input should be a valid number (got True)"),
    ({"updates": "100"}, "invalid updates: Input should be a valid integer (got '100')"),
    ({"batch_size": True}, "invalid batch_size: Input should be a valid integer (got True)"),
    ({"probe_size": 300.0}, "invalid probe_size: Input should be a valid integer (got 300.0)"),
    ({"eval_every": "3000"}, "invalid eval_every: Input should be a valid integer (got '3000')"),
])
def test_no_bool_or_string_passes_as_a_number(tmp_path, fields, message):
    assert _study_error(tmp_path, _quick(**fields)) == message


def test_shapeset_splits_take_no_bool_for_a_count(tmp_path):
    with pytest.raises(GlorotError) as err:
        _other(tmp_path, lambda p: p["shapeset"].update(valid_n=True))
    assert str(err.value) == "other.yaml: invalid shapeset.valid_n: Input should be a valid integer (got True)"


#: The quick study's learning-rate line in the shipped params.yaml (the tests edit it in a copy).
QUICK_LRS = "lrs: [0.01, 0.03, 0.1]"


@pytest.mark.parametrize("lrs,message", [
    ("[.inf]", "invalid lrs.0: Input should be a finite number (got inf)"),
    ("[0.01, -.inf]", "invalid lrs.1: Input should be a finite number (got -inf)"),
    ("[.nan]", "invalid lrs.0: Input should be a finite number (got nan)"),
])
def test_learning_rates_are_finite(tmp_path, lrs, message):
    text = open(REPO_PARAMS).read().replace(QUICK_LRS, f"lrs: {lrs}")
    assert f"lrs: {lrs}" in text
    assert _study_error(tmp_path, text=text) == message


def test_numbers_read_as_dvc_reads_them(tmp_path):
    """``1e-2`` is a string to PyYAML's YAML 1.1 resolver but 0.01 to DVC's YAML 1.2 parser
    (ruamel.yaml); the parameters file reads it as DVC does. Ints stand for floats."""
    text = open(REPO_PARAMS).read().replace(QUICK_LRS, "lrs: [1e-2, 0.1, 1, 5E-3, 1.0e-1, +2e-1]")
    study = _other(tmp_path, text=text).get_study("quick")
    assert study.lrs == [0.01, 0.1, 1.0, 0.005, 0.1, 0.2]
    assert {type(c.lr) for c in study.configs()} == {float}
    from ruamel.yaml import YAML

    assert YAML(typ="safe").load(text)["studies"]["quick"]["lrs"] == study.lrs


@pytest.mark.parametrize("fields,message", [
    ({"depths": [101]}, "invalid depth: Input should be less than or equal to 100 (got 101)"),
    ({"batch_size": 100_001}, "invalid batch_size: Input should be less than or equal to 100000 (got 100001)"),
    ({"seeds": [2**64]}, "invalid seed: Input should be less than or equal to 18446744073709551615 "
                         "(got 18446744073709551616)"),
])
def test_hard_caps_where_memory_is_not_the_point(tmp_path, fields, message):
    assert _study_error(tmp_path, _quick(**fields)) == message


@pytest.fixture
def machine_of_23_gib(monkeypatch):
    import glorot.config

    monkeypatch.setattr(glorot.config, "machine_memory", lambda: 23 * 2**30)


@pytest.mark.parametrize("fields,message", [
    ({"widths": [200_000]},
     "invalid width: 5 x 200000 units need 597 GiB for the weights alone; this machine has 23.0 GiB"),
    ({"widths": [10_000], "batch_size": 100_000},
     "invalid batch_size: a training step of 5 x 10000 units on mini-batches of 100000 needs 78.3 GiB "
     "(weights, their gradients, and each layer's values and gradients); this machine has 23.0 GiB"),
    ({"widths": [20_000], "jac_examples": 10},
     "invalid jac_examples: the Jacobians of 10 probe examples (20000 x 20000 per layer) need 35.8 GiB; "
     "this machine has 23.0 GiB"),
])
def test_sizes_beyond_this_machines_memory_say_what_they_need(tmp_path, machine_of_23_gib, fields, message):
    assert _study_error(tmp_path, _quick(**fields)) == message


def test_the_papers_sizes_are_far_inside_the_memory_bound():
    from glorot.config import DATASETS, build_config, memory_needs

    for dataset in DATASETS:  # depth 5, width 1000, mini-batches of 10 (Section 2.3)
        needs = memory_needs(build_config(dataset=dataset))
        assert max(needs.values()) < 100 * 2**20, needs  # under 100 MiB (docs/reliability.md)
    assert memory_needs(build_config(width=200_000, check_machine=False))["weights"] > 500 * 2**30


def test_cuda_without_a_cuda_device_fails_when_the_study_is_read(tmp_path, monkeypatch):
    import glorot.config

    monkeypatch.setattr(glorot.config, "cuda_available", lambda: False)
    message = _study_error(tmp_path, _quick(device="cuda"))
    assert message == "invalid device: 'cuda' requested but no CUDA device is available"
    monkeypatch.setattr(glorot.config, "cuda_available", lambda: True)
    assert {c.device for c in _other(tmp_path, _quick(device="cuda")).get_study("quick").configs()} == {"cuda"}


def test_a_launcher_that_fans_out_to_other_machines_can_leave_their_checks_to_them(tmp_path, monkeypatch,
                                                                                   machine_of_23_gib):
    """``check_machine=False``: the configurations train elsewhere (a deployment's workers, which
    check what they receive where each starts training, :func:`glorot.pipeline.runs.fits_here`)."""
    import glorot.config

    monkeypatch.setattr(glorot.config, "cuda_available", lambda: False)
    study = _other(tmp_path, _quick(device="cuda", widths=[100_000])).get_study("quick", check_machine=False)
    config = study.configs()[0].model_dump()
    assert config["device"] == "cuda" and config["width"] == 100_000
    with pytest.raises(GlorotError, match="^invalid device: 'cuda' requested but no CUDA device is available$"):
        glorot.config.build_config(**config)  # what a worker without CUDA says
    monkeypatch.setattr(glorot.config, "cuda_available", lambda: True)
    with pytest.raises(GlorotError, match="^invalid width: 5 x 100000 units need 149 GiB"):
        glorot.config.build_config(**config)  # and one with too little memory
    assert _study_error(tmp_path, _quick(widths=[0]), check_machine=False).startswith("invalid width: Input")


def test_a_network_may_have_its_own_learning_rate_grid(tmp_path):
    """``network_lrs`` gives a network its own grid; the others keep ``lrs``; order stays the grid's."""
    study = load_params(_write(tmp_path, _quick(network_lrs={"Tanh N": [0.03], "Sigmoid": [0.1, 0.3]}))
                        ).get_study("quick", check_machine=False)
    got = [(c.paper_name, c.lr) for c in study.configs()]
    assert got == [*((n, lr) for n in ("Softsign", "Softsign N", "Tanh") for lr in study.lrs),
                   ("Tanh N", 0.03), ("Sigmoid", 0.1), ("Sigmoid", 0.3)]


@pytest.mark.parametrize("network_lrs", [{"Relu": [0.1]}, {"Tanh": []}])
def test_a_per_network_grid_names_a_network_of_the_study_and_a_rate(tmp_path, network_lrs):
    message = _study_error(tmp_path, _quick(network_lrs=network_lrs))
    assert message.startswith("invalid network_lrs: ") and "Softsign, Softsign N, Tanh, Tanh N, Sigmoid" in message


def test_a_grid_beyond_the_configuration_limit_is_one_line_naming_how_to_lift_it(tmp_path, monkeypatch):
    """20,000 seeds x 5 networks x 3 rates would be 300,000 configurations: refused before any is built."""
    message = _study_error(tmp_path, _quick(seeds=list(range(20_000))), check_machine=False)
    assert message == ("too many configurations: 300,000 configurations exceed the limit of 10,000; for a study "
                       "that needs more (the paper's ran up to millions of updates), set GLOROT_MAX_CONFIGS to a "
                       "larger number")
    monkeypatch.setenv("GLOROT_MAX_CONFIGS", "29")
    assert "set GLOROT_MAX_CONFIGS" in _study_error(tmp_path, _quick(seeds=[0, 1]), check_machine=False)
    monkeypatch.setenv("GLOROT_MAX_CONFIGS", "30")
    assert len(_other(tmp_path, _quick(seeds=[0, 1])).get_study("quick", check_machine=False).configs()) == 30


def test_a_study_may_choose_each_rate_on_seed_0_and_run_its_other_seeds_at_the_chosen_rate(tmp_path):
    """``lr_choice_seeds``: the grid on those seeds first; the other seeds at each cell's chosen
    rate, a cell with no eligible rate (every rate diverged) left out."""
    from glorot.pipeline.study import cell_of

    study = load_params(_write(tmp_path, _quick(seeds=[0, 1, 2], lr_choice_seeds=[0]))
                        ).get_study("quick", check_machine=False)
    assert [(c.paper_name, c.lr, c.seed) for c in study.configs()] == [
        (n, lr, 0) for n in TABLE1_NETWORKS for lr in study.lrs]
    assert study.follower_seeds == [1, 2] and study.n_configs == 15 + 5 * 2
    chosen = {cell_of(c): 0.03 if c.paper_name == "Tanh N" else 0.1
              for c in study.configs() if c.paper_name != "Sigmoid"}
    followers = study.follower_configs(chosen)
    assert [(c.paper_name, c.lr, c.seed) for c in followers] == [
        (n, 0.03 if n == "Tanh N" else 0.1, s) for n in TABLE1_NETWORKS[:4] for s in (1, 2)]
    leader = next(c for c in study.configs() if c.paper_name == "Tanh N" and c.lr == 0.03)
    assert followers[6].model_dump() == {**leader.model_dump(), "seed": 1}  # only the seed differs
    plain = load_params(REPO_PARAMS).get_study("quick", check_machine=False)
    assert plain.follower_seeds == [] and plain.n_configs == len(plain.configs())


@pytest.mark.parametrize("fields,message", [
    ({"seeds": [0, 1], "lr_choice_seeds": [2]}, "invalid lr_choice_seeds: [2] are not all among the study's seeds [0, 1]"),
    ({"lr_choice_seeds": [0], "parts": [{"depths": [2]}]},
     "invalid lr_choice_seeds: a study of parts cannot choose its rates on some seeds"),
    ({"parts": [{"lr_choice_seeds": [0]}]}, "invalid parts[0]: a part cannot set lr_choice_seeds"),
])
def test_rates_chosen_on_seeds_of_the_study_only(tmp_path, fields, message):
    assert _study_error(tmp_path, _quick(**fields)) == message
