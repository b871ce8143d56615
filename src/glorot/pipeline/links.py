"""Addresses of MLflow UI pages: a sweep's training runs, one run.

MLflow 3's UI opens an experiment on its GenAI views (traces, token usage) unless told the
workflow is model training: its ``workflowType=machine_learning`` URL parameter (which it also
remembers in the browser). The experiment tag ``mlflow.experimentKind`` that
:class:`~glorot.pipeline.tracking.Tracker` sets says the same to the UIs that read it.
"""

from __future__ import annotations

import urllib.parse

ML_VIEW = "workflowType=machine_learning"


def runs_url(server: str, experiment_id: str, parent_id: str | None = None) -> str:
    """The page of an experiment's training runs on the MLflow server at ``server``; with
    ``parent_id``, filtered to that sweep's child runs."""
    url = f"{server.rstrip('/')}/#/experiments/{experiment_id}/runs?{ML_VIEW}"
    if parent_id:
        url += "&searchFilter=" + urllib.parse.quote(f"tags.mlflow.parentRunId = '{parent_id}'")
    return url


def run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str | None:
    """A run's page, when the tracking store is a server (None for a local store, which has no UI
    until ``glorot ui`` serves one)."""
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?{ML_VIEW}"
