"""The condition of the nonsmooth implicit function theorem (docs/theory.md §6, §15.6): the
smallest singular value of ``(I - A)[R, R]`` over the selections (``ift_condition``), and the
reciprocal condition estimate that ``exact`` records — positive at a unique solution, zero (to
round-off) where the solution is not unique, where ``exact`` refuses by name."""

import numpy as np
import pytest

import ns_implicit as ni
from conftest import sparse_regression_p_gt_n
from ns_implicit.theory.ift import ift_condition


@pytest.fixture(scope="module")
def lasso():
    problem = ni.LassoProblem(*sparse_regression_p_gt_n(0, 60, 300, 10))
    lam = [0.1 * problem.lam1_max]
    return problem, lam, problem.solve(lam, tol=1e-14, max_iter=500_000).w


def test_ift_condition_is_the_restricted_systems_smallest_singular_value(lasso):
    problem, lam, w = lasso
    phi = problem.map.at(lam)
    X = problem.map.T.X
    S = np.flatnonzero(w)
    # by hand: (I - A)[S, S] = γ X_Sᵀ X_S / n for the lasso
    by_hand = np.linalg.svd(float(phi.gamma) * X[:, S].T @ X[:, S] / X.shape[0],
                            compute_uv=False)[-1]
    assert ift_condition(phi, w) == pytest.approx(by_hand, rel=1e-10)  # two SVDs, round-off


def test_exact_records_the_reciprocal_condition_number(lasso):
    problem, lam, w = lasso
    phi = problem.map.at(lam)
    res = ni.exact(phi, w, problem.outer.grad_w(w))  # q = 1: the check computes it
    M = phi.selection(w).restricted_matrix()
    true = 1.0 / (np.linalg.norm(M, 1) * np.linalg.norm(np.linalg.inv(M), 1))
    # LAPACK's estimator bounds ‖M⁻¹‖₁ from below: the estimate is >= the true rcond, and
    # (Higham's estimator) within a small factor of it; 3 is generous for |S| = 10
    assert true * (1 - 1e-10) <= res.rcond <= 3 * true


@pytest.fixture(scope="module")
def duplicated():
    """A lasso whose active feature 4 appears twice (no unique solution), and the arrays
    without the copy."""
    X0, y, Xv0, y_val = sparse_regression_p_gt_n(1, 60, 40, 10)
    X, X_val = np.column_stack([X0, X0[:, 4]]), np.column_stack([Xv0, Xv0[:, 4]])
    problem = ni.LassoProblem(X, y, X_val, y_val)
    lam = [0.1 * problem.lam1_max]
    w = problem.solve(lam, tol=1e-14, max_iter=500_000).w
    return problem, lam, w, (X0, y, Xv0, y_val)


def test_a_non_unique_solution_fails_the_condition_and_exact_refuses(duplicated):
    problem, lam, w, _ = duplicated
    phi = problem.map.at(lam)
    scale = ift_condition(ni.LassoProblem(*sparse_regression_p_gt_n(1, 60, 40, 10)).map.at(lam),
                          w[:-1])  # the same problem without the copy: well posed
    assert scale > 1e-3
    assert ift_condition(phi, w) <= 1e-12 * scale  # singular up to round-off
    with pytest.raises(ni.NotContractiveError, match="singular"):
        ni.exact(phi, w, problem.outer.grad_w(w))


def test_a_contraction_skips_the_estimate_unless_asked():
    problem = ni.ElasticNetProblem.synthetic()
    phi = problem.map.at([0.02, 0.002])
    w = problem.solve([0.02, 0.002], tol=1e-13).w
    u = problem.outer.grad_w(w)
    assert phi.q < 1 and ni.exact(phi, w, u).rcond is None  # certified by q: not computed
    asked = ni.exact(phi, w, u, condition=True)
    M = phi.selection(w).restricted_matrix()
    true = 1.0 / (np.linalg.norm(M, 1) * np.linalg.norm(np.linalg.inv(M), 1))
    assert true * (1 - 1e-10) <= asked.rcond <= 3 * true  # as above
    # the contraction's guarantee holds: σ_min >= 1 - q, so the 1-norm rcond >= (1 - q)/((1 + q) |R|)
    assert asked.rcond >= (1 - phi.q) / ((1 + phi.q) * len(M))


def test_iterative_methods_at_the_singular_point_return_the_single_copy_hypergradient(
        duplicated):
    # the duplicated column: (I - A)[R, R] is singular, but u = ∇E and the columns of B are
    # symmetric in the two copies, so they are orthogonal to the null space (e_j - e_copy) and
    # Bᵀv is the same for every solution v: the iterative methods converge to the hypergradient
    # of the problem without the copy (E depends on X w only), which exact refuses to guess
    problem, lam, w, single_copy = duplicated
    phi, u = problem.map.at(lam), problem.outer.grad_w(w)
    single = ni.LassoProblem(*single_copy).hypergradient(lam, method="exact", tol=1e-13).value
    for method in (ni.aid_cg, ni.aid_gmres):
        res = method(phi, w, u, iters=10_000, tol=1e-12)
        assert res.converged
        np.testing.assert_allclose(res.value, single, rtol=1e-8)  # conditioning of the rest
