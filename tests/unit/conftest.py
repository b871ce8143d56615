"""Fixtures shared by the unit tests."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: fast on a shared machine, and single and batched BLAS calls then do
    the same arithmetic (more threads split the work differently and round differently)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
