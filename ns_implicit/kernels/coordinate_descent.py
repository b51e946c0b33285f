"""Cyclic coordinate descent for separable penalties after a least-squares data term,
docs/theory.md §16.2.

Problem: ``min_w ‖Xw - y‖²/(2n) + (λ2/2)‖w‖² + Σ_j λ_j |w_j|`` (``nonneg``: ``+ Σ_j λ_j w_j``
with ``w >= 0``). One coordinate update is the exact minimisation along ``e_j``:

    a_j = H_jj + λ2,   z = w_j - (∇_j f(w) + λ2 w_j) / a_j,   w_j ← prox_{λ_j/a_j}(z),

with soft-thresholding (or ``max(z - λ_j/a_j, 0)`` for ``nonneg``). Three layouts keep
``∇f`` cheap: the Gram form (``g = H w - b`` maintained, ``p`` per change), a dense design in
Fortran order and a CSC design (the residual ``r = y - X w`` maintained, ``n`` resp.
``nnz(X_j)`` per coordinate). Each kernel alternates full sweeps with sweeps over the
current support (an active set: the zero coordinates are revisited by the next full sweep,
which alone can stop the loop). Stopping rule: a full sweep whose update ``δ`` satisfies
``‖δ‖ <= eps``. No BLAS call, hence no BLAS thread.
"""

import numpy as np

from ns_implicit._jit import njit


@njit
def _prox(z, thr, nonneg):
    """``prox`` of ``thr·|·|`` (``nonneg``: of ``thr·x + ι_{x>=0}``) at ``z``."""
    if nonneg:
        return z - thr if z > thr else 0.0
    if z > thr:
        return z - thr
    if z < -thr:
        return z + thr
    return 0.0


@njit
def _gram_update(H, grad, w, j, lam, lam2, nonneg):
    """One coordinate of the Gram form (``grad = H w - b`` kept up to date); returns ``δ``."""
    a = H[j, j] + lam2
    if a <= 0.0:
        return 0.0
    old = w[j]
    new = _prox(old - (grad[j] + lam2 * old) / a, lam[j] / a, nonneg)
    d = new - old
    if d != 0.0:
        w[j] = new
        for i in range(grad.shape[0]):
            grad[i] += H[j, i] * d
    return d


@njit
def cd_gram(H, b, w, grad, lam, lam2, nonneg, eps, max_sweeps):
    """Coordinate descent on the Gram form: ``grad = H w - b`` on entry, kept up to date.

    ``H`` symmetric in C order (row ``j`` read as column ``j``). Returns ``(sweeps, last)``:
    the number of sweeps over coordinates (full or active) and ``‖δ‖`` of the last full one.
    """
    p = w.shape[0]
    sweeps = 0
    last = np.inf
    active = np.empty(p, dtype=np.int64)
    while sweeps < max_sweeps:
        # one full sweep
        sq = 0.0
        for j in range(p):
            d = _gram_update(H, grad, w, j, lam, lam2, nonneg)
            sq += d * d
        sweeps += 1
        last = np.sqrt(sq)
        if last <= eps:
            break
        # sweeps over the support until it settles
        k = 0
        for j in range(p):
            if w[j] != 0.0:
                active[k] = j
                k += 1
        while sweeps < max_sweeps:
            sq = 0.0
            for t in range(k):
                d = _gram_update(H, grad, w, active[t], lam, lam2, nonneg)
                sq += d * d
            sweeps += 1
            if np.sqrt(sq) <= 0.1 * eps:
                break
    return sweeps, last


@njit
def _dense_update(X, r, w, j, colsq, lam, lam2, inv_n, nonneg):
    """One coordinate of the dense residual form; returns ``δ``."""
    a = colsq[j] * inv_n + lam2
    if a <= 0.0:
        return 0.0
    n = X.shape[0]
    # four partial sums: independent chains the compiler can keep in flight (no fastmath)
    s0 = s1 = s2 = s3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        s0 += X[i, j] * r[i]
        s1 += X[i + 1, j] * r[i + 1]
        s2 += X[i + 2, j] * r[i + 2]
        s3 += X[i + 3, j] * r[i + 3]
    for i in range(m, n):
        s0 += X[i, j] * r[i]
    s = (s0 + s1) + (s2 + s3)
    old = w[j]
    new = _prox(old - (-s * inv_n + lam2 * old) / a, lam[j] / a, nonneg)
    d = new - old
    if d != 0.0:
        w[j] = new
        for i in range(n):
            r[i] -= X[i, j] * d
    return d


@njit
def cd_dense(X, r, w, colsq, lam, lam2, nonneg, eps, max_sweeps):
    """Coordinate descent on a dense ``X`` (Fortran order: columns contiguous) with the
    residual ``r = y - X w`` kept up to date; ``colsq[j] = ‖X_j‖²``. Returns ``(sweeps, last)``."""
    n, p = X.shape
    inv_n = 1.0 / n
    sweeps = 0
    last = np.inf
    active = np.empty(p, dtype=np.int64)
    while sweeps < max_sweeps:
        sq = 0.0
        for j in range(p):
            d = _dense_update(X, r, w, j, colsq, lam, lam2, inv_n, nonneg)
            sq += d * d
        sweeps += 1
        last = np.sqrt(sq)
        if last <= eps:
            break
        k = 0
        for j in range(p):
            if w[j] != 0.0:
                active[k] = j
                k += 1
        while sweeps < max_sweeps:
            sq = 0.0
            for t in range(k):
                d = _dense_update(X, r, w, active[t], colsq, lam, lam2, inv_n, nonneg)
                sq += d * d
            sweeps += 1
            if np.sqrt(sq) <= 0.1 * eps:
                break
    return sweeps, last


@njit
def _sparse_update(indptr, indices, data, r, w, j, colsq, lam, lam2, inv_n, nonneg):
    """One coordinate of the CSC residual form; returns ``δ``."""
    a = colsq[j] * inv_n + lam2
    if a <= 0.0:
        return 0.0
    lo, hi = indptr[j], indptr[j + 1]
    s0 = s1 = 0.0  # two independent chains of gathers
    m = lo + (hi - lo) // 2 * 2
    for k in range(lo, m, 2):
        s0 += data[k] * r[indices[k]]
        s1 += data[k + 1] * r[indices[k + 1]]
    for k in range(m, hi):
        s0 += data[k] * r[indices[k]]
    s = s0 + s1
    old = w[j]
    new = _prox(old - (-s * inv_n + lam2 * old) / a, lam[j] / a, nonneg)
    d = new - old
    if d != 0.0:
        w[j] = new
        for k in range(indptr[j], indptr[j + 1]):
            r[indices[k]] -= data[k] * d
    return d


@njit
def cd_csc(indptr, indices, data, n, r, w, colsq, lam, lam2, nonneg, eps, max_sweeps):
    """Coordinate descent on a CSC design (``indptr, indices, data``, ``n`` rows) with the
    residual ``r = y - X w`` kept up to date. Returns ``(sweeps, last)``."""
    p = w.shape[0]
    inv_n = 1.0 / n
    sweeps = 0
    last = np.inf
    active = np.empty(p, dtype=np.int64)
    while sweeps < max_sweeps:
        sq = 0.0
        for j in range(p):
            d = _sparse_update(indptr, indices, data, r, w, j, colsq, lam, lam2, inv_n, nonneg)
            sq += d * d
        sweeps += 1
        last = np.sqrt(sq)
        if last <= eps:
            break
        k = 0
        for j in range(p):
            if w[j] != 0.0:
                active[k] = j
                k += 1
        while sweeps < max_sweeps:
            sq = 0.0
            for t in range(k):
                d = _sparse_update(indptr, indices, data, r, w, active[t], colsq, lam, lam2,
                                   inv_n, nonneg)
                sq += d * d
            sweeps += 1
            if np.sqrt(sq) <= 0.1 * eps:
                break
    return sweeps, last
