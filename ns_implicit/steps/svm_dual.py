"""The projected-gradient step on the linear SVM's dual (docs/theory.md §15.9).

With labels ``y ∈ {±1}`` and ``Q = diag(y) X Xᵀ diag(y)``, the dual of
``min_w ½‖w‖² + C Σ_i max(0, 1 - y_i x_iᵀw)`` is ``min_{0 <= α <= C} ½ αᵀQα - 1ᵀα``; its
gradient step is ``T(α) = α - γ(Qα - 1)`` with ``γ = 1/L``, ``L = ‖X‖₂²``, followed by the
projection onto ``[0, C]`` (:class:`~ns_implicit.operators.BoxProjection`). ``Q`` is applied
matrix-free through ``X``. ``q = 1 - μ/L`` (``μ`` the smallest eigenvalue of ``XXᵀ``): ``q = 1``
(averaged, §15.6) whenever ``n > p``. The primal weights are ``w = Xᵀ(y ⊙ α)``.
The step has no hyperparameter of its own (``C`` is the operator's).
"""

import numpy as np
import scipy.sparse as sp

from ns_implicit.errors import NotContractiveError
from ns_implicit.steps._common import check_design
from ns_implicit.steps.binary_logistic import signed_labels
from ns_implicit.steps.least_squares import _extreme_eigenvalues


class SVMDualStep:
    """``T(α) = α - γ(Qα - 1)`` (module docstring).

    Parameters
    ----------
    X : (n, p) array or scipy.sparse matrix; y : (n,) labels -1/+1 or 0/1.
    """

    n_params = 0
    param_names = ()

    def __init__(self, X, y):
        X, y, n, p = check_design(X, y)
        self.X, self.y, self.n, self.p, self.dtype = X, signed_labels(y), n, p, X.dtype
        L, mu = _extreme_eigenvalues(X.T, None)  # of X Xᵀ / p
        self.L, self.mu = L * p, (mu * p if n <= p else 0.0)
        if self.L == 0.0:
            raise NotContractiveError("X is identically zero: the SVM dual has no curvature.")

    @property
    def dim(self):
        return self.n

    def check_params(self, lam_T):
        return lam_T

    def primal(self, alpha):
        """The primal weights ``w = Xᵀ(y ⊙ α)``."""
        return np.asarray(self.X.T @ (self.y * alpha)).ravel()

    def Q_product(self, v):
        """``Q v = y ⊙ X Xᵀ (y ⊙ v)``."""
        return self.y * np.asarray(self.X @ self.primal(v)).ravel()

    def at(self, lam_T):
        return SVMDualStepAt(self, lam_T)


class SVMDualStepAt:
    """``T`` (no hyperparameter): step size, contraction factor, evaluation, linearization."""

    def __init__(self, step, lam_T):
        self.step, self.lam = step, lam_T
        self.gamma = step.dtype.type(1.0 / step.L)
        self.dgamma = None
        self.q = 1.0 - step.mu / step.L  # γL = 1 < 2: averaged when μ = 0
        self.averaged = step.mu == 0.0
        if not (self.q < 1.0 or self.averaged):
            raise NotContractiveError(f"the SVM dual step has q = {self.q} >= 1.")

    def evaluate(self, alpha, out):
        out[:] = alpha - self.gamma * (self.step.Q_product(alpha) - 1.0)

    def linearize(self, alpha):
        return SVMDualLinearization(self, alpha)


class SVMDualLinearization:
    """``∂_αT = I - γQ`` (symmetric); no ``∂_λT`` (the step has no hyperparameter)."""

    symmetric = True

    def __init__(self, step_at, alpha):
        self.at, self.step = step_at, step_at.step
        self.value = alpha - step_at.gamma * (self.step.Q_product(alpha) - 1.0)

    def jvp_w(self, x):
        return x - self.at.gamma * self.step.Q_product(x)

    vjp_w = jvp_w

    def jvp_lam(self, y):
        return np.zeros(self.step.n, dtype=self.step.dtype)

    def vjp_lam(self, v):
        return np.zeros(0, dtype=v.dtype)

    def jac_w_block(self, R):
        """Dense ``I - γ Q[R, R]`` with ``Q[R, R] = (y_R y_Rᵀ) ⊙ X_R X_Rᵀ``."""
        XR = self.step.X[R]
        XR = XR.toarray() if sp.issparse(XR) else np.asarray(XR)
        yR = self.step.y[R]
        block = -self.at.gamma * (np.outer(yR, yR) * (XR @ XR.T))
        block.flat[::block.shape[0] + 1] += 1.0
        return block.astype(self.step.dtype, copy=False)
