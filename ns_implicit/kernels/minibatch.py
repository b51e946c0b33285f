"""Minibatch kernels of the least-squares step, docs/theory.md §9, §11.2 (composite split).

A minibatch ``ξ`` is an array of row indices. The kernels read the rows ``X[i]``, ``i ∈ ξ``,
in place (the dataset is never copied or gathered into a new array) and accumulate in
float64 whatever the data dtype:

    minibatch_gradient:        out = X_ξᵀ(X_ξ w - y_ξ) / |ξ|
    minibatch_hessian_vector:  out = X_ξᵀ X_ξ v / |ξ|

A large multiset of rows (NSID's averaged map over ``J`` batches, ``J·b`` rows, often many
epochs) is passed as distinct ``rows`` with multiplicities ``counts`` instead: the same mean,
at a cost of one pass over the distinct rows (``counted_gradient``,
``counted_hessian_vector``).

:func:`stochastic_linear_system` runs the whole NSID / SID loop of docs/theory.md §9 eq. (19) for
the least-squares step in compiled code (the fast path of
:func:`ns_implicit.methods.nsid.nsid`; its body is the equation of the generic loop).
"""

import numpy as np

from ns_implicit._jit import njit
from ns_implicit.kernels.soft_threshold import soft_threshold_active


@njit
def _gram_product(X, idx, v, support, offset, weights, outputs, acc):
    """``acc += Σ_t c_t (<X[i_t], v> - offset[i_t]) X[i_t]`` over ``i_t = idx[t]``.

    ``v`` is zero off ``support``; ``offset`` is ``y`` for a gradient, or empty for a
    Hessian-vector product; ``c_t = weights[t]``, or 1 when ``weights`` is empty; only the
    entries ``outputs`` of ``acc`` are updated (all when ``outputs`` is empty). Rows are
    taken four at a time: each row is read once for its dot product and is still in
    cache for the update, and four independent rows keep several memory loads in flight
    (the rows of a minibatch are scattered through ``X``).
    """
    p = X.shape[1]
    b = idx.shape[0]
    has_offset = offset.shape[0] > 0
    has_weights = weights.shape[0] > 0
    all_outputs = outputs.shape[0] == 0
    t = 0
    while t < b:
        i0 = idx[t]
        i1 = idx[min(t + 1, b - 1)]
        i2 = idx[min(t + 2, b - 1)]
        i3 = idx[min(t + 3, b - 1)]
        x0, x1, x2, x3 = X[i0], X[i1], X[i2], X[i3]
        r0 = 0.0
        r1 = 0.0
        r2 = 0.0
        r3 = 0.0
        for j in support:
            vj = v[j]
            r0 += x0[j] * vj
            r1 += x1[j] * vj
            r2 += x2[j] * vj
            r3 += x3[j] * vj
        if has_offset:
            r0 -= offset[i0]
            r1 -= offset[i1]
            r2 -= offset[i2]
            r3 -= offset[i3]
        if has_weights:
            r0 *= weights[t]
            r1 *= weights[min(t + 1, b - 1)]
            r2 *= weights[min(t + 2, b - 1)]
            r3 *= weights[min(t + 3, b - 1)]
        # rows past the end of the batch (last block of fewer than four) count zero times
        if t + 1 >= b:
            r1 = 0.0
        if t + 2 >= b:
            r2 = 0.0
        if t + 3 >= b:
            r3 = 0.0
        if all_outputs:
            for j in range(p):
                acc[j] += (r0 * x0[j] + r1 * x1[j]) + (r2 * x2[j] + r3 * x3[j])
        else:
            for j in outputs:
                acc[j] += (r0 * x0[j] + r1 * x1[j]) + (r2 * x2[j] + r3 * x3[j])
        t += 4


@njit
def minibatch_gradient(X, y, idx, w, out):
    """``out = X_ξᵀ(X_ξ w - y_ξ) / |ξ|`` for the rows ``ξ = idx`` (docs/theory.md §11.2)."""
    acc = np.zeros(X.shape[1])
    _gram_product(X, idx, w, np.flatnonzero(w), y, idx[:0], idx[:0], acc)
    for j in range(out.shape[0]):
        out[j] = acc[j] / idx.shape[0]


@njit
def minibatch_hessian_vector(X, idx, v, out):
    """``out = X_ξᵀ X_ξ v / |ξ|`` for the rows ``ξ = idx`` (docs/theory.md §11.2)."""
    acc = np.zeros(X.shape[1])
    _gram_product(X, idx, v, np.flatnonzero(v), X[0, :0], idx[:0], idx[:0], acc)
    for j in range(out.shape[0]):
        out[j] = acc[j] / idx.shape[0]


@njit
def counted_gradient(X, y, rows, counts, w, out):
    """:func:`minibatch_gradient` of the multiset holding ``rows[k]`` ``counts[k]`` times."""
    acc = np.zeros(X.shape[1])
    _gram_product(X, rows, w, np.flatnonzero(w), y, counts, rows[:0], acc)
    total = counts.sum()
    for j in range(out.shape[0]):
        out[j] = acc[j] / total


@njit
def counted_hessian_vector(X, rows, counts, v, out):
    """:func:`minibatch_hessian_vector` of the multiset holding ``rows[k]`` ``counts[k]`` times."""
    acc = np.zeros(X.shape[1])
    _gram_product(X, rows, v, np.flatnonzero(v), X[0, :0], counts, rows[:0], acc)
    total = counts.sum()
    for j in range(out.shape[0]):
        out[j] = acc[j] / total


@njit
def _active(u, tau, tie_active, mask):
    """Soft-threshold selection mask at ``u``, by the operator's one tie rule."""
    for j in range(u.shape[0]):
        mask[j] = 1 if soft_threshold_active(abs(u[j]), tau, tie_active) else 0


@njit
def stochastic_linear_system(X, y, batches, w, mask_bar, u, gamma, lam2, tau, tie_active,
                             per_sample_mask, etas, tol, v, record):
    """NSID / SID linear system (docs/theory.md §9 eq. (19)) for the least-squares step.

    For ``k = 0 … K-1`` with ``ξ_k = batches[k]``:

        z = m ⊙ v_k,    v_{k+1} = (1 - η_k) v_k + η_k (z - γ(H_{ξ_k} z + λ2 z) + u),

    where ``∂_1T̂(w, λ, ξ)ᵀ = I - γ(H_ξ + λ2 I)`` and ``m`` is ``mask_bar`` (NSID: ``G``'s
    selection frozen at ``ū``) or, with ``per_sample_mask`` (SID), the selection at
    ``T̂(w, λ, ξ_k) = w - γ(∇f_ξ(w) + λ2 w)``. ``v`` (start value in, ``v_K`` out) is
    updated in place; when ``record`` has ``K`` rows, row ``k`` receives ``v_{k+1}``.
    Stops early when ``‖m ⊙ (v_{k+1} - v_k)‖ <= tol`` (``tol > 0``).

    Only ``m ⊙ v`` enters the next iterate (through ``z``) and NSID's output ``Bᵀv``, so with
    the frozen mask only the active coordinates of ``v`` are computed (the others are left as
    given): a pass over ``|S|`` columns of each row instead of ``p``. SID's mask moves, so it
    updates all of ``v``.

    Returns ``(iterations run, ‖m ⊙ (v_K - v_{K-1})‖)``.
    """
    p = X.shape[1]
    b = batches.shape[1]
    no_offset = X[0, :0]
    no_weights = batches[0, :0]
    mask = mask_bar.copy()
    support = np.flatnonzero(mask)
    z = np.zeros(p)
    g = np.empty(p)
    uk = np.empty(p)
    acc = np.empty(p)
    # NSID: update the active coordinates only; SID: all of them
    outputs = batches[0, :0] if per_sample_mask else support.astype(batches.dtype)
    all_coords = np.arange(p)
    step = 0.0
    k = 0
    while k < etas.shape[0]:
        idx = batches[k]
        if per_sample_mask:
            minibatch_gradient(X, y, idx, w, g)
            for j in range(p):
                uk[j] = w[j] - gamma * (g[j] + lam2 * w[j])
            _active(uk, tau, tie_active, mask)
            support = np.flatnonzero(mask)
        for j in range(p):
            z[j] = v[j] if mask[j] else 0.0
        acc[:] = 0.0
        _gram_product(X, idx, z, support, no_offset, no_weights, outputs, acc)
        eta = etas[k]
        step2 = 0.0
        for j in (all_coords if per_sample_mask else support):
            new = (1.0 - eta) * v[j] + eta * (z[j] - gamma * (acc[j] / b + lam2 * z[j]) + u[j])
            if mask[j]:
                d = float(new) - float(v[j])
                step2 += d * d
            v[j] = new
        step = np.sqrt(step2)
        if record.shape[0] > k:
            record[k] = v
        k += 1
        if tol > 0 and step <= tol:
            break
    return k, step
