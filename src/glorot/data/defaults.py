"""Defaults of the data-preparation commands, in a module that imports nothing, so that
``glorot data ... --help`` can print them without loading numpy."""

#: Validation images taken from the end of an official training set (MNIST, CIFAR-10).
DEFAULT_VALID_N = 10_000
#: Largest tolerated fraction of unreadable images when building Small-ImageNet.
DEFAULT_MAX_UNREADABLE = 0.01
