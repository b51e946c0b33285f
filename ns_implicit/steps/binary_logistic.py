"""The binary logistic gradient step ``T`` (sparse logistic regression), docs/theory.md §15.7.

Labels ``y_i ∈ {-1, +1}`` (``{0, 1}`` is mapped to ``{-1, +1}``), margins ``z = y ⊙ Xw``,

    ℓ(w) = (1/n) Σ_i log(1 + exp(-z_i)),      ∇ℓ(w) = -(1/n) Xᵀ(y ⊙ σ(-z)),
    ∇²ℓ(w) = (1/n) Xᵀ diag(d) X,  d = σ(z) σ(-z) ∈ (0, 1/4],
    T(w, λ2) = w - γ (∇ℓ(w) + λ2 w),

with ``σ`` the logistic function. ``0 ⪯ ∇²ℓ ⪯ (L/4) I`` (``L`` the top eigenvalue of
``XᵀX/n``), so the step ``γ = 1/(L/4 + λ2)`` gives ``q = 1 - γλ2``: a contraction when
``λ2 > 0`` and an averaged map (``q = 1``, §15.6) when ``λ2 = 0``. ``∂_wT = I - γ(∇²ℓ + λ2 I)``
is symmetric; ``∂_λ2T = -γ w - (dγ/dλ2)(∇ℓ + λ2 w)`` with ``dγ/dλ2 = -γ²``.
All products are matrix-free through ``X`` (dense or ``scipy.sparse``).
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ns_implicit.errors import NotContractiveError
from ns_implicit.steps._common import (RidgeLinearization, RidgeWeight, check_design,
                                       check_step_rule)
from ns_implicit.steps.least_squares import _extreme_eigenvalues


def signed_labels(y, name="y"):
    """Labels as ``±1`` (from ``{-1, +1}`` or ``{0, 1}``), or a ``ValueError`` naming ``name``."""
    values = np.unique(y)
    if not (set(values.tolist()) <= {-1.0, 1.0} or set(values.tolist()) <= {0.0, 1.0}):
        raise ValueError(f"{name} must hold binary labels, -1/+1 or 0/1; got the values "
                         f"{values[:6].tolist()}{' …' if len(values) > 6 else ''}.")
    return np.where(y > 0, 1.0, -1.0).astype(y.dtype)


class BinaryLogisticStep(RidgeWeight):
    """Inner map ``T`` of sparse logistic regression (docs/theory.md §15.7).

    Parameters
    ----------
    X : (n, p) array or scipy.sparse matrix (float32 or float64; the dtype is kept).
    y : (n,) binary labels, -1/+1 or 0/1.
    step : ``"lipschitz"`` (``γ = 1/(L/4 + λ2)``) or a fixed float in ``(0, 2/(L/4 + λ2))``.
    lam2 : None (``λ_T = (λ2,)``) or a fixed ridge weight ``>= 0`` (``λ_T = ()``; default 0).
    fit_intercept : bool
        Append a column of ones: the last coordinate of ``w`` is an intercept, left out of the
        ridge term (and, with :class:`~ns_implicit.operators.IdentityTail`, of the ℓ1 term).
        The map is then only averaged (``q = 1``, §15.6): nothing bounds the curvature in the
        intercept's direction from below.
    """

    def __init__(self, X, y, step="lipschitz", lam2=0.0, fit_intercept=False):
        X, y, n, p = check_design(X, y)
        self.fixed_step, _ = check_step_rule(step, ("lipschitz",))
        self._init_ridge(lam2)
        self.fit_intercept = bool(fit_intercept)
        if self.fit_intercept:
            ones = np.ones((n, 1), dtype=X.dtype)
            X = sp.hstack([X, ones], format="csr") if sp.issparse(X) else np.hstack([X, ones])
            p += 1
        #: 1 on the penalised coordinates, 0 on the intercept (None: all penalised)
        self.penalized = (np.r_[np.ones(p - 1), 0.0].astype(X.dtype) if self.fit_intercept
                          else None)
        self.X, self.y, self.n, self.p, self.dtype = X, signed_labels(y), n, p, X.dtype
        L, _ = _extreme_eigenvalues(X, None)
        self.L = L / 4.0  # the curvature bound of ℓ: d <= 1/4

    @property
    def dim(self):
        return self.p

    def check_params(self, lam_T):
        return lam_T

    def ridge_term(self, lam2, w):
        """``λ2 w`` on the penalised coordinates (the intercept is not)."""
        return lam2 * w if self.penalized is None else lam2 * (self.penalized * w)

    def step_size(self, lam2):
        """``(γ, dγ/dλ2)``: ``1/(L/4 + λ2)`` with ``-γ²`` (0 for a fixed ``λ2``), or the fixed step."""
        if self.fixed_step is not None:
            return self.fixed_step, 0.0
        gamma = 1.0 / (self.L + lam2)
        return gamma, (-gamma * gamma if self.fixed_lam2 is None else 0.0)

    def contraction_factor(self, lam2):
        """``max(|1 - γ(L/4 + λ2)|, |1 - γλ2|)`` (the curvature of ℓ lies in ``[0, L/4]``)."""
        gamma, _ = self.step_size(lam2)
        return max(abs(1.0 - gamma * (self.L + lam2)), abs(1.0 - gamma * lam2))

    # -- the smooth part ------------------------------------------------------------------
    def _margins(self, w):
        return self.y * np.asarray(self.X @ w).ravel()

    def loss(self, w):
        """``ℓ(w)`` (overflow-safe: ``log(1 + e^{-z}) = logaddexp(0, -z)``)."""
        return float(np.mean(np.logaddexp(0.0, -self._margins(w))))

    def gradient(self, w):
        r = self.y * expit(-self._margins(w))
        return -np.asarray(self.X.T @ r).ravel().astype(self.dtype, copy=False) / self.n

    def curvature(self, w):
        """``d = σ(z) σ(-z)``, the diagonal of the Hessian's middle factor."""
        z = self._margins(w)
        return (expit(z) * expit(-z)).astype(self.dtype, copy=False)

    def minibatch(self, batch_size):
        """The minibatch oracle ``T̂`` of this step (NSID/SID, the stochastic solver)."""
        if self.fit_intercept:
            raise TypeError("NSID/SID need a contraction, and a logistic step with an "
                            "unpenalised intercept is only averaged (q = 1); use a "
                            "deterministic method, or fit_intercept=False with lam2 > 0.")
        from ns_implicit.steps.minibatch_binary_logistic import MinibatchBinaryLogistic

        return MinibatchBinaryLogistic(self, batch_size)

    def at(self, lam_T):
        """The step at ``λ_T``; raises :class:`NotContractiveError` when it may diverge."""
        return BinaryLogisticStepAt(self, lam_T)


class BinaryLogisticStepAt:
    """``T(·, λ2)`` at one ``λ2``: step size, contraction factor, evaluation, linearization."""

    def __init__(self, step, lam_T):
        self.step, self.lam = step, lam_T
        lam2 = float(step.ridge(lam_T))
        if step.L + lam2 == 0.0:
            raise NotContractiveError("the logistic step is not a contraction: X is "
                                      "identically zero and lam2 = 0; use lam2 > 0.")
        gamma, dgamma = step.step_size(lam2)
        self.q = step.contraction_factor(lam2)
        #: nonexpansive and averaged, not contractive: λ2 = 0 with γL/4 < 2 (§15.6)
        self.averaged = (lam2 == 0.0 or step.fit_intercept) and gamma * step.L < 2.0
        if self.averaged:
            self.q = 1.0
        elif not self.q < 1.0:
            raise NotContractiveError(
                f"the logistic step is not a contraction at lam2={lam2}: q = {self.q:.6g} >= 1 "
                f"(step = {gamma:.6g}, L/4 = {step.L:.6g}); use a step in (0, "
                f"{2.0 / (step.L + lam2):.6g}) or step='lipschitz'.")
        self.gamma = step.dtype.type(gamma)
        self.lam2 = step.dtype.type(lam2)
        self.dgamma = np.array([dgamma]) if dgamma != 0.0 else None
        self._dgamma = step.dtype.type(dgamma)

    def evaluate(self, w, out):
        """``out = T(w, λ2)``."""
        out[:] = w - self.gamma * (self.step.gradient(w) + self.step.ridge_term(self.lam2, w))

    def linearize(self, w):
        return BinaryLogisticLinearization(self, w)


class BinaryLogisticLinearization(RidgeLinearization):
    """``T`` and its derivatives at one point (module docstring)."""

    def __init__(self, step_at, w):
        s = step_at.step
        self.step, self.gamma, self.lam2 = s, step_at.gamma, step_at.lam2
        grad = s.gradient(w) + s.ridge_term(self.lam2, w)
        self.value = w - self.gamma * grad
        self.dT_dlam2 = -self.gamma * s.ridge_term(1.0, w) - step_at._dgamma * grad
        self.d = s.curvature(w)

    def _hessian_vector(self, x):
        X = self.step.X
        return np.asarray(X.T @ (self.d * np.asarray(X @ x).ravel())).ravel().astype(
            x.dtype, copy=False) / self.step.n

    def jvp_w(self, x):
        """``∂_wT x = x - γ(∇²ℓ x + λ2 x)``."""
        return x - self.gamma * (self._hessian_vector(x) + self.step.ridge_term(self.lam2, x))

    vjp_w = jvp_w  # ∂_wT is symmetric

    def jac_w_block(self, S):
        """Dense ``∂_wT[S, S] = I - γ(X_Sᵀ diag(d) X_S/n + λ2 I)``."""
        XS = self.step.X[:, S]
        XS = XS.toarray() if sp.issparse(XS) else np.asarray(XS)
        block = (XS.T * self.d) @ XS / self.step.n
        block = -self.gamma * block.astype(self.step.dtype, copy=False)
        pen = 1.0 if self.step.penalized is None else self.step.penalized[S]
        block.flat[::block.shape[0] + 1] += 1.0 - self.gamma * self.lam2 * pen
        return block
