"""The nonnegative lasso: ``min_{w >= 0} ‖Xw - y‖²/(2n) + λ1 Σ_j w_j (+ (λ2/2)‖w‖²)``, the
fixed point of nonnegative soft-thresholding after the least-squares step
(docs/theory.md §15.4(b), §15.6). ``p > n`` is accepted (``q = 1``). Hyperparameters
``λ = (λ1,)``, or ``(λ1, λ2)`` with ``lam2=None``. Outer: the validation mean squared error.
"""

import numpy as np

from ns_implicit.operators.nonnegative import NonnegativeSoftThreshold
from ns_implicit.problems.elastic_net import LeastSquaresCompositeProblem


class NonnegativeLassoProblem(LeastSquaresCompositeProblem):
    """Training data, validation data and the nonnegative-lasso map, bundled.

    Parameters
    ----------
    X, y, X_val, y_val : the splits.
    lam2 : float >= 0 (fixed ridge weight; default 0) or None (a hyperparameter).
    gram, tie_active, fit_intercept : as for
        :class:`~ns_implicit.problems.elastic_net.ElasticNetProblem` (the intercept is
        unconstrained and unpenalised).
    """

    def _operator(self, dim, tie_active):
        return NonnegativeSoftThreshold(tie_active=tie_active)

    @property
    def lam1_max(self):
        """Smallest ``λ1`` whose solution is ``w = 0``: ``max(max_j X_jᵀy/n, 0)``."""
        return float(max(np.max(self.map.T.b), 0.0))
