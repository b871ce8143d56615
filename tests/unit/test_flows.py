"""flows/sweep.py's result loop, with futures that behave as Prefect's do: a future's state is
read from the API (and can lag behind) until the future has been waited for."""

import uuid

from prefect.futures import PrefectTaskRunFuture
from prefect.states import Completed, Failed, Running

from flows.sweep import count_failed


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
    done = []
    assert count_failed(futures, done.append) == 3
    assert sorted(done)[-1] == 6 and len(done) == 3
