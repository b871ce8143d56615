"""The parameters file read as DVC reads it (ruamel.yaml), and every way a file can be unreadable
ends in one bounded line: duplicate keys, alias bombs, binary files, folders, huge values."""

import subprocess
import sys

import pytest
from ruamel.yaml import YAML

from glorot.errors import MAX_MESSAGE, GlorotError
from glorot.pipeline.params_file import MAX_NODES, parse_params
from glorot.pipeline.study import load_params

REPO_PARAMS = "params.yaml"



def _alias_bomb(levels: int) -> str:
    """The quick study of the shipped file with a "billion laughs" as its description: ``levels``
    lists of 9 aliases to the one before, 9^levels values once expanded (9^9: 387 million, from
    about 300 bytes), which the description, a string, refuses, naming what it got."""
    lists = ", ".join(f"&l{i} [{', '.join([f'*l{i - 1}' if i else '1'] * 9)}]" for i in range(levels))
    text = open(REPO_PARAMS).read()
    start = text.index("  quick:\n    description:")
    end = text.index("    datasets:", start)
    return text[:start] + f"  quick:\n    description: [{lists}]\n" + text[end:]


def _error(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "other.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(GlorotError) as err:
        load_params("other.yaml", root=tmp_path).get_study()
    message = str(err.value)
    assert "\n" not in message and len(message) <= MAX_MESSAGE
    return message


def test_a_key_given_twice_is_refused_as_dvc_refuses_it(tmp_path):
    text = open(REPO_PARAMS).read() + "study: depth\n"
    with pytest.raises(Exception, match="duplicate key"):
        YAML(typ="safe").load(text)  # what DVC's parse_yaml does with it
    assert _error(tmp_path, text).startswith('corrupt parameters file other.yaml: found duplicate key "study"')


def test_yaml_12_as_dvc_reads_it(tmp_path):
    """``yes`` is a string in YAML 1.2 (PyYAML's YAML 1.1 made it True): the study's name stays a name."""
    assert parse_params("a: [1e-2, yes, 0o17]\n", "x.yaml") == YAML(typ="safe").load("a: [1e-2, yes, 0o17]\n")
    assert parse_params("a: [1e-2, yes, 0o17]\n", "x.yaml") == {"a": [0.01, "yes", 15]}


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    """In a subprocess given 1 GiB of address space beyond what its imports took: expanding it
    (or printing it) would need far more."""
    text = _alias_bomb(9)
    path = tmp_path / "other.yaml"
    path.write_text(text)
    code = ("import resource, sys; from glorot.cli import main; import glorot.pipeline.summary; "
            "size = int(next(l for l in open('/proc/self/status') if l.startswith('VmSize')).split()[1]) * 1024; "
            "resource.setrlimit(resource.RLIMIT_AS, (size + 2**30, size + 2**30)); "
            "sys.exit(main(['summary', '--params', sys.argv[1]]))")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == (f"glorot: error: corrupt parameters file {path}: more than {MAX_NODES:,} values once "
                           f"its YAML aliases are expanded\n")


def test_an_alias_bomb_under_the_node_limit_gives_a_short_line(tmp_path):
    """Three levels (819 values) pass the size check; the error that names them stays short."""
    message = _error(tmp_path, _alias_bomb(3))
    assert message.startswith("other.yaml studies.quick: invalid description: Input should be a valid string "
                              "(got [[1, 1, 1, 1, ...], [[...], [...], [...], [...], ...], "), message
    assert len(message) < 200


def test_a_huge_value_is_shortened_in_the_error(tmp_path):
    text = open(REPO_PARAMS).read().replace("study: quick", "study: " + "x" * 200_000)
    message = _error(tmp_path, text)
    assert message.startswith("unknown study 'xxxx") and len(message) < 300


@pytest.mark.parametrize("content,message", [
    (b"\xff\xfe\x00binary", "corrupt parameters file other.yaml: not UTF-8 text (byte 0)"),
    (b"a: [1\n", "corrupt parameters file other.yaml: expected ',' or ']', but got '<stream end>' (line 2, "
                  "column 1)"),
])
def test_unreadable_parameters_files_are_one_line(tmp_path, content, message):
    assert _error(tmp_path, content) == message


def test_a_folder_given_as_the_parameters_file_is_one_line(tmp_path, capsys):
    from glorot.cli import main

    assert main(["summary", "--params", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"glorot: error: invalid parameters file {tmp_path}: it is a folder\n"
