"""The exact hypergradient (docs/theory.md §6 eq. (10), §11.2) against an independent
implicit-function-theorem computation and central finite differences of λ ↦ E(w(λ))."""

import numpy as np
import pytest
import scipy.sparse as sp

import ns_implicit as ni
from conftest import closed_form_jacobian, kink_margin, make_problem

CASES = [  # (n_train, p, lam): p < n, p = n, p > n, and the largest size of the issue
    (60, 20, [0.02, 0.01]),
    (100, 100, [0.02, 0.002]),
    (200, 500, [0.05, 0.1]),
    # the largest size: 7 s of the default suite's 2-minute budget, so under -m slow
    pytest.param(2000, 500, [0.02, 0.01], marks=pytest.mark.slow),
]


def _tight(problem, lam):
    res = problem.solve(lam, tol=1e-14, max_iter=500_000)
    assert res.converged
    return res.w


@pytest.mark.parametrize("n_train,p,lam", CASES)
def test_exact_matches_closed_form(n_train, p, lam):
    problem = make_problem(n_train=n_train, p=p, seed=1)
    phi = problem.map.at(lam)
    w = _tight(problem, lam)
    u = problem.outer.grad_w(w)
    J_ref = closed_form_jacobian(problem.map.T.X, w, lam[1])
    got = ni.exact(phi, w, u).value
    # Both are direct solves of the same well-posed system; differences are round-off
    # amplified by cond(H_SS + λ2 I) (< 1e6 here).
    np.testing.assert_allclose(got, J_ref.T @ u, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ni.exact_jacobian(phi, w).value, J_ref, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("n_train,p,lam", CASES)
def test_exact_matches_central_finite_differences(n_train, p, lam):
    problem = make_problem(n_train=n_train, p=p, seed=1)
    w = _tight(problem, lam)
    phi = problem.map.at(lam)
    assert kink_margin(phi, w) > 1e-6, "test point must have a margin from the kinks"
    sel = phi.selection(w)
    q_S = sel.active_block_norm()
    assert q_S <= 0.99
    grad = problem.hypergradient(lam, method="exact", tol=1e-14, inner_iters=500_000).value
    h = 1e-6
    fd = np.empty(2)
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        wp, wm = _tight(problem, np.add(lam, e)), _tight(problem, np.subtract(lam, e))
        # The FD segment stays on one smooth piece (same support and signs).
        assert np.array_equal(np.sign(wp), np.sign(w)) and np.array_equal(np.sign(wm), np.sign(w))
        fd[i] = (problem.outer.value(wp) - problem.outer.value(wm)) / (2 * h)
    # Error budget: after identification the inner error is <= step · q_S/(1 - q_S) with
    # q_S <= 0.99 (asserted above), so a relative step of 1e-14 leaves w within ~1e-12
    # relative; |ΔE| ~ 1e-12 |E| divided by 2h gives ~1e-6 |E| in the worst case, typically
    # far less; the O(h²) truncation term is ~1e-12. Hence rtol 1e-6 with atol 1e-8 |E|.
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8 * problem.outer.value(w))


def test_exact_is_independent_of_the_step_size():
    # docs/theory.md §13 item 3: (I - A)⁻¹B at the fixed point does not depend on γ.
    problem = make_problem(n_train=80, p=30, seed=2)
    lam = [0.01, 0.02]
    X, y = problem.map.T.X, problem.map.T.y
    w = _tight(problem, lam)
    u = problem.outer.grad_w(w)
    ref = ni.exact(problem.map.at(lam), w, u).value
    for step in (0.5 / problem.map.T.L, 1.0 / problem.map.T.L):
        fixed = ni.ElasticNetMap(X, y, step=step).at(lam)
        # The fixed-step Φ has the same fixed point; only round-off differs.
        np.testing.assert_allclose(ni.exact(fixed, w, u).value, ref, rtol=1e-10)


def test_sparse_design_gives_the_same_hypergradient():
    problem = make_problem(n_train=80, p=40, seed=3)
    T = problem.map.T
    sparse = ni.ElasticNetProblem(sp.csr_matrix(T.X), T.y, problem.outer.X_val, problem.outer.y_val)
    lam = [0.02, 0.01]
    a = problem.hypergradient(lam, tol=1e-13).value
    b = sparse.hypergradient(lam, tol=1e-13).value
    # Same quantities summed in another order (sparse vs dense products) and inner solves
    # stopped at relative step 1e-13: differences ~1e-12, amplified by cond(H_SS + λ2 I) < 1e3.
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_empty_support_is_reported():
    problem = make_problem()
    lam = [2 * problem.lam1_max, 0.01]
    with pytest.raises(ValueError, match="empty support"):
        problem.hypergradient(lam)
    res = problem.hypergradient(lam, allow_empty_support=True)
    np.testing.assert_array_equal(res.value, [0.0, 0.0])
