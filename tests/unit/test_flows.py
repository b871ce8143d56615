"""flows/sweep.py's result loop, with futures that behave as Prefect's do (a future's state is
read from the API, and can lag behind, until the future has been waited for), and its retry
condition."""

import uuid

import pytest
from prefect.futures import PrefectTaskRunFuture
from prefect.states import Completed, Failed, Running

from flows.sweep import FlowRunCrashed, count_failed, worth_retrying
from glorot.errors import GlorotError
from glorot.pipeline.tracking import StoreUnavailable


class LaggingFuture(PrefectTaskRunFuture):
    """A task that has ended with ``final``, whose state reads ``Running`` until waited for."""

    def __init__(self, final):
        super().__init__(uuid.uuid4())
        self.final = final

    @property
    def state(self):
        return self._final_state or Running()

    def wait(self, timeout=None):
        self._final_state = self.final

    def result(self, timeout=None, raise_on_failure=True):
        self.wait()
        return self.final.result(raise_on_failure=raise_on_failure)

    def add_done_callback(self, fn):
        fn(self)  # already done


def test_failed_groups_are_counted_after_waiting_for_them():
    futures = {LaggingFuture(Completed()): 2, LaggingFuture(Failed(message="boom")): 3,
               LaggingFuture(Completed()): 1}
    heard = []
    assert count_failed(futures, lambda done, failed: heard.append((done, failed))) == 3
    assert len(heard) == 3 and max(heard) == (6, 3)


@pytest.mark.parametrize("error,retry", [
    (GlorotError("data/shapeset/valid/data.npz differs: the data differ from the version in dvc.lock"), False),
    (ValueError("a bug"), False),
    (StoreUnavailable("cannot reach the MLflow tracking server at http://x: refused"), True),
    (ConnectionRefusedError(), True),
    (FlowRunCrashed("flow run x of glorot-train-config/train-config crashed"), True),
])
def test_a_task_is_retried_only_when_that_can_fix_its_error(error, retry):
    assert worth_retrying(None, None, Failed(data=error)) is retry
