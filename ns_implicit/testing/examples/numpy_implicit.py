"""A NumPy backend: ISTA, then implicit differentiation with dense matrices (THEORY.md §11.2).

Written from the formulas alone (no ns_implicit internals), as a user would: iterate
``w ← S_{γλ1}(w - γ(∇f(w) + λ2 w))`` with ``γ = 2/(L + μ + 2λ2)`` to a fixed point, form the
selection ``A = diag(m)(I - γ(H + λ2 I))``, ``B = [∂Φ/∂λ1, ∂Φ/∂λ2]`` with ``m = 1[|u| > τ]``, and
return ``Bᵀ v`` with ``(I - A)ᵀ v = ∇E(w)``.
"""

import numpy as np


def hypergradient(X, y, X_val, y_val, lam1, lam2, tol=1e-13, max_iter=100_000):
    n, p = X.shape
    H, b = X.T @ X / n, X.T @ y / n
    ev = np.linalg.eigvalsh(H)
    L, mu = ev[-1], (max(ev[0], 0.0) if n >= p else 0.0)
    gamma = 2.0 / (L + mu + 2.0 * lam2)
    tau = gamma * lam1
    w = np.zeros(p)
    for _ in range(max_iter):
        u = w - gamma * (H @ w - b + lam2 * w)
        w_new = np.sign(u) * np.maximum(np.abs(u) - tau, 0.0)
        done = np.linalg.norm(w_new - w) <= tol * np.linalg.norm(w_new)
        w = w_new
        if done:
            break
    grad = H @ w - b + lam2 * w
    u = w - gamma * grad
    m = (np.abs(u) > tau).astype(float)
    s = np.sign(u)
    A = m[:, None] * (np.eye(p) - gamma * (H + lam2 * np.eye(p)))
    dgamma = -gamma**2
    B = np.column_stack([-gamma * m * s,
                         m * (-gamma * w - dgamma * grad - dgamma * lam1 * s)])
    g = X_val.T @ (X_val @ w - y_val) / X_val.shape[0]
    v = np.linalg.solve((np.eye(p) - A).T, g)
    return B.T @ v
