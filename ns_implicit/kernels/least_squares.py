"""Kernels of the least-squares gradient step, docs/theory.md §11.2.

``u = w - γ (∇f(w) + λ2 w)`` with ``∇f(w) = H w - b`` (Gram form, ``H = XᵀX/n``,
``b = Xᵀy/n``) and its transpose product ``v - γ (H v + λ2 v)``.
"""

from ns_implicit._jit import njit
from ns_implicit.kernels.soft_threshold import soft_threshold_step


@njit
def gram_matvec(H, x, out):
    """``out = H x`` for a symmetric ``H`` (C order), visiting only the nonzeros of ``x``.

    ``H x = Σ_{j: x_j ≠ 0} x_j H[j, :]`` costs ``p · nnz(x)``: ISTA iterates and masked
    vectors ``m ⊙ v`` are sparse. Each term is a contiguous axpy (no reduction), so the
    compiled loop vectorises; no BLAS call, hence no BLAS threads.
    """
    p = x.shape[0]
    for i in range(p):
        out[i] = 0.0
    for j in range(p):
        xj = x[j]
        if xj != 0:
            for i in range(p):
                out[i] += H[j, i] * xj


@njit
def gram_step_jvp(H, x, lam2, gamma, out):
    """``out = x - γ(H x + λ2 x)``: the product of ``∂_wT`` (symmetric) with ``x``, in one pass."""
    gram_matvec(H, x, out)
    for i in range(x.shape[0]):
        out[i] = x[i] - gamma * (out[i] + lam2 * x[i])


@njit
def gather_block(H, S, out):
    """``out = H[S, S]`` for sorted-or-not indices ``S``; returns False (``out`` unspecified)
    when an index lies outside ``[0, p)``, so that the caller can defer to NumPy's rules."""
    p = H.shape[0]
    k = S.shape[0]
    for a in range(k):
        if S[a] < 0 or S[a] >= p:
            return False
    for a in range(k):
        i = S[a]
        for c in range(k):
            out[a, c] = H[i, S[c]]
    return True


@njit
def gram_linearize(H, b, w, lam2, gamma, dgamma, value, dT_dlam2):
    """With ``g = H w - b + λ2 w``: ``value = w - γ g`` (= ``T(w, λ)``) and
    ``dT_dlam2 = -γ w - (dγ/dλ2) g`` (= ``∂_λ2 T``), in one pass."""
    gram_matvec(H, w, value)  # H w, overwritten below
    for i in range(w.shape[0]):
        g = (value[i] - b[i]) + lam2 * w[i]
        value[i] = w[i] - gamma * g
        dT_dlam2[i] = -gamma * w[i] - dgamma * g


@njit
def gram_step_value(H, b, w, lam2, gamma, out):
    """``out = T(w) = w - γ(H w - b + λ2 w)``, the gradient step on the Gram form."""
    gram_matvec(H, w, out)
    for i in range(w.shape[0]):
        out[i] = w[i] - gamma * ((out[i] - b[i]) + lam2 * w[i])


@njit
def gram_soft_threshold_step(H, b, w, lam2, gamma, tau, out):
    """One ISTA step on the Gram form, ``out = S_τ(T(w))``, in one compiled call (the fast
    path of the soft-thresholding ∘ least-squares composite); returns
    ``(‖out - w‖₂, support_changed)`` like :func:`~ns_implicit.kernels.soft_threshold.soft_threshold_step`."""
    gram_step_value(H, b, w, lam2, gamma, out)
    return soft_threshold_step(out, tau, w, out)


@njit
def support_equal(a, b):
    """True when ``a`` and ``b`` have the same nonzero pattern."""
    for i in range(a.shape[0]):
        if (a[i] != 0) != (b[i] != 0):
            return False
    return True
