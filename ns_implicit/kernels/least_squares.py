"""Kernels of the least-squares gradient step, docs/theory.md §11.2.

``u = w - γ (∇f(w) + λ2 w)`` with ``∇f(w) = H w - b`` (Gram form, ``H = XᵀX/n``,
``b = Xᵀy/n``) and its transpose product ``v - γ (H v + λ2 v)``.
"""

import numpy as np

from ns_implicit._jit import njit
from ns_implicit.kernels.soft_threshold import soft_threshold_entry, soft_threshold_step


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
def gram_soft_threshold_vjp(H, b, w, lam2, gamma, dgamma, tau, tie_active, v, out):
    """Transpose products of the selection of ``S_τ ∘ T`` at ``w`` (tie rule of
    :func:`~ns_implicit.kernels.soft_threshold.soft_threshold_active`), in one compiled call:
    with ``u = T(w)``, ``m``, ``s = sign(u)`` and ``z = m ⊙ v``, writes ``out = ∂_wTᵀ z``
    (= ``Aᵀ v``) and returns ``(<m ⊙ s, v>, <∂_λ2T, z>)``, from which the caller forms
    ``Bᵀ v`` (docs/theory.md §15.1)."""
    p = w.shape[0]
    u, dT, z = np.empty_like(w), np.empty_like(w), np.empty_like(w)
    gram_linearize(H, b, w, lam2, gamma, dgamma, u, dT)
    c_sign, c_T = 0.0, 0.0
    for i in range(p):
        m, signed, _ = soft_threshold_entry(u[i], tau, tie_active)
        z[i] = m * v[i]
        c_sign += signed * v[i]
        c_T += dT[i] * z[i]
    gram_step_jvp(H, z, lam2, gamma, out)
    return c_sign, c_T


@njit
def gram_soft_threshold_jvp(H, b, w, lam2, gamma, dgamma, tau, tie_active, J, out, signed,
                            dT):
    """Forward products of the selection of ``S_τ ∘ T`` at ``w``, in one compiled call: with
    ``u = T(w)``, writes ``out = m ⊙ (∂_wT J)`` (= ``A J``, column by column), ``signed =
    m ⊙ sign(u)`` and ``dT = m ⊙ ∂_λ2T``, from which the caller adds the columns of ``B``
    (docs/theory.md §15.1)."""
    p, k = J.shape
    u, x, y = np.empty_like(w), np.empty_like(w), np.empty_like(w)
    gram_linearize(H, b, w, lam2, gamma, dgamma, u, dT)
    for i in range(p):
        m, s_i, _ = soft_threshold_entry(u[i], tau, tie_active)
        signed[i] = s_i
        u[i] = m  # the mask, in place of u
        dT[i] *= m
    for j in range(k):
        for i in range(p):
            x[i] = J[i, j]
        gram_step_jvp(H, x, lam2, gamma, y)
        for i in range(p):
            out[i, j] = u[i] * y[i]


@njit
def support_equal(a, b):
    """True when ``a`` and ``b`` have the same nonzero pattern."""
    for i in range(a.shape[0]):
        if (a[i] != 0) != (b[i] != 0):
            return False
    return True
