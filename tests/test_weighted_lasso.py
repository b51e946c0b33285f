"""The weighted lasso (one ℓ1 weight per feature, docs/theory.md §15.4(a), §15.6), p > n:
``exact`` against the normal equations on the support and certified finite differences, every
method against ``exact``, the exact tie at a feature's entry point (both vertices, one-sided
differences), and the weighted elastic net against the elastic net at equal weights."""

import numpy as np
import pytest

import ns_implicit as ni
from conftest import (IMPLICIT_METHODS, UNROLLED_METHODS, assert_method_reaches_exact,
                      sparse_regression_p_gt_n)
from ns_implicit.solvers.fixed_point import Trajectory
from ns_implicit.theory.sets import implicit_jacobians, selections

N, P = 40, 80


def _data(seed=0, n=N, p=P, k=6, dtype=np.float64):
    return sparse_regression_p_gt_n(seed, n, p, k, dtype=dtype)


@pytest.fixture(scope="module")
def setting():
    problem = ni.WeightedLassoProblem(*_data())
    rng = np.random.default_rng(1)
    lam = 0.2 * problem.lam1_max * np.exp(0.3 * rng.standard_normal(P))
    w = problem.solve(lam, tol=1e-14, max_iter=1_000_000).w
    return problem, lam, w


def test_exact_equals_the_normal_equations_on_the_support(setting):
    problem, lam, w = setting
    X, y, X_val, y_val = _data()
    assert problem.map.at(lam).q == 1.0 and problem.map.n_hyper == P
    S = np.flatnonzero(w)
    s = np.sign(w[S])
    G = X[:, S].T @ X[:, S]
    # by hand: X_Sᵀ(X_S w_S - y)/n + λ_S ⊙ s = 0, so ∂w_S/∂λ_j = -n G⁻¹ e_j s_j (j ∈ S), 0 off S
    w_S = np.linalg.solve(G, X[:, S].T @ y - N * lam[S] * s)
    np.testing.assert_allclose(w[S], w_S, rtol=1e-9)  # ISTA tol 1e-14 × cond(G)
    grad_E = X_val.T @ (X_val @ w - y_val) / X_val.shape[0]
    g_ref = np.zeros(P)
    g_ref[S] = -N * s * np.linalg.solve(G, grad_E[S])
    g = ni.exact(problem.map.at(lam), w, problem.outer.grad_w(w)).value
    np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-12 * np.abs(g_ref).max())


def test_exact_equals_central_differences_at_certified_points(setting):
    problem, lam, w = setting
    g = ni.exact(problem.map.at(lam), w, problem.outer.grad_w(w)).value
    for j in (int(np.flatnonzero(w)[0]), int(np.flatnonzero(w)[-1]), int(np.flatnonzero(w == 0)[0])):
        h = 1e-4 * lam[j]
        e = np.zeros(P)
        e[j] = h
        ws = [problem.solve(lam + d * e, tol=1e-14, max_iter=1_000_000).w for d in (-1, 1)]
        # certified: one sign pattern on [λ - h e_j, λ + h e_j], where E(w(λ)) is quadratic
        assert all(np.array_equal(np.sign(v), np.sign(w)) for v in ws)
        fd = (problem.outer.value(ws[1]) - problem.outer.value(ws[0])) / (2 * h)
        assert abs(g[j] - fd) <= 1e-7 * np.abs(g).max()  # round-off of E/h and of the solves


@pytest.mark.parametrize("method", IMPLICIT_METHODS + UNROLLED_METHODS)
def test_every_method_reaches_exact(setting, method):
    problem, lam, w = setting
    assert_method_reaches_exact(problem, lam, w, method)


def _tie(problem, lam, w):
    """λ with feature ``j`` (inactive at ``w``) exactly at its entry point ``γλ_j = |u_j|``;
    ``w`` stays the fixed point (``w`` does not depend on ``λ_j`` while ``j`` is inactive)."""
    phi = problem.map.at(lam)
    u = phi.inner_point(w)
    j = int(np.argmax(np.where(w == 0, np.abs(u), -1.0)))  # the next feature to enter
    lam = lam.copy()
    lam[j] = abs(u[j]) / float(phi.gamma)
    for _ in range(200):
        tau = float(problem.map.at(lam).gamma * lam[j])
        if tau == abs(u[j]):
            return lam, j
        lam[j] = np.nextafter(lam[j], np.inf if tau < abs(u[j]) else -np.inf)
    raise AssertionError("no λ_j puts the threshold exactly on the tie")


def test_methods_at_an_entry_point_tie_return_the_vertices_of_the_one_sided_derivatives(setting):
    problem, lam0, w0 = setting
    lam, j = _tie(problem, lam0, w0)
    w = problem.solve(lam, tol=1e-14, max_iter=1_000_000).w
    assert w[j] == 0 and np.array_equal(w != 0, w0 != 0)
    phi, u = problem.map.at(lam), problem.outer.grad_w(w)
    vertices = {bool(np.isin(j, s.rows)): Jk.T @ u
                for s, Jk in zip(selections(phi, w), implicit_jacobians(phi, w))}
    assert set(vertices) == {False, True}
    # one-sided derivatives in λ_j: above the tie j stays out (w is constant: derivative 0);
    # below it j enters and w is affine in λ_j on [λ_j - 2h, λ_j] (certified: one sign pattern
    # there), so the one-sided three-point formula is exact for the quadratic E(w(λ))
    h = 1e-5 * lam[j]
    e = np.zeros(P)
    e[j] = 1.0
    f = {d: problem.outer.value(problem.solve(lam + d * h * e, tol=1e-14,
                                              max_iter=1_000_000).w) for d in (-2, -1, 1)}
    below = [problem.solve(lam + d * h * e, tol=1e-14, max_iter=1_000_000).w for d in (-2, -1)]
    assert all(v[j] != 0 and np.array_equal(np.sign(v), np.sign(below[0])) for v in below)
    f0 = problem.outer.value(w)
    right = (f[1] - f0) / h
    left = (3 * f0 - 4 * f[-1] + f[-2]) / (2 * h)
    scale = np.abs(vertices[True]).max()
    assert abs(right - vertices[False][j]) <= 1e-7 * scale  # round-off of E / h
    assert abs(left - vertices[True][j]) <= 1e-6 * scale   # same, with the 3-point weights
    traj = Trajectory(phi.dim, phi.dtype)
    for _ in range(3000):  # ITD through a trajectory sitting on the tie
        traj.append(w)
    for tie_active in (False, True):
        tied = ni.WeightedLassoProblem(*_data(), tie_active=tie_active).map.at(lam)
        got = {"exact": ni.exact(tied, w, u).value,
               "aid-cg": ni.aid_cg(tied, w, u, iters=10_000, tol=1e-13).value,
               "aid-fp": ni.aid_fp(tied, w, u, iters=100_000, tol=1e-13).value,
               "itd": ni.itd(tied, traj, u).value}
        for name, g in got.items():  # the vertex of the tie rule; conditioning ~1e2-1e3
            np.testing.assert_allclose(g, vertices[tie_active], rtol=1e-8,
                                       atol=1e-10 * scale, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_elastic_net_at_equal_weights_is_the_elastic_net(dtype):
    # λ = (c, …, c, λ2): the same inner problem as the elastic net (c, λ2), so
    # Σ_j ∂E/∂λ_j = ∂E/∂λ1 and ∂E/∂λ2 agree (the steps differ: the implicit derivative does not)
    data = ni.make_sparse_regression(n_samples=300, n_features=20, n_informative=5, seed=4,
                                     dtype=dtype)
    weighted = ni.WeightedLassoProblem(data.X, data.y, data.X_val, data.y_val, lam2=None)
    enet = ni.ElasticNetProblem(data.X, data.y, data.X_val, data.y_val)
    c, lam2 = 0.1 * enet.lam1_max, 0.01
    lam = np.r_[np.full(20, c), lam2]
    assert weighted.map.n_hyper == 21
    tol = 1e-14 if dtype == np.float64 else 1e-6
    w = enet.solve([c, lam2], tol=tol, max_iter=100_000).w
    u = enet.outer.grad_w(w)
    g = ni.exact(weighted.map.at(lam), w, u).value
    g_enet = ni.exact(enet.map.at([c, lam2]), w, u).value
    assert g.dtype == dtype
    rtol = 1e-10 if dtype == np.float64 else 1e-4  # one solve, two orders of summation
    np.testing.assert_allclose([g[:-1].sum(), g[-1]], g_enet, rtol=rtol)
