"""The nonnegative lasso (docs/theory.md §15.4(b), §15.6), p > n: ``exact`` against the
normal equations on the support, certified central differences and every method. (The
operator's ties and vertices are checked in tests/test_operators.py.)"""

import numpy as np
import pytest

import ns_implicit as ni
from conftest import IMPLICIT_METHODS, UNROLLED_METHODS, assert_method_reaches_exact
from ns_implicit.problems.nonneg_lasso import NonnegativeLassoProblem

N, P = 50, 120


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X, X_val = rng.standard_normal((N, P)), rng.standard_normal((100, P))
    beta = np.zeros(P)
    beta[:8] = np.abs(2.0 * rng.standard_normal(8))  # a nonnegative truth
    return (X, X @ beta + 0.1 * rng.standard_normal(N), X_val,
            X_val @ beta + 0.1 * rng.standard_normal(100))


@pytest.fixture(scope="module")
def fitted():
    problem = NonnegativeLassoProblem(*_data())
    lam = [0.1 * problem.lam1_max]
    return problem, lam, problem.solve(lam, tol=1e-14, max_iter=1_000_000).w


def test_exact_equals_the_normal_equations_on_the_support(fitted):
    problem, lam, w = fitted
    X, y, X_val, y_val = _data()
    assert problem.map.at(lam).q == 1.0 and np.all(w >= 0)
    S = np.flatnonzero(w)
    G = X[:, S].T @ X[:, S]
    # by hand: X_Sᵀ(X_S w_S - y)/n + λ1 = 0 on S (w_S > 0), so ∂w_S/∂λ1 = -n G⁻¹ 1
    np.testing.assert_allclose(w[S], np.linalg.solve(G, X[:, S].T @ y - N * lam[0]), rtol=1e-9)
    grad_E = X_val.T @ (X_val @ w - y_val) / X_val.shape[0]
    g_ref = grad_E[S] @ (-N * np.linalg.solve(G, np.ones(len(S))))
    g = ni.exact(problem.map.at(lam), w, problem.outer.grad_w(w)).value[0]
    assert abs(g - g_ref) <= 1e-8 * abs(g_ref)  # float64 solves, cond(G) ~ 1e2


def test_exact_equals_central_differences_at_a_certified_point(fitted):
    problem, lam, w = fitted
    h = 1e-4 * lam[0]
    ws = [problem.solve([lam[0] + d], tol=1e-14, max_iter=1_000_000).w for d in (-h, h)]
    assert all(np.array_equal(v > 0, w > 0) for v in ws)  # one piece: E quadratic in λ1
    fd = (problem.outer.value(ws[1]) - problem.outer.value(ws[0])) / (2 * h)
    g = ni.exact(problem.map.at(lam), w, problem.outer.grad_w(w)).value[0]
    assert abs(g - fd) <= 1e-7 * abs(g)  # round-off of E/h only


@pytest.mark.parametrize("method", IMPLICIT_METHODS + UNROLLED_METHODS)
def test_every_method_reaches_exact(fitted, method):
    problem, lam, w = fitted
    assert_method_reaches_exact(problem, lam, w, method)
