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
    assert [c.paper_name for c in configs] == list(TABLE1_NETWORKS)
    assert all(c.depth == 5 and c.batch_size == 10 and c.cost == "nll" for c in configs)
    table1 = params.get_study("table1").configs()
    assert len(table1) == 4 * 5 * 5 * 3
    assert {c.width for c in table1} == {1000} and {c.updates for c in table1} == {5_000_000}
    assert {c.dataset for c in table1} == {"shapeset", "mnist", "cifar10", "small_imagenet"}
    init = params.get_study("init").configs()
    assert {c.updates for c in init} == {0} and {c.init for c in init} == {"standard", "normalized"}


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
    with pytest.raises(GlorotError, match="unknown study 'nope'; valid: quick, table1, init"):
        load_params(REPO_PARAMS).get_study("nope")


@pytest.mark.parametrize("mutate,message", [
    (lambda p: p["studies"]["quick"].update(networks=["Tanh Q"]), "studies.quick: invalid networks: unknown network"),
    (lambda p: p["studies"]["quick"].update(datasets=["svhn"]), "studies.quick: invalid datasets: unknown dataset 'svhn'"),
    (lambda p: p["studies"]["quick"].update(lrs=[]), "studies.quick: invalid lrs: List should have at least 1 item"),
    (lambda p: p["studies"]["quick"].update(depths=[0]), "studies.quick: invalid depth: Input should be greater"),
    (lambda p: p["studies"]["quick"].update(lrs=[-0.1]), "studies.quick: invalid lr: Input should be greater than 0"),
    (lambda p: p["studies"]["quick"].update(colour="red"), "studies.quick: invalid colour: unknown field"),
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
    path = _write(tmp_path, lambda p: p["studies"]["quick"].update(networks=["Tanh", "tanh/he", "Tanh N"]))
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
