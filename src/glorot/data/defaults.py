"""Defaults of the data sets and of their preparation commands, in a module that imports
nothing, so that ``glorot data ... --help``, a study's validation and a missing data set's
message need neither numpy nor torch."""

#: Seeds of Shapeset-3x2's fixed validation and test sets (the training stream is drawn afresh).
SHAPESET_VALID_SEED = 2010_0001
SHAPESET_TEST_SEED = 2010_0002

#: Validation images taken from the end of an official training set (MNIST, CIFAR-10).
DEFAULT_VALID_N = 10_000
#: Largest tolerated fraction of unreadable images when building Small-ImageNet.
DEFAULT_MAX_UNREADABLE = 0.01


def prepare_command(dataset: str) -> str:
    """The DVC command that prepares ``dataset`` in the project: the ``shapeset`` stage of
    ``dvc.yaml``, or the image set's ``prepare_<name>`` stage of ``data/dvc.yaml``."""
    return "dvc repro shapeset" if dataset == "shapeset" else f"dvc repro data/dvc.yaml:prepare_{dataset}"
