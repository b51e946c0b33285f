"""The minibatch multinomial-logistic step ``T̂(w, Λ, ξ)``, docs/theory.md §9 and §11.3 (composite split).

For a minibatch ``ξ`` of training rows (a multiset: distinct rows ``r`` with multiplicities
``c_r``, ``|ξ| = Σ c_r``),

    T̂(W, Λ, ξ) = W - γ (∇ℓ_ξ(W; Λ) + λ2 W),    ∇ℓ_ξ = (1/|ξ|) Σ_r c_r x̃_r (p_r - y_r)ᵀ,

with the poisoned rows of ``ξ`` carrying their noise. Its derivatives are those of
:mod:`ns_implicit.steps.logistic` with the sums over ``ξ``: ``∂_wT̂ = I - γ(∇²ℓ_ξ + λ2 I)``
(symmetric) and ``(∂_ΛT̂)ᵀ[V]`` nonzero only on the rows of ``Λ`` whose training row is in
``ξ``: row ``r`` is ``-(γ c_r/|ξ|)(Vρ_r + Wδ_r)ᵀ`` with ``ρ_r = p_r - y_r`` and
``δ_r = softmax'(p_r)[Vᵀx̃_r]`` (docs/theory.md §11.3 restricted to the batch). A batch of
:class:`~ns_implicit.solvers.sampling.BatchStream` is a uniformly random subset of the rows, so
``E_ξ T̂ = T`` and ``E_ξ ∂T̂ = ∂T`` (Assumption 5.2). Row indices are those of the internal
order of :class:`~ns_implicit.steps.logistic.MultinomialLogisticStep` (poisoned rows first).

The step ``γ`` is the deterministic map's. (The authors' stochastic poisoning object used
``2/(L + μ + 2λ2)`` of the clean data without the division by 10, docs/theory.md §11.3; pass that
number as ``step=`` to the map to reproduce it. The target ``(I - A)⁻¹B`` is the same.)
"""

import numpy as np

from ns_implicit.kernels.logistic import noise_vjp_rows, softmax_cross_entropy, softmax_jvp_rows
from ns_implicit._validation import check_batch_size
from ns_implicit.steps._common import batch_multiset
from ns_implicit.steps.logistic import MultinomialLogisticStep


class MinibatchLogistic:
    """Stochastic oracle ``T̂`` of the poisoning step (docs/theory.md §11.3 composite split).

    Parameters
    ----------
    step : :class:`~ns_implicit.steps.logistic.MultinomialLogisticStep` (data, ``γ``, ``λ2``).
    batch_size : int in ``[1, n]``.
    """

    def __init__(self, step, batch_size):
        if not isinstance(step, MultinomialLogisticStep):
            raise TypeError(f"step must be a MultinomialLogisticStep; got {type(step).__name__}.")
        self.step = step
        self.n, self.dtype = step.n, step.dtype
        self.batch_size = check_batch_size(batch_size, self.n)

    def sample(self, at, w, stream):
        """``T̂(w, Λ, ξ)`` on the next batch of ``stream``; ``at`` = ``step.at(Λ)``."""
        return MinibatchLogisticLinearization(at, w, stream.next())

    def average(self, at, w, stream, J):
        """``T̄_J = (1/J) Σ_j T̂(w, Λ, ξ'_j)``: one step on the multiset union of ``J`` batches."""
        return MinibatchLogisticLinearization(
            at, w, *batch_multiset(stream, J, self.n, self.batch_size))


class MinibatchLogisticLinearization:
    """``T̂(w, Λ, ξ)`` and its derivative products for one row multiset ``ξ``.

    Same interface as :class:`~ns_implicit.steps.logistic.LogisticLinearization`
    (``value``, ``jvp_w``, ``vjp_w``, ``jvp_lam``, ``vjp_lam``), so it plugs into
    :class:`~ns_implicit.maps.selection.Selection`.
    """

    symmetric = True  # ∂_wT

    def __init__(self, at, w, idx, counts=None):
        if counts is None:
            idx, counts = np.unique(idx, return_counts=True)
        step = at.step
        p = step.n_poison
        self.at, self.W = at, w.reshape(at.shape_w)
        dtype = step.dtype
        poisoned = idx < p
        self.rows_p = idx[poisoned]                      # rows of Λ in the batch
        rows_r = idx[~poisoned] - p
        self.X_p = at.X_poison[self.rows_p]              # noisy poisoned rows of the batch
        self.X_r = step.X_rest[rows_r]
        self.k = self.rows_p.shape[0]
        self.weights = (counts / counts.sum()).astype(dtype)[:, None]   # c_r / |ξ|
        labels = np.concatenate([step.labels[self.rows_p], step.labels[idx[~poisoned]]])
        Z = self._matmul(self.W)
        self.P, self.R = np.empty_like(Z), np.empty_like(Z)
        softmax_cross_entropy(Z, labels, self.P, self.R)
        grad = self._rmatmul(self.weights * self.R).ravel()
        self.value = w - at.gamma * (grad + at.lam2 * w)

    def _matmul(self, V):
        return np.vstack([self.X_p @ V, self.X_r @ V])

    def _rmatmul(self, R):
        return self.X_p.T @ R[:self.k] + self.X_r.T @ R[self.k:]

    def jvp_w(self, x):
        """``∂_wT̂ x = x - γ(∇²ℓ_ξ[x] + λ2 x)``."""
        at = self.at
        dP = np.empty_like(self.P)
        softmax_jvp_rows(self.P, self._matmul(x.reshape(at.shape_w)), dP)
        hv = self._rmatmul(self.weights * dP).ravel()
        return x - at.gamma * (hv + at.lam2 * x)

    vjp_w = jvp_w  # ∂_wT̂ is symmetric

    def jvp_lam(self, y):
        """``∂_ΛT̂[E]``: the poisoned rows of the batch, weighted by ``c_r/|ξ|``."""
        at = self.at
        E = y.reshape(at.step.noise_shape)[self.rows_p]
        wts = self.weights[:self.k]
        D = np.empty((self.k, at.step.n_classes), dtype=at.step.dtype)
        softmax_jvp_rows(self.P[:self.k], E @ self.W, D)
        out = E.T @ (wts * self.R[:self.k]) + self.X_p.T @ (wts * D)
        return -at.gamma * out.ravel()

    def vjp_lam(self, v):
        """``(∂_ΛT̂)ᵀ[V]``: zero except on the rows of ``Λ`` whose training row is in ``ξ``."""
        at = self.at
        V = np.ascontiguousarray(v.reshape(at.shape_w))
        wts = self.weights[:self.k]
        D = np.empty((self.k, at.step.n_classes), dtype=at.step.dtype)
        softmax_jvp_rows(self.P[:self.k], self.X_p @ V, D)
        rows = np.empty((self.k, at.step.n_features), dtype=at.step.dtype)
        noise_vjp_rows(np.ascontiguousarray(wts * self.R[:self.k]), np.ascontiguousarray(wts * D),
                       V, self.W, -at.gamma, rows)
        out = np.zeros(at.step.noise_shape, dtype=at.step.dtype)
        out[self.rows_p] = rows                                  # rows_p are distinct
        return out.ravel()
