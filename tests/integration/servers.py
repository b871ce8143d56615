"""Real servers for integration tests: started as subprocesses on 127.0.0.1 with free ports
and temporary folders, waited for until healthy, and stopped (with their children) after."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def process(cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: str | Path | None = None):
    """Run ``cmd`` in its own process group; on exit, SIGTERM the group (SIGKILL if it lingers)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextmanager
def mlflow_server(tmp: Path):
    """``mlflow server`` with a SQLite backend and a local artifact folder; yields its URI."""
    port = free_port()
    cmd = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}", "--artifacts-destination", str(tmp / "artifacts")]
    with process(cmd, tmp / "mlflow-server.log") as proc:
        uri = f"http://127.0.0.1:{port}"
        wait_healthy(f"{uri}/health", proc, tmp / "mlflow-server.log")
        yield uri


def own_environ() -> dict[str, str]:
    """This test process's environment less ``MLFLOW_TRACKING_URI``: ``mlflow.set_tracking_uri``
    exports the variable, so an earlier test's in-process tracker would otherwise point a command
    started now at that test's store. A command that needs a store is given its own."""
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


def prefect_env(tmp: Path, api_url: str | None = None) -> dict[str, str]:
    """An environment whose Prefect home (database, settings) is a temp folder."""
    env = dict(own_environ(), PREFECT_HOME=str(tmp / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="INFO")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


@contextmanager
def prefect_server(tmp: Path):
    """``prefect server start`` on a free port; yields its API URL."""
    port = free_port()
    env = prefect_env(tmp)
    cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    with process(cmd, tmp / "prefect-server.log", env=env) as proc:
        api = f"http://127.0.0.1:{port}/api"
        wait_healthy(f"{api}/health", proc, tmp / "prefect-server.log")
        yield api
