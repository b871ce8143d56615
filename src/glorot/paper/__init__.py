"""The paper's maths and numbers (Glorot & Bengio 2010): activations, initialisations (eqs. 1, 16),
costs, the network, written-out back-propagation (Section 4.2.1), the diagnostics and Table 1.

Nothing here imports any other part of :mod:`glorot`: this is the layer everything else builds on.
"""
