"""glorot: a reference reproduction of Glorot & Bengio (2010),
"Understanding the difficulty of training deep feedforward neural networks"."""

__version__ = "0.1.0"
