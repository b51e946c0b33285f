"""Sparse logistic regression (docs/theory.md §15.7).

Inner: ``min_w (1/n) Σ_i log(1 + exp(-y_i x_iᵀw)) + λ1‖w‖₁ + (λ2/2)‖w‖²`` as the fixed point
of soft-thresholding after the logistic gradient step (``γ = 1/(L/4 + λ2)``); ``λ2 = 0`` (the
default) is accepted with ``q = 1`` (§15.6). Outer: the held-out logistic loss.
Hyperparameters: ``λ = (λ1,)``, or ``(λ1, λ2)`` with ``lam2=None``.
"""

import numpy as np

from ns_implicit.bilevel.outer import ValidationLogLoss
from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.soft_threshold import SoftThreshold
from ns_implicit.problems.base import BilevelProblem
from ns_implicit.steps.binary_logistic import BinaryLogisticStep


class SparseLogisticProblem(BilevelProblem):
    """Training data, validation data and the ISTA map of sparse logistic regression.

    Parameters
    ----------
    X, y : training split (labels -1/+1 or 0/1); X_val, y_val : validation split.
    lam2 : float >= 0 (fixed ridge weight, default 0) or None (``λ2`` a hyperparameter).
    tie_active : the vertex taken at a tie (see :class:`~ns_implicit.operators.SoftThreshold`).
    """

    def __init__(self, X, y, X_val, y_val, *, lam2=0.0, tie_active=False):
        T = BinaryLogisticStep(X, y, lam2=lam2)
        self.map = CompositeMap(SoftThreshold(tie_active=tie_active), T)
        self.outer = ValidationLogLoss(X_val, y_val, n_hyper=self.map.n_hyper, dtype=T.dtype)
        if self.outer.X_val.shape[1] != T.dim:
            raise ValueError(f"X_val must have the same number of columns as X: "
                             f"{self.outer.X_val.shape[1]} != {T.dim}.")

    @property
    def lam1_max(self):
        """Smallest ``λ1`` whose solution is ``w = 0``: ``‖∇ℓ(0)‖∞ = ‖Xᵀy‖∞/(2n)``."""
        T = self.map.T
        return float(np.max(np.abs(T.gradient(np.zeros(T.dim, dtype=T.dtype)))))
