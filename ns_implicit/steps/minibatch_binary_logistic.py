"""The minibatch binary logistic step ``T̂(w, λ2, ξ)``, docs/theory.md §9 and §15.7.

For a row multiset ``ξ`` (distinct rows ``r`` with multiplicities ``c_r``, ``|ξ| = Σ c_r``),

    T̂(w, λ2, ξ) = w - γ(λ2) (∇ℓ_ξ(w) + λ2 w),   ∇ℓ_ξ(w) = -(1/|ξ|) Σ_r c_r y_r σ(-z_r) x_r,

with the deterministic step's ``γ``; ``∂_wT̂ = I - γ(∇²ℓ_ξ + λ2 I)`` (symmetric,
``∇²ℓ_ξ = (1/|ξ|) Σ_r c_r d_r x_r x_rᵀ``) and ``∂_λ2T̂ = -γ w - (dγ/dλ2)(∇ℓ_ξ + λ2 w)``. A batch
of :class:`~ns_implicit.solvers.sampling.BatchStream` is a uniformly random subset of the rows,
so ``E_ξ T̂ = T`` and ``E_ξ ∂T̂ = ∂T`` (Assumption 5.2); the averaged map of NSID is the same step
on the multiset union of its ``J`` batches.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ns_implicit._validation import check_batch_size
from ns_implicit.steps._common import RidgeLinearization, batch_multiset
from ns_implicit.steps.binary_logistic import BinaryLogisticStep


class MinibatchBinaryLogistic:
    """Stochastic oracle ``T̂`` of :class:`~ns_implicit.steps.binary_logistic.BinaryLogisticStep`.

    Parameters
    ----------
    step : the full-data step (data, ``γ(λ2)``); batch_size : int in ``[1, n]``.
    """

    def __init__(self, step, batch_size):
        if not isinstance(step, BinaryLogisticStep):
            raise TypeError(f"step must be a BinaryLogisticStep; got {type(step).__name__}.")
        self.step = step
        self.n, self.p, self.dtype = step.n, step.p, step.dtype
        self.batch_size = check_batch_size(batch_size, self.n)

    def sample(self, at, w, stream):
        """``T̂`` on the next batch of ``stream``; ``at`` = ``step.at(λ_T)``."""
        rows, counts = np.unique(stream.next(), return_counts=True)
        return MinibatchBinaryLogisticLinearization(at, w, rows, counts)

    def average(self, at, w, stream, J):
        """``T̄_J``: one step on the multiset union of the next ``J`` batches."""
        return MinibatchBinaryLogisticLinearization(
            at, w, *batch_multiset(stream, J, self.n, self.batch_size))


class MinibatchBinaryLogisticLinearization(RidgeLinearization):
    """``T̂(w, λ2, ξ)`` and its derivative products for one row multiset (module docstring)."""

    def __init__(self, at, w, rows, counts):
        s = at.step
        self.step, self.gamma, self.lam2 = s, at.gamma, at.lam2
        X = s.X[rows]
        self.X = X.toarray() if sp.issparse(X) else np.asarray(X)
        self.weights = (counts / counts.sum()).astype(s.dtype)  # c_r / |ξ|
        y = s.y[rows]
        z = y * (self.X @ w)
        grad = -self.X.T @ (self.weights * y * expit(-z)) + self.lam2 * w
        grad = grad.astype(s.dtype, copy=False)
        self.value = w - self.gamma * grad
        self.dT_dlam2 = -self.gamma * w - at._dgamma * grad
        self.d = (self.weights * expit(z) * expit(-z)).astype(s.dtype)  # weighted curvature

    def jvp_w(self, x):
        """``∂_wT̂ x = x - γ(∇²ℓ_ξ x + λ2 x)``."""
        hv = (self.X.T @ (self.d * (self.X @ x))).astype(x.dtype, copy=False)
        return x - self.gamma * (hv + self.lam2 * x)

    vjp_w = jvp_w  # ∂_wT̂ is symmetric

    def jac_w_block(self, S):
        """Dense ``(∂_wT̂)[S, S] = I - γ(X_{ξ,S}ᵀ diag(d) X_{ξ,S} + λ2 I)``."""
        XS = self.X[:, S]
        block = -self.gamma * ((XS.T * self.d) @ XS).astype(self.step.dtype, copy=False)
        block.flat[::block.shape[0] + 1] += 1.0 - self.gamma * self.lam2
        return block
