"""Seeded instances of least squares over the simplex or the ℓ1 ball for the bound checks,
generic or at a kink (docs/theory.md §15.11).

The map is the projection after the paper's least-squares step with a fixed ridge weight
``λ2 > 0`` and the exact spectrum; ``λ = (r,)``. On a fixed support ``S`` with signs ``σ`` the
solution is affine in ``r``: the KKT system ``(H + λ2 I)_{SS} w_S + νσ = b_S``, ``σᵀw_S = r``.
The kinks are the ``r`` where an entry of ``w_S`` reaches 0 (it leaves) or an entry outside
meets the threshold, ``-σ_i c_i = ν`` with ``c = (H + λ2 I)w - b`` (it enters; for the ball
either sign). :func:`projection_kink_instance` walks from ``r`` to the nearest of them; the
solution there is the closed form, so the tie holds to round-off.
"""

import numpy as np

from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.l1_ball import L1BallProjection
from ns_implicit.operators.simplex import SimplexProjection
from ns_implicit.solvers.fixed_point import fixed_point_iteration
from ns_implicit.steps.least_squares import LeastSquaresStep
from ns_implicit.theory.instances import KINK_TIE_TOL, DegenerateKinkError, Instance, make_data


def projection_map(X, y, kind, lam2):
    """``P_C ∘ T`` with ``C`` the simplex (``kind="simplex"``) or the ℓ1 ball (``"l1-ball"``)."""
    G = SimplexProjection() if kind == "simplex" else L1BallProjection()
    return CompositeMap(G, LeastSquaresStep(X, y, step="paper", lam2=lam2, spectrum="exact"))


def _kkt(Hp, b, S, sigma):
    """``(w_S, ν)`` as affine functions of ``r``: returns ``(w0, w1, nu0, nu1)``."""
    m = len(S)
    K = np.zeros((m + 1, m + 1))
    K[:m, :m] = Hp[np.ix_(S, S)]
    K[:m, m] = K[m, :m] = sigma
    rhs = np.zeros((m + 1, 2))
    rhs[:m, 0] = b[S]
    rhs[m, 1] = 1.0
    sol = np.linalg.solve(K, rhs)
    return sol[:m, 0], sol[:m, 1], sol[m, 0], sol[m, 1]


def _instance(pmap, r, w, kind, tie_tol, seed):
    phi = pmap.at([r])
    ties = phi.G.ties(phi.inner_point(w), phi.lam_G, phi.gamma, tie_tol)
    u = np.asarray(phi.inner_point(w), dtype=np.float64)
    a = np.abs(u) if isinstance(phi.G, L1BallProjection) else u
    gap = float(np.max(np.abs(a[ties] - phi.G.theta(u, phi.lam_G))) / r) if len(ties) else 0.0
    return Instance(pmap, phi, np.asarray(phi.lam, dtype=np.float64), w, kind, tie_tol,
                    tuple(int(i) for i in ties), gap, seed)


def projection_kink_instance(pmap, r, *, seed=None, tie_tol=KINK_TIE_TOL):
    """The instance at the kink nearest to ``r`` along the path (module docstring)."""
    T = pmap.T
    Hp = np.asarray(T.X, dtype=np.float64)
    Hp = Hp.T @ Hp / T.n + T.ridge(()) * np.eye(T.dim)
    b = np.asarray(T.b, dtype=np.float64)
    w = fixed_point_iteration(pmap.at([r]), tol=1e-15, max_iter=1_000_000).w
    S = np.flatnonzero(w)
    ball = isinstance(pmap.G, L1BallProjection)
    if not len(S) or (ball and np.abs(w).sum() < r * (1 - 1e-9)):
        raise DegenerateKinkError(f"the constraint does not bind at radius {r:.6g}.")
    sigma = np.sign(w[S]) if ball else np.ones(len(S))
    w0, w1, nu0, nu1 = _kkt(Hp, b, S, sigma)
    out = np.setdiff1d(np.arange(T.dim), S)
    # c_out(r) = (H'w - b)_out, affine; entering when -σ c_i = ν (σ = ±1 for the ball)
    c0 = Hp[np.ix_(out, S)] @ w0 - b[out]
    c1 = Hp[np.ix_(out, S)] @ w1
    crossings = []  # (r_k, kind, index)
    for i, (a0, a1) in enumerate(zip(w0, w1)):   # w_i(r) = 0
        if a1 != 0:
            crossings.append((-a0 / a1, "leave", S[i]))
    for sgn in ((1.0, -1.0) if ball else (1.0,)):  # -sgn·c_i(r) = ν(r)
        for i, (a0, a1) in enumerate(zip(c0, c1)):
            d = -sgn * a1 - nu1
            if d != 0:
                crossings.append(((nu0 + sgn * a0) / d, "enter", out[i]))
    near = [c for c in crossings if c[0] > 0 and abs(c[0] - r) > 1e-12 * r]
    if ball:  # the constraint stops binding where ν = 0 (the sphere): not constructed here
        near = [c for c in near if nu0 + nu1 * c[0] > 0]
    if not near:
        raise DegenerateKinkError(f"no kink on the path through radius {r:.6g}.")
    r_k, _, j = min(near, key=lambda c: abs(c[0] - r))  # the nearest: still on this piece
    w = np.zeros(T.dim)
    w[S] = w0 + w1 * r_k
    if j in S:
        w[j] = 0.0
    inst = _instance(pmap, r_k, w.astype(pmap.dtype), "kink", tie_tol, seed)
    if j not in inst.ties or len(inst.ties) != 1:
        raise DegenerateKinkError(f"the kink at radius {r_k:.6g} is not a single clean tie "
                                  f"(ties {inst.ties}, expected ({j},)).")
    return inst


def random_projection_instance(seed, *, kind="simplex", n_train=20, p=5, radius_ratio=0.5,
                               lam2=0.1, at_kink=False):
    """Seeded data (the paper's generator); the radius is ``radius_ratio`` times the ℓ1 norm of
    the ridge solution (so that the ball binds; the simplex always does)."""
    X, y = make_data(seed, n_train, p)
    if kind == "simplex":
        y = np.abs(y)
    pmap = projection_map(X, y, kind, lam2)
    T = pmap.T
    ridge = np.linalg.solve(np.asarray(T.X).T @ np.asarray(T.X) / T.n + lam2 * np.eye(p),
                            np.asarray(T.b, dtype=np.float64))
    r = float(radius_ratio * max(np.abs(ridge).sum(), 1e-3))
    if at_kink:
        return projection_kink_instance(pmap, r, seed=seed)
    w = fixed_point_iteration(pmap.at([r]), tol=1e-15, max_iter=1_000_000).w
    return _instance(pmap, r, w, "generic", 0.0, seed)
