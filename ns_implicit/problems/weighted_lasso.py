"""The weighted lasso: one ℓ1 weight per feature as hyperparameters (docs/theory.md §15.4(a),
§15.6).

Inner: ``min_w ‖Xw - y‖²/(2n) + Σ_j λ_j |w_j| + (λ2/2)‖w‖²`` solved as the fixed point of
``Φ = S_{γλ} ∘ T`` (weighted soft-thresholding after the least-squares step
``γ = 1/(L + λ2)``); ``λ2 = 0`` (the default, the weighted lasso) is accepted with ``p > n``
(``q = 1``, §15.6). A zero weight leaves its feature unpenalised.
Outer: ``E(w) = ‖X_val w - y_val‖²/(2 n_val)``.

Hyperparameters: ``λ = (λ_1, …, λ_p)``; with ``lam2=None`` the ridge weight is one more,
``λ = (λ_1, …, λ_p, λ2)`` (the weighted elastic net).
"""

import numpy as np

from ns_implicit.operators.weighted_soft_threshold import WeightedSoftThreshold
from ns_implicit.problems.elastic_net import LeastSquaresCompositeProblem


class WeightedLassoProblem(LeastSquaresCompositeProblem):
    """Training data, validation data and the weighted-lasso map, bundled.

    Parameters
    ----------
    X, y : training split; X_val, y_val : validation split.
    lam2 : float >= 0 (a fixed ridge weight; default 0, the weighted lasso) or None (``λ2``
        is the last hyperparameter).
    gram, tie_active, fit_intercept : as for
        :class:`~ns_implicit.problems.elastic_net.ElasticNetProblem`.
    """

    def _operator(self, dim, tie_active):
        return WeightedSoftThreshold(dim, tie_active=tie_active)

    @property
    def lam_max(self):
        """Per feature, the smallest ``λ_j`` that keeps ``w_j = 0`` at ``w = 0``: ``|X_jᵀy|/n``."""
        return np.abs(self.map.T.b).astype(np.float64)

    @property
    def lam1_max(self):
        """``max_j λ_max[j]``: a common weight above it gives ``w = 0``."""
        return float(self.lam_max.max())
