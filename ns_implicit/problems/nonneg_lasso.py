"""The nonnegative lasso: ``min_{w >= 0} ‖Xw - y‖²/(2n) + λ1 Σ_j w_j (+ (λ2/2)‖w‖²)``, the
fixed point of nonnegative soft-thresholding after the least-squares step
(docs/theory.md §15.4(b), §15.6). ``p > n`` is accepted (``q = 1``). Hyperparameters
``λ = (λ1,)``, or ``(λ1, λ2)`` with ``lam2=None``. Outer: the validation mean squared error.
"""

import numpy as np

from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.nonnegative import NonnegativeSoftThreshold
from ns_implicit.problems.elastic_net import ElasticNetProblem
from ns_implicit.steps.least_squares import LeastSquaresStep


class NonnegativeLassoProblem(ElasticNetProblem):
    """Training data, validation data and the nonnegative-lasso map, bundled.

    Parameters
    ----------
    X, y, X_val, y_val : the splits.
    lam2 : float >= 0 (fixed ridge weight; default 0) or None (a hyperparameter).
    gram, tie_active, fit_intercept : as for
        :class:`~ns_implicit.problems.elastic_net.ElasticNetProblem` (the intercept is
        unconstrained and unpenalised).
    """

    def __init__(self, X, y, X_val, y_val, *, lam2=0.0, gram="auto", tie_active=False,
                 fit_intercept=False):
        self._lam2 = lam2
        super().__init__(X, y, X_val, y_val, step="lipschitz", gram=gram, tie_active=tie_active,
                         fit_intercept=fit_intercept)

    def _make_map(self, X, y, step, gram, tie_active):
        T = LeastSquaresStep(X, y, step=step, gram=gram, lam2=self._lam2)
        return CompositeMap(NonnegativeSoftThreshold(tie_active=tie_active), T)

    @property
    def lam1_max(self):
        """Smallest ``λ1`` whose solution is ``w = 0``: ``max(max_j X_jᵀy/n, 0)``."""
        return float(max(np.max(self.map.T.b), 0.0))
