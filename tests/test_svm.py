"""The linear SVM tuned in C through its dual (docs/theory.md §15.9): ``exact`` against the KKT
system on the free set (numpy), five-point differences at certified points, every method
(the box's rows of B at the upper bound included), and the primal weights against
scikit-learn's ``LinearSVC``."""

import warnings

import numpy as np
import pytest

import ns_implicit as ni
from conftest import IMPLICIT_METHODS, UNROLLED_METHODS, assert_method_reaches_exact
from ns_implicit.problems.svm import LinearSVMProblem

N, P = 60, 10


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X, X_val = rng.standard_normal((N, P)), rng.standard_normal((200, P))
    beta = rng.standard_normal(P)
    return X, np.sign(X @ beta + 0.5 * rng.standard_normal(N)), X_val, np.sign(X_val @ beta)


@pytest.fixture(scope="module")
def fitted():
    problem = LinearSVMProblem(*_data())
    C = [0.1]
    return problem, C, problem.solve(C, tol=1e-15, max_iter=2_000_000).w


def _sets(alpha, C):
    return alpha > 0, (alpha > 0) & (alpha < C), alpha == C


def test_exact_equals_the_kkt_system_on_the_free_set(fitted):
    problem, C, alpha = fitted
    X, y, X_val, y_val = _data()
    assert problem.map.at(C).q == 1.0  # n > p: Q is singular, the dual map is averaged
    _, F, U = _sets(alpha, C[0])
    assert F.any() and U.any()  # both free and bounded support vectors
    Q = (y[:, None] * X) @ (y[:, None] * X).T
    # by hand: (Qα)_F = 1 with α_U = C, α_L = 0, so ∂α_F/∂C = -Q_FF⁻¹ Q_FU 1, ∂α_U/∂C = 1
    dalpha = np.zeros(N)
    dalpha[U] = 1.0
    dalpha[F] = -np.linalg.solve(Q[np.ix_(F, F)], Q[np.ix_(F, U)] @ np.ones(U.sum()))
    w = X.T @ (y * alpha)
    z = y_val * (X_val @ w)
    grad_w = -X_val.T @ (y_val * 0.5 * (1 - np.tanh(0.5 * z))) / len(y_val)  # σ(-z) by hand
    g_ref = (y * (X @ grad_w)) @ dalpha
    g = ni.exact(problem.map.at(C), alpha, problem.outer.grad_w(alpha)).value[0]
    assert abs(g - g_ref) <= 1e-9 * abs(g_ref)  # float64 solves, cond(Q_FF) ~ 10


def test_exact_equals_five_point_differences_at_a_certified_point(fitted):
    problem, C, alpha = fitted
    h = 1e-4 * C[0]
    vals = {}
    for s in (-2, -1, 1, 2):
        a_s = problem.solve([C[0] + s * h], tol=1e-15, max_iter=2_000_000).w
        # certified: the same lower / free / upper sets (one smooth piece)
        assert all(np.array_equal(x, y) for x, y in zip(_sets(a_s, C[0] + s * h),
                                                        _sets(alpha, C[0])))
        vals[s] = problem.outer.value(a_s)
    fd = (vals[-2] - 8 * vals[-1] + 8 * vals[1] - vals[2]) / (12 * h)
    g = ni.exact(problem.map.at(C), alpha, problem.outer.grad_w(alpha)).value[0]
    assert abs(g - fd) <= 1e-7 * abs(g)  # O(h⁴) truncation + round-off eps·E/h


@pytest.mark.parametrize("method", IMPLICIT_METHODS + UNROLLED_METHODS)
def test_every_method_reaches_exact(fitted, method):
    problem, C, alpha = fitted
    assert_method_reaches_exact(problem, C, alpha, method)


def test_primal_weights_match_scikit_learn(fitted):
    svm = pytest.importorskip("sklearn.svm")
    problem, C, alpha = fitted
    X, y, _, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear's iteration cap warning at tol 1e-12
        ref = svm.LinearSVC(C=C[0], loss="hinge", fit_intercept=False, dual=True, tol=1e-12,
                            max_iter=10**7, random_state=0).fit(X, y).coef_.ravel()
    w = problem.weights(alpha)
    assert np.abs(w - ref).max() <= 1e-6 * np.abs(ref).max()  # both solvers at 1e-12-level


def test_refusals():
    X, y, X_val, y_val = _data()
    problem = LinearSVMProblem(X, y, X_val, y_val)
    with pytest.raises(ValueError, match="C must be > 0"):
        problem.map.at([0.0])
    with pytest.raises(ValueError, match="y must hold binary labels"):
        LinearSVMProblem(X, y + 2, X_val, y_val)
    with pytest.raises(ValueError, match="X_val must have the same number of columns"):
        LinearSVMProblem(X, y, X_val[:, :3], y_val)


def test_a_dual_variable_at_zero_on_the_margin():
    # a new sample placed exactly on the margin (y x·w = 1 in the library's own arithmetic)
    # with α = 0: the pre-projection value u = α - γ((Qα)_i - 1) is exactly 0, a tie of the box
    # at its lower end. Both vertices (clamped / free) are enumerated; methods follow the tie
    # rule; the one-sided derivatives in C are the two vertices' values.
    from ns_implicit.solvers.fixed_point import Trajectory
    from ns_implicit.theory.sets import implicit_jacobians, selections

    X, y, X_val, y_val = _data(seed=3)
    C = 0.1
    alpha = LinearSVMProblem(X, y, X_val, y_val).solve([C], tol=1e-15, max_iter=2_000_000).w
    w = X.T @ (y * alpha)
    v = np.random.default_rng(7).standard_normal(P)
    x_new = v / (v @ w)  # margin 1 up to round-off; fixed to exactly 1 below, by ulps
    X2, y2, a2 = np.vstack([X, x_new]), np.r_[y, 1.0], np.r_[alpha, 0.0]
    for _ in range(400):
        problem = LinearSVMProblem(X2, y2, X_val, y_val)
        u_new = float(problem.map.at([C]).inner_point(a2)[-1])
        if u_new == 0.0:
            break
        # u_new = -γ(m - 1): a positive u means the margin is below 1, so grow x_new
        X2[-1, -1] = np.nextafter(X2[-1, -1], np.inf if (u_new > 0) == (w[-1] > 0) else -np.inf)
    phi = problem.map.at([C])
    assert float(phi.inner_point(a2)[-1]) == 0.0  # the exact tie
    # a2 is the fixed point of the extended problem to round-off (the new sample has α = 0)
    assert np.linalg.norm(phi(a2) - a2) <= 1e-12 * np.linalg.norm(a2)
    g = problem.outer.grad_w(a2)
    vertices = {bool(np.isin(N, s.rows)): (Jk.T @ g)[0]
                for s, Jk in zip(selections(phi, a2), implicit_jacobians(phi, a2))}
    assert set(vertices) == {False, True} and vertices[False] != vertices[True]
    # one-sided derivatives: re-solved at C ± h, the new sample is free on one side and stays
    # at 0 on the other; on each side the sets are fixed, α affine in C, E smooth: the
    # one-sided three-point formula has an O(h²) error
    h = 1e-6 * C
    sols = {s: problem.solve([C + s * h], w0=a2, tol=1e-15, max_iter=2_000_000).w
            for s in (-2, -1, 1, 2)}
    free_side = 1 if sols[1][-1] > 0 else -1
    assert sols[2 * free_side][-1] > 0 and sols[-free_side][-1] == 0 == sols[-2 * free_side][-1]
    f0 = problem.outer.value(a2)
    d = {s: (-3 * f0 + 4 * problem.outer.value(sols[s]) - problem.outer.value(sols[2 * s]))
         / (2 * s * h) for s in (1, -1)}
    scale = abs(vertices[True]) + abs(vertices[False])
    assert abs(d[free_side] - vertices[True]) <= 1e-5 * scale   # O(h²) + round-off E/h
    assert abs(d[-free_side] - vertices[False]) <= 1e-5 * scale
    traj = Trajectory(phi.dim, phi.dtype)
    for _ in range(8000):  # q_S ≈ 0.99 on the free block: the certified tail needs ~6,000 steps
        traj.append(a2)
    for tie_active in (False, True):
        tied = LinearSVMProblem(X2, y2, X_val, y_val, tie_active=tie_active).map.at([C])
        itd = ni.itd(tied, traj, g)
        assert itd.converged  # its certified tail is below 1e-10
        for name, value in (("exact", ni.exact(tied, a2, g).value[0]),
                            ("aid-cg", ni.aid_cg(tied, a2, g, iters=10_000, tol=1e-13).value[0]),
                            ("aid-fp", ni.aid_fp(tied, a2, g, iters=200_000,
                                                 tol=1e-13).value[0]),
                            ("itd", itd.value[0])):
            assert abs(value - vertices[tie_active]) <= 1e-8 * scale, name
