"""How training runs, fast and safely: one loop over a step interface, one schedule,
checkpoints, and group planning by measurement. Knows nothing of MLflow, Prefect or DVC.

The rest of the package uses the names below; the modules behind them are the engine's own.
"""

from glorot.engine.checkpoint import Checkpointer
from glorot.engine.grouping import plan_groups
from glorot.engine.loop import build_net, resolve_device, select_lr, train, train_group
from glorot.engine.records import Logger, NullLogger, TrainResult
from glorot.engine.stacked import group_configs, group_key

__all__ = ["Checkpointer", "Logger", "NullLogger", "TrainResult", "build_net", "group_configs", "group_key",
           "plan_groups", "resolve_device", "select_lr", "train", "train_group"]
