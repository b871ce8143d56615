"""The glue between the engine and the tools: studies of ``params.yaml``, sweep orchestration,
provenance (code and data versions), and MLflow tracking (tracking.py, metrics_logger.py,
artifacts.py, registry.py: the only modules importing mlflow).
"""
