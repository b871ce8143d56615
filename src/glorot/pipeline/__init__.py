"""The glue between the engine and the tools: studies of ``params.yaml``, sweep orchestration,
provenance (code and data versions), and MLflow tracking (the only module importing mlflow).
"""
