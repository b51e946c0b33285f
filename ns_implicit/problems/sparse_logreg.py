"""Sparse logistic regression (docs/theory.md §15.7).

Inner: ``min_w (1/n) Σ_i log(1 + exp(-y_i (x_iᵀw + b))) + λ1‖w‖₁ + (λ2/2)‖w‖²`` as the fixed
point of soft-thresholding after the logistic gradient step (``γ = 1/(L/4 + λ2)``); ``λ2 = 0``
(the default) is accepted with ``q = 1`` (§15.6). With ``fit_intercept=True`` the intercept
``b`` is the last coordinate of the variable, left out of both penalties
(:class:`~ns_implicit.operators.IdentityTail`, §15.4(f)); without it ``b = 0``.
Outer: the held-out logistic loss. Hyperparameters: ``λ = (λ1,)``, or ``(λ1, λ2)`` with
``lam2=None``.
"""

import numpy as np
import scipy.sparse as sp

from ns_implicit.bilevel.outer import ValidationLogLoss
from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.identity_tail import IdentityTail
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
    fit_intercept : bool (default False): an unpenalised intercept (module docstring).
    """

    def __init__(self, X, y, X_val, y_val, *, lam2=0.0, tie_active=False, fit_intercept=False):
        T = BinaryLogisticStep(X, y, lam2=lam2, fit_intercept=fit_intercept)
        G = self._operator(T.dim - T.fit_intercept, tie_active)
        self.fit_intercept = T.fit_intercept
        self.map = CompositeMap(IdentityTail(G, 1) if self.fit_intercept else G, T)
        if self.fit_intercept and hasattr(X_val, "shape") and len(X_val.shape) == 2:
            ones = np.ones((X_val.shape[0], 1))
            X_val = (sp.hstack([X_val, ones], format="csr") if sp.issparse(X_val)
                     else np.hstack([np.asarray(X_val), ones]))
        self.outer = ValidationLogLoss(X_val, y_val, n_hyper=self.map.n_hyper, dtype=T.dtype)
        if self.outer.X_val.shape[1] != T.dim:
            raise ValueError(f"X_val must have the same number of columns as X: "
                             f"{self.outer.X_val.shape[1] - self.fit_intercept} != "
                             f"{T.dim - self.fit_intercept}.")

    def _operator(self, dim, tie_active):
        """The penalty's operator on the ``dim`` feature weights (soft-thresholding here)."""
        return SoftThreshold(tie_active=tie_active)

    def coef(self, w):
        """The feature weights of a solution ``w`` (without the intercept)."""
        return np.asarray(w)[:-1] if self.fit_intercept else np.asarray(w)

    def intercept(self, w):
        """The intercept ``b`` of a solution ``w`` (0 without ``fit_intercept``)."""
        return float(np.asarray(w)[-1]) if self.fit_intercept else 0.0

    @property
    def lam1_max(self):
        """Smallest ``λ1`` whose solution has no feature: ``‖∇_wℓ(0, b*)‖∞`` with ``b*`` the
        intercept-only optimum (``b* = 0`` without an intercept)."""
        return float(np.max(np.abs(self.coef(self._gradient_at_null()))))

    def _gradient_at_null(self):
        """``∇ℓ`` at the null model: ``w = 0`` and the intercept-only optimum ``b*``."""
        T = self.map.T
        w = np.zeros(T.dim, dtype=T.dtype)
        if self.fit_intercept:
            pos = float(np.mean(T.y > 0))
            if 0.0 < pos < 1.0:
                w[-1] = np.log(pos / (1.0 - pos))
        return T.gradient(w)
