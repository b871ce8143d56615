"""The names of the paper's tables, without their maths: activations (Section 2.3),
initialisations (eqs. 1 and 16), costs (Sections 2.3 and 4.1), extensions included, and the
diagnostics' per-layer scalars (Sections 3-4).

:mod:`~glorot.paper.activations`, :mod:`~glorot.paper.init` and :mod:`~glorot.paper.costs`
key their tables by exactly these names (``tests/unit/test_cli_help.py`` checks it). This
module imports nothing, so that :mod:`glorot.config` and the command line can name the
choices without loading torch.
"""

#: The hidden-unit non-linearities; ``relu`` is an extension outside the paper.
ACTIVATION_NAMES = ("sigmoid", "tanh", "softsign", "relu")
#: The weight initialisations: eq. (1), eq. (16); ``he``, ``orthogonal`` and ``lsuv`` are extensions
#: outside the paper (He et al. 2015, Saxe et al. 2014, Mishkin & Matas 2016).
INIT_NAMES = ("standard", "normalized", "he", "orthogonal", "lsuv")
#: The training costs: negative log-likelihood and the quadratic cost of Figure 5.
COST_NAMES = ("nll", "quadratic")
#: The per-layer scalars of the diagnostics (Sections 3-4, :mod:`~glorot.paper.probes`), as
#: metrics ``L<i>/<scalar>``.
SCALARS = ("act_mean", "act_std", "act_p98", "dCds_std", "dCdW_std", "jac_sv_mean", "pre_std")
#: The network-wide scalars, logged as ``net/{name}`` at update 0: the singular values of the
#: input-output Jacobian (an extension, Pennington et al. 2017).
NETWORK_SCALARS = ("jac_io_sv_mean", "jac_io_sv_std", "jac_io_sv_max", "jac_io_sv_min")
