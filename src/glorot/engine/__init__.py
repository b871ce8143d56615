"""How training runs, fast and safely: one loop over a step interface, one schedule,
checkpoints, and group planning by measurement. Knows nothing of MLflow, Prefect or DVC.
"""
