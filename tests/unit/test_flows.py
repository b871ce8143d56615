"""flows/sweep.py's result loop, with futures that behave as Prefect's do (a future's state is
read from the API, and can lag behind, until the future has been waited for), its fan-out (as
many groups in flight as the sweep's concurrency, whatever the flow's own task runner), and its
retry condition."""

import uuid

import pytest
from prefect.futures import PrefectTaskRunFuture
from prefect.states import Completed, Failed, Running

import flows.sweep as flow
from flows.sweep import count_failed, retry_condition
from glorot.errors import GlorotError
from glorot.pipeline.orchestration import FlowRunCrashed


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


class Runner:
    """A task runner that records its width and what is submitted to it."""

    def __init__(self, max_workers):
        self.max_workers, self.submitted = max_workers, []
        runners.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, task, parameters):
        self.submitted.append((task, parameters))
        return LaggingFuture(Failed(message="boom") if len(self.submitted) == 2 else Completed())


class Job:
    """What run_groups asks of a sweep."""

    def run_parameters(self):
        return {"study": "s", "tracking_uri": "sqlite:///m.db", "parent_id": "p", "root": "/r", "data_dir": "data"}

    def deployment_parameters(self, members):
        return {"configs": members, "study": "s", "label": members[0]}


runners = []


@pytest.mark.parametrize("deployment", [None, "glorot-train-config/train-config-glorot-gpu"])
def test_groups_are_run_by_a_runner_as_wide_as_the_sweeps_concurrency(deployment, monkeypatch):
    runners.clear()
    monkeypatch.setattr(flow, "ThreadPoolTaskRunner", Runner)
    monkeypatch.setattr(flow, "group_label", lambda members: members[0])
    assert flow.run_groups(Job(), [["a", "b"], ["c"], ["d"]], deployment, 16) == 1
    [runner] = runners
    assert runner.max_workers == 16
    tasks = {task for task, _ in runner.submitted}
    assert tasks == ({flow.remote_task} if deployment else {flow.train_task})
    if deployment:
        assert runner.submitted[0][1] == {"deployment": deployment, "label": "a",
                                          "parameters": {"configs": ["a", "b"], "study": "s", "label": "a"}}
    else:
        assert runner.submitted[0][1]["configs"] == ["a", "b"] and runner.submitted[0][1]["label"] == "a"


@pytest.mark.parametrize("error,retry", [
    (GlorotError("data/shapeset/valid/data.npz differs: the data differ from the version in dvc.lock"), False),
    (ConnectionRefusedError(), True),
    (FlowRunCrashed("flow run x of glorot-train-config/train-config crashed"), True),
])
def test_a_task_is_retried_only_when_that_can_fix_its_error(error, retry):
    assert retry_condition(None, None, Failed(data=error)) is retry
