"""The minibatch least-squares step ``T̂(w, λ, ξ)``, docs/theory.md §9 and §11.2 (composite split).

For a minibatch ``ξ`` of training rows (``|ξ| = b``),

    T̂(w, λ, ξ) = w - γ(λ2) (∇f_ξ(w) + λ2 w),      ∇f_ξ(w) = X_ξᵀ(X_ξ w - y_ξ) / |ξ|,

with the same step ``γ(λ2)`` as the deterministic map (the paper's ``2/(L + μ + 2λ2)`` from
the full training data, or a fixed step). Its derivatives:

    ∂_wT̂ = I - γ(H_ξ + λ2 I)  (symmetric),   H_ξ = X_ξᵀX_ξ / |ξ|,
    ∂_λ2 T̂ = -γ w - (dγ/dλ2)(∇f_ξ(w) + λ2 w).

``E_ξ T̂ = T`` and ``E_ξ ∂T̂ = ∂T`` (Assumption 5.2) because a batch of
:class:`~ns_implicit.solvers.sampling.BatchStream` is a uniformly random subset of the rows. The
averaged map ``T̄_J = (1/J) Σ_j T̂(·, ·, ξ'_j)`` of NSID is the same step on the union of the
``J`` batches (docs/theory.md §9, implementation notes), so one class serves both.
"""

from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ns_implicit._validation import as_float_array
from ns_implicit.kernels.minibatch import (counted_gradient, counted_hessian_vector,
                                           minibatch_gradient, minibatch_hessian_vector,
                                           stochastic_linear_system)
from ns_implicit._validation import check_batch_size
from ns_implicit.steps._common import ridge_jvp, ridge_vjp
from ns_implicit.steps.least_squares import LeastSquaresStep

# Indices drawn per chunk when counting a long stream of batches (~8 MB of int64).
_CHUNK_INDICES = 1 << 20


class MinibatchLeastSquares:
    """Stochastic oracle ``T̂`` of the least-squares step (docs/theory.md §11.2 composite split).

    Parameters
    ----------
    step : :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`
        The full-data step ``T``: supplies the data ``X, y`` (dense; read in place by the
        minibatch kernels, never copied) and the step size ``γ(λ2)``.
    batch_size : int in ``[1, n]``.
    """

    def __init__(self, step, batch_size):
        if not isinstance(step, LeastSquaresStep):
            raise TypeError(f"step must be a LeastSquaresStep; got {type(step).__name__}.")
        if sp.issparse(step.X):
            raise TypeError("the minibatch least-squares step needs a dense X; convert it "
                            "with X.toarray().")
        self.step = step
        self.X = np.ascontiguousarray(step.X)
        self.y = step.y
        self.n, self.p, self.dtype = step.n, step.p, step.dtype
        self.batch_size = check_batch_size(batch_size, self.n)

    def linearize(self, w, lam_T, idx):
        """``T̂(w, λ2, ξ)`` and its derivative products for the rows ``ξ = idx`` (validated);
        ``lam_T = (λ2,)``."""
        w = as_float_array(w, "w", ndim=1, dtype=self.dtype)
        if w.shape[0] != self.p:
            raise ValueError(f"w must have length p = {self.p}; got {w.shape[0]}.")
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.shape[0] == 0 or idx.dtype.kind not in "iu":
            raise ValueError(f"idx must be a non-empty 1-D integer array of row indices; "
                             f"got shape {idx.shape}, dtype {idx.dtype}.")
        if idx.min() < 0 or idx.max() >= self.n:
            raise ValueError(f"idx must hold row indices in [0, n) = [0, {self.n}); got "
                             f"values in [{idx.min()}, {idx.max()}].")
        return MinibatchLinearization(self, w, lam_T, idx)

    # sample / average take their indices from a BatchStream (always in range) and a ``w``
    # the caller has validated once, so they skip the checks of ``linearize``.
    def sample(self, at, w, stream):
        """``T̂`` on the next batch of ``stream``; ``at`` = ``step.at(λ_T)``."""
        return MinibatchLinearization(self, w, at.lam, stream.next())

    def average(self, at, w, stream, J):
        """``T̄_J = (1/J) Σ_j T̂(w, λ, ξ'_j)`` over the next ``J`` batches of ``stream``.

        When the ``J·b`` rows outnumber ``X``'s, they are kept as a multiset (distinct rows
        and multiplicities, counted chunk by chunk): memory ``O(n)``, not ``O(J·b)``.
        """
        if J * self.batch_size <= self.n:
            return MinibatchLinearization(self, w, at.lam, stream.take(J).ravel())
        counts = np.zeros(self.n, dtype=np.int64)
        chunk = max(1, _CHUNK_INDICES // self.batch_size)
        for start in range(0, J, chunk):
            counts += np.bincount(stream.take(min(chunk, J - start)).ravel(), minlength=self.n)
        rows = np.flatnonzero(counts)
        return MinibatchLinearization(self, w, at.lam, rows, counts[rows])

    def linear_system(self, at, w, mask, u, etas, stream, tau, tie_active, *,
                      per_sample_mask=False, tol=0.0, record=None):
        """docs/theory.md §9 eq. (19) from ``v_0 = 0`` in compiled code, for soft-thresholding
        with threshold ``τ`` as ``G``; returns ``(v_k, k, last step)``.

        Same ``m ⊙ v_k`` (all that enters ``ĝ``) as the generic loop of
        :mod:`~ns_implicit.methods.nsid` on the same batches, up to the summation order of
        the products; NSID leaves the inactive coordinates of ``v`` at 0. The stream is read
        in chunks.
        """
        v = np.zeros(self.p, dtype=self.dtype)
        etas = np.ascontiguousarray(etas, dtype=np.float64)
        K = etas.shape[0]
        chunk = max(1, _CHUNK_INDICES // self.batch_size)
        no_record = np.empty((0, self.p), dtype=self.dtype)
        done, step = 0, 0.0
        while done < K:
            m = min(chunk, K - done)
            rec = no_record if record is None else record[done: done + m]
            ran, step = stochastic_linear_system(
                self.X, self.y, stream.take(m), w, mask, u, float(at.gamma),
                float(at.lam2), float(tau), bool(tie_active),
                bool(per_sample_mask), etas[done: done + m], float(tol), v, rec)
            done += ran
            if tol > 0 and step <= tol:
                break
        return v, done, float(step)


class MinibatchLinearization:
    """``T̂(w, λ, ξ)`` and its derivatives at one point for one index multiset ``ξ``
    (``idx``, or distinct rows ``idx`` with multiplicities ``counts``).

    Same interface as :class:`~ns_implicit.steps.least_squares.LeastSquaresLinearization`
    (``value``, ``jvp_w``, ``vjp_w``, ``jvp_lam``, ``vjp_lam``, ``jac_w_block``), so it plugs
    into :class:`~ns_implicit.maps.selection.Selection`. ``value`` and ``∂_λ2 T̂``
    need ``∇f_ξ(w)`` and are computed on first use only (NSID's loop uses ``vjp_w`` alone).
    """

    symmetric = True  # ∂_wT

    def __init__(self, T_hat, w, lam_T, idx, counts=None):
        self.T_hat = T_hat
        self.w = w
        self.idx = np.ascontiguousarray(idx, dtype=np.int64)
        self.counts = counts
        self.lam2 = T_hat.dtype.type(T_hat.step.ridge(lam_T))
        gamma, dgamma = T_hat.step.step_size(float(T_hat.step.ridge(lam_T)))
        self.gamma = T_hat.dtype.type(gamma)
        self.dgamma = T_hat.dtype.type(dgamma)

    @cached_property
    def _multiset(self):
        """``(distinct rows, multiplicities)`` when given, or when ``ξ`` has more entries than
        ``X`` has rows (the averaged map over many epochs): one pass over the distinct rows,
        in order. None: use ``idx`` as it is."""
        if self.counts is not None:
            return self.idx, self.counts
        if self.idx.shape[0] <= self.T_hat.n:
            return None
        counts = np.bincount(self.idx, minlength=self.T_hat.n)
        rows = np.flatnonzero(counts)
        return rows, counts[rows].astype(np.int64)

    @cached_property
    def _direction(self):
        """``∇f_ξ(w) + λ2 w``."""
        grad = np.empty_like(self.w)
        if self._multiset is None:
            minibatch_gradient(self.T_hat.X, self.T_hat.y, self.idx, self.w, grad)
        else:
            counted_gradient(self.T_hat.X, self.T_hat.y, *self._multiset, self.w, grad)
        return grad + self.lam2 * self.w

    @cached_property
    def value(self):
        """``T̂(w, λ, ξ) = w - γ(∇f_ξ(w) + λ2 w)``."""
        return self.w - self.gamma * self._direction

    @cached_property
    def dT_dlam2(self):
        """``∂_λ2 T̂ = -γ w - (dγ/dλ2)(∇f_ξ(w) + λ2 w)``."""
        return -self.gamma * self.w - self.dgamma * self._direction

    def hessian_vector(self, x):
        """``H_ξ x = X_ξᵀX_ξ x / |ξ|``."""
        x = np.ascontiguousarray(x, dtype=self.T_hat.dtype)
        out = np.empty_like(x)
        if self._multiset is None:
            minibatch_hessian_vector(self.T_hat.X, self.idx, x, out)
        else:
            counted_hessian_vector(self.T_hat.X, *self._multiset, x, out)
        return out

    def jvp_w(self, x):
        """``∂_wT̂ x = x - γ(H_ξ x + λ2 x)``."""
        return x - self.gamma * (self.hessian_vector(x) + self.lam2 * x)

    vjp_w = jvp_w  # ∂_wT̂ is symmetric

    def jvp_lam(self, y):
        """``∂_λ2T̂ y``."""
        return ridge_jvp(self.dT_dlam2, y)

    def vjp_lam(self, v):
        """``(∂_λ2T̂)ᵀ v = <∂_λ2 T̂, v>``."""
        return ridge_vjp(self.dT_dlam2, v, self.T_hat.step.n_params)

    def jac_w_block(self, S):
        """Dense ``(∂_wT̂)[S, S] = I - γ(H_ξ[S, S] + λ2 I)``."""
        if self._multiset is None:
            rows, counts = self.idx, np.ones(len(self.idx))
        else:
            rows, counts = self._multiset
        XS = self.T_hat.X[np.ix_(rows, S)]
        weighted = counts.astype(XS.dtype)[:, None] * XS
        block = -self.gamma * (XS.T @ weighted) / self.T_hat.dtype.type(counts.sum())
        block[np.diag_indices_from(block)] += 1 - self.gamma * self.lam2
        return block
