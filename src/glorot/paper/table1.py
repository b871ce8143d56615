"""Numbers from the paper itself, to set beside this project's (PAPER.md, Table 1).

Test error (%) of networks with 5 hidden layers, by data set (Glorot & Bengio 2010, Table 1).
"""

TABLE1: dict[str, dict[str, float]] = {
    "Softsign": {"shapeset": 16.27, "mnist": 1.64, "cifar10": 55.78, "small_imagenet": 69.14},
    "Softsign N": {"shapeset": 16.06, "mnist": 1.72, "cifar10": 53.80, "small_imagenet": 68.13},
    "Tanh": {"shapeset": 27.15, "mnist": 1.76, "cifar10": 55.90, "small_imagenet": 70.58},
    "Tanh N": {"shapeset": 15.60, "mnist": 1.64, "cifar10": 52.92, "small_imagenet": 68.57},
    "Sigmoid": {"shapeset": 82.61, "mnist": 2.21, "cifar10": 57.28, "small_imagenet": 70.66},
}


def table1_error(network: str, dataset: str) -> float | None:
    """The paper's Table 1 test error (%) for ``network`` on ``dataset``, or None if it has none."""
    return TABLE1.get(network, {}).get(dataset)
