"""Independent NumPy hypergradients for the kit's non-separable problems (candidate conventions
of ns_implicit.testing.problems), written from the optimality conditions — not from the
library's fixed-point machinery — and one deliberately naive group-lasso backend."""

import numpy as np


def _group_ista(X, y, groups, lam1, iters=200_000, tol=1e-15):
    n, p = X.shape
    H, b = X.T @ X / n, X.T @ y / n
    gamma = 1.0 / np.linalg.eigvalsh(H)[-1]
    labels = np.unique(groups)
    w = np.zeros(p)
    for _ in range(iters):
        u = w - gamma * (H @ w - b)
        new = np.zeros(p)
        for g in labels:
            idx = groups == g
            r = np.linalg.norm(u[idx])
            tau = gamma * lam1 * np.sqrt(idx.sum())
            if r > tau:
                new[idx] = (1 - tau / r) * u[idx]
        if np.linalg.norm(new - w) <= tol * max(np.linalg.norm(new), 1e-300):
            return new, H
        w = new
    return w, H


def group_lasso(X, y, X_val, y_val, groups, lam1):
    """Implicit differentiation of the optimality condition on the active groups S:
    ``H_S w_S - b_S + λ1 ω_g w_g/‖w_g‖ = 0`` ⇒ ``(H_SS + λ1 D) dw_S = -(ω_g w_g/‖w_g‖)_S``
    with ``D = blockdiag(ω_g (I - ŵŵᵀ)/‖w_g‖)``."""
    w, H = _group_ista(X, y, groups, lam1)
    # a group on its threshold may come out of ISTA at ‖w_g‖ ~ 1e-16: its direction is noise,
    # so groups below 1e-9 of the largest are taken as inactive (the other vertex at a kink)
    norms = {g: np.linalg.norm(w[groups == g]) for g in np.unique(groups)}
    top = max(norms.values())
    for g, r in norms.items():
        if r <= 1e-9 * top:
            w[groups == g] = 0.0
    S = np.flatnonzero(w)
    D = np.zeros((len(S), len(S)))
    rhs = np.zeros(len(S))
    pos = {j: k for k, j in enumerate(S)}
    for g in np.unique(groups[S]):
        idx = np.flatnonzero(groups == g)
        k = [pos[j] for j in idx]
        r = np.linalg.norm(w[idx])
        wh = w[idx] / r
        om = np.sqrt(len(idx))
        D[np.ix_(k, k)] = om * (np.eye(len(idx)) - np.outer(wh, wh)) / r
        rhs[k] = -om * wh
    dw = np.linalg.solve(H[np.ix_(S, S)] + lam1 * D, rhs)
    grad = X_val.T @ (X_val @ w - y_val) / len(y_val)
    return [float(grad[S] @ dw)]


def naive_group_lasso(X, y, X_val, y_val, groups, lam1):
    """The same implicit differentiation, but the Jacobian of ``u ↦ u·max(0, 1 - τ/‖u‖)`` is
    taken by the chain rule through ``u/‖u‖`` for every group, as autodiff does: 0/0 = NaN at
    a group with ``u_g = 0``, which then spreads through the linear solve."""
    n = X.shape[0]
    w, H = _group_ista(X, y, groups, lam1)
    gamma = 1.0 / np.linalg.eigvalsh(H)[-1]
    u = w - gamma * (H @ w - X.T @ y / n)
    p = len(w)
    A_G, B_G = np.zeros((p, p)), np.zeros(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        for g in np.unique(groups):
            idx = np.flatnonzero(groups == g)
            ug, r = u[idx], np.linalg.norm(u[idx])
            tau = gamma * lam1 * np.sqrt(len(idx))
            unit = ug / r                            # NaN at u_g = 0
            on = float(1 - tau / r > 0)
            A_G[np.ix_(idx, idx)] = max(0.0, 1 - tau / r) * np.eye(len(idx)) \
                + on * (tau / r) * np.outer(unit, unit)
            B_G[idx] = -on * gamma * np.sqrt(len(idx)) * unit
        A = A_G @ (np.eye(p) - gamma * H)
        grad = X_val.T @ (X_val @ w - y_val) / len(y_val)
        v = np.linalg.solve(np.eye(p) - A.T, grad)
    return [float(B_G @ v)]


def _projected_gradient(X, y, project, iters=500_000, tol=1e-15):
    n, p = X.shape
    H, b = X.T @ X / n, X.T @ y / n
    gamma = 1.0 / np.linalg.eigvalsh(H)[-1]
    w = project(np.zeros(p))
    for _ in range(iters):
        new = project(w - gamma * (H @ w - b))
        if np.linalg.norm(new - w) <= tol * max(np.linalg.norm(new), 1e-300):
            return new, H
        w = new
    return w, H


def _simplex(u, r):
    z = np.sort(u)[::-1]
    k = np.arange(1, len(u) + 1)
    t = (np.cumsum(z) - r) / k
    rho = np.max(np.flatnonzero(z - t > 0))
    return np.maximum(u - t[rho], 0.0)


def _kkt_derivative(H, sigma, S):
    """``dw_S/dr`` from the KKT system of ``min ½wᵀHw - bᵀw`` s.t. ``σᵀw_S = r``."""
    m = len(S)
    K = np.zeros((m + 1, m + 1))
    K[:m, :m] = H[np.ix_(S, S)]
    K[:m, m] = K[m, :m] = sigma
    return np.linalg.solve(K, np.r_[np.zeros(m), 1.0])[:m]


def simplex_ls(X, y, X_val, y_val, radius):
    w, H = _projected_gradient(X, y, lambda u: _simplex(u, radius))
    S = np.flatnonzero(w > 0)
    dw = _kkt_derivative(H, np.ones(len(S)), S)
    grad = X_val.T @ (X_val @ w - y_val) / len(y_val)
    return [float(grad[S] @ dw)]


def l1_ball_ls(X, y, X_val, y_val, radius):
    def project(u):
        return u if np.abs(u).sum() <= radius else np.sign(u) * _simplex(np.abs(u), radius)

    w, H = _projected_gradient(X, y, project)
    if np.abs(w).sum() < radius * (1 - 1e-9):
        return [0.0]  # the constraint does not bind
    S = np.flatnonzero(w)
    dw = _kkt_derivative(H, np.sign(w[S]), S)
    grad = X_val.T @ (X_val @ w - y_val) / len(y_val)
    return [float(grad[S] @ dw)]


CANDIDATES = {"group-lasso": group_lasso, "simplex-ls": simplex_ls, "l1-ball-ls": l1_ball_ls}
