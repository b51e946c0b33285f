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
