"""The linear SVM, tuned in ``C`` through its dual (docs/theory.md §15.9).

Inner: ``α(C) = argmin_{0 <= α <= C} ½ αᵀQα - 1ᵀα`` as the fixed point of the box projection
after the dual gradient step; the primal weights are ``w(α) = Xᵀ(y ⊙ α)``. Outer: the held-out
logistic loss of the primal predictor, ``E(α) = (1/n') Σ_i log(1 + exp(-y'_i x'_iᵀ w(α)))``.
Hyperparameter: ``λ = (C,)``.
"""

import numpy as np

from ns_implicit.bilevel.outer import ValidationLogLoss
from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.box import BoxProjection
from ns_implicit.problems.base import BilevelProblem
from ns_implicit.steps.svm_dual import SVMDualStep


class DualLogLoss:
    """``E(α) = logloss(X_val w(α))`` with ``w = Xᵀ(y ⊙ α)``: ``∇_αE = y ⊙ X ∇_wE``."""

    def __init__(self, step, X_val, y_val):
        self.step = step
        self.primal_loss = ValidationLogLoss(X_val, y_val, n_hyper=1, dtype=step.dtype)
        if self.primal_loss.X_val.shape[1] != step.p:
            raise ValueError(f"X_val must have the same number of columns as X: "
                             f"{self.primal_loss.X_val.shape[1]} != {step.p}.")
        self.n_hyper = 1

    def value(self, alpha, lam=None):
        return self.primal_loss.value(self.step.primal(alpha))

    def grad_w(self, alpha, lam=None):
        g = self.primal_loss.grad_w(self.step.primal(alpha))
        return (self.step.y * np.asarray(self.step.X @ g).ravel()).astype(alpha.dtype)

    def grad_lam(self, alpha, lam=None):
        return np.zeros(1, dtype=alpha.dtype)


class LinearSVMProblem(BilevelProblem):
    """Training data, validation data and the dual map of the linear SVM, bundled.

    Parameters
    ----------
    X, y : training split (labels -1/+1 or 0/1); X_val, y_val : validation split.
    tie_active : the vertex taken when a dual variable sits exactly at 0 or C.
    """

    def __init__(self, X, y, X_val, y_val, *, tie_active=False):
        T = SVMDualStep(X, y)
        self.map = CompositeMap(BoxProjection(tie_active=tie_active), T)
        self.outer = DualLogLoss(T, X_val, y_val)

    def weights(self, alpha):
        """The primal weights ``w = Xᵀ(y ⊙ α)`` of a dual point."""
        return self.map.T.primal(np.asarray(alpha))
