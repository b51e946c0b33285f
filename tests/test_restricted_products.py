"""Products restricted to the selection's rows (docs/theory.md §15.2): ``(I - A[R, R])ᵀ x_R``
through the columns ``R`` of the design equals the dense restricted matrix's product, and
AID-CG through it gives the hypergradient of the full-dimensional products."""

import numpy as np
import pytest
import scipy.sparse as sp

import ns_implicit as ni
from ns_implicit.methods import get_method
from ns_implicit.steps.least_squares import LeastSquaresStep


def _problem(kind, seed=0):
    rng = np.random.default_rng(seed)
    n, p = (300, 40) if kind == "gram" else (60, 90)
    X = rng.standard_normal((n, p)) + 0.4
    if kind == "sparse":
        X = sp.random(n, p, density=0.2, format="csr", random_state=seed,
                      data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[:5] = rng.standard_normal(5)
    y = X @ w + 0.1 * rng.standard_normal(n)
    X_val, y_val = (X[: n // 3], y[: n // 3])
    intercept = kind != "sparse"
    problem = ni.ElasticNetProblem(X, y, X_val, y_val, fit_intercept=intercept,
                                   gram=(kind == "gram"))
    lam = np.array([0.05 * problem.lam1_max, 0.01])
    return problem, lam


@pytest.mark.parametrize("kind", ["gram", "dense", "sparse"])
def test_the_restricted_operator_is_the_restricted_matrix(kind):
    problem, lam = _problem(kind)
    phi = problem.map.at(lam)
    w = problem.solve(lam, tol=1e-12).w
    sel = phi.selection(w)
    assert len(sel.rows) > 1
    op = sel.restricted_operator()
    M = sel.restricted_matrix()
    x = np.random.default_rng(1).standard_normal(len(sel.rows))
    # two float64 evaluations of (I - γ(H + λ2))ᵀx, |R| <= 90 terms of size γ‖H‖|x|
    np.testing.assert_allclose(op(x), M.T @ x, rtol=0, atol=1e-12 * np.abs(x).sum())


@pytest.mark.parametrize("kind", ["gram", "dense", "sparse"])
def test_aid_cg_through_the_rows_equals_the_exact_hypergradient(kind):
    problem, lam = _problem(kind, seed=2)
    phi = problem.map.at(lam)
    w = problem.solve(lam, tol=1e-13).w
    u = problem.outer.grad_w(w)
    cg = get_method("aid-cg").run(phi, w, u, iters=1000, tol=1e-13)
    ex = get_method("exact").run(phi, w, u)
    assert cg.converged
    # CG to a relative residual of 1e-13 on a system of condition <= (1 + q)/(1 - q) ~ 1e2
    np.testing.assert_allclose(cg.value, ex.value, rtol=1e-9, atol=1e-12)


def test_the_blocks_of_a_centred_design_are_those_of_the_centred_copy():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 50)) + 2.0, rng.standard_normal(30)
    xbar = X.mean(axis=0)
    step = LeastSquaresStep(X, y, gram=False, offset=xbar)
    S = np.array([3, 17, 41], dtype=np.intp)
    Xc = X - xbar
    np.testing.assert_allclose(step.hessian_block(S), Xc[:, S].T @ Xc[:, S] / 30, rtol=1e-13)
    np.testing.assert_allclose(step.restricted_hessian(S)(np.ones(3)),
                               Xc[:, S].T @ Xc[:, S].sum(axis=1) / 30, rtol=1e-13)
