"""A NumPy backend: ISTA, then implicit differentiation with dense matrices (docs/theory.md §11.2).

Written from the formulas alone (no ns_implicit internals), as a user would: iterate
``w ← Φ(w) = S_{γλ1}(w - γ(∇f(w) + λ2 w))`` with ``γ = 2/(L + μ + 2λ2)`` to a fixed point,
form the selection ``A = diag(m)(I - γ(H + λ2 I))``, ``B = [∂Φ/∂λ1, ∂Φ/∂λ2]`` with
``m = 1[|u| > τ]``, and return ``Bᵀ v`` where ``(I - A)ᵀ v = ∇E(w)``.
"""

import numpy as np


def spectrum(H, n):
    """``(L, μ)``: extreme eigenvalues of ``H = XᵀX/n`` (``μ = 0`` when ``p > n``)."""
    ev = np.linalg.eigvalsh(H)
    return ev[-1], (max(ev[0], 0.0) if n >= H.shape[0] else 0.0)


def ista_step(w, H, b, lam1, lam2, gamma):
    """``(Φ(w), u)`` with ``u = w - γ(Hw - b + λ2 w)`` and ``Φ(w) = S_{γλ1}(u)``."""
    u = w - gamma * (H @ w - b + lam2 * w)
    return np.sign(u) * np.maximum(np.abs(u) - gamma * lam1, 0.0), u


def selection(w, H, b, lam1, lam2, gamma, dgamma):
    """Dense ``(A, B)`` of ``Φ`` at ``w`` for a step ``γ(λ2)`` with derivative ``dγ/dλ2``."""
    p = len(w)
    grad = H @ w - b + lam2 * w
    u = w - gamma * grad
    m = (np.abs(u) > gamma * lam1).astype(float)
    s = np.sign(u)
    A = m[:, None] * (np.eye(p) - gamma * (H + lam2 * np.eye(p)))
    # ∂Φ/∂λ2 = m ⊙ (∂u/∂λ2 - s ∂τ/∂λ2), ∂u/∂λ2 = -γw - γ'·grad, ∂τ/∂λ2 = λ1 γ'.
    B = np.column_stack([-gamma * m * s, m * (-gamma * w - dgamma * grad - dgamma * lam1 * s)])
    return A, B


def solve_inner(H, b, lam1, lam2, gamma, tol=1e-13, max_iter=100_000):
    """Fixed-point iteration of :func:`ista_step` from ``w = 0``."""
    w = np.zeros(len(b))
    for _ in range(max_iter):
        w_new, _ = ista_step(w, H, b, lam1, lam2, gamma)
        done = np.linalg.norm(w_new - w) <= tol * np.linalg.norm(w_new)
        w = w_new
        if done:
            break
    return w


def hypergradient(X, y, X_val, y_val, lam1, lam2):
    """``[dE/dlam1, dE/dlam2]`` (the candidate convention of :mod:`ns_implicit.testing`)."""
    n, p = X.shape
    H, b = X.T @ X / n, X.T @ y / n
    L, mu = spectrum(H, n)
    gamma = 2.0 / (L + mu + 2.0 * lam2)
    w = solve_inner(H, b, lam1, lam2, gamma)
    A, B = selection(w, H, b, lam1, lam2, gamma, -gamma**2)
    g = X_val.T @ (X_val @ w - y_val) / X_val.shape[0]
    v = np.linalg.solve((np.eye(p) - A).T, g)
    return B.T @ v
