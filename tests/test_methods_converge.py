"""ITD, AID-FP, AID-CG, AID-GMRES converge to `exact` (docs/theory.md §7–§8, §13 items 4–6, 9)."""

import warnings

import numpy as np
import pytest

import ns_implicit as ni
from conftest import make_problem

LAM = [0.02, 0.002]


@pytest.fixture(scope="module")
def paper_problem():
    # The paper's Figure-1 setting (docs/theory.md §12.2): n_train = p = 100, q ≈ 0.999, q_S ≈ 0.93.
    return ni.ElasticNetProblem.synthetic()


@pytest.fixture(scope="module")
def reference(paper_problem):
    return paper_problem.hypergradient(LAM, method="exact", tol=1e-14, inner_iters=500_000).value


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("method", ["itd", "itd-forward", "aid-fp", "aid-cg", "aid-gmres"])
def test_error_falls_to_1e_8_as_budget_grows(paper_problem, reference, method):
    errors = []
    for budget in (150, 300, 100_000):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ni.EarlyStopWarning)
            if method.startswith("itd"):
                res = paper_problem.hypergradient(LAM, method=method, inner_iters=budget, tol=1e-14)
            else:
                res = paper_problem.hypergradient(LAM, method=method, inner_iters=budget,
                                                  linsys_iters=budget, tol=1e-14)
        errors.append(_rel(res.value, reference))
    assert errors[-1] <= 1e-8  # the rate itself: tests/test_mutants_replaced.py


def test_aid_fp_converges_at_the_active_block_rate(paper_problem):
    # At w*, v_k - v* = (A_SSᵀ)^k (0 - v*) and A_SS is symmetric, so
    # ‖ĝ_k - ĝ*‖ <= ‖B_S‖ ‖v*_S‖ q_S^k (a proven bound) and the observed rate is q_S.
    phi = paper_problem.map.at(LAM)
    w = paper_problem.solve(LAM, tol=1e-15, max_iter=500_000).w
    u = paper_problem.outer.grad_w(w)
    sel = phi.selection(w)
    S = sel.active
    A_SS = np.eye(len(S)) - sel.restricted_matrix()
    q_S = sel.active_block_norm()
    assert q_S < phi.q  # the active block contracts faster than the global bound
    g_star = ni.exact(phi, w, u).value
    v_S = np.linalg.solve(np.eye(len(S)) - A_SS.T, u[S])
    B_S = np.column_stack([sel.B(e)[S] for e in np.eye(2)])
    res = ni.aid_fp(phi, w, u, iters=400, tol=0.0, history=True)
    errors = np.array([np.linalg.norm(g - g_star) for g in res.history])
    k = np.arange(1, len(errors) + 1)
    bound = np.linalg.norm(B_S, 2) * np.linalg.norm(v_S) * q_S ** k
    floor = 1e-13 * np.linalg.norm(g_star)  # float64 round-off of the iteration
    assert np.all(errors <= bound * (1 + 1e-9) + floor)
    window = (errors > 1e3 * floor)
    k_fit, e_fit = k[window][-100:], errors[window][-100:]
    rate = np.exp(np.polyfit(k_fit, np.log(e_fit), 1)[0])
    assert abs(rate - q_S) < 0.01, (rate, q_S)


def test_itd_converges_at_the_active_block_rate_after_identification(paper_problem, reference):
    # Theorem 4.1 (ITD): after identification the error behaves like t q_S^t; the fitted
    # per-iteration rate over a late window is q_S up to the polynomial factor.
    phi = paper_problem.map.at(LAM)
    w = paper_problem.solve(LAM, tol=1e-15, max_iter=500_000)
    errors = []

    def record(t, w_t, J_t):
        g = J_t.T @ paper_problem.outer.grad_w(w_t)
        errors.append(_rel(g, reference))

    ni.itd_forward(phi, iters=300, tol=0.0, on_step=record)
    sel = phi.selection(w.w)
    q_S = sel.active_block_norm()
    t0 = w.support_identified_at
    e = np.array(errors)
    t = np.arange(1, len(e) + 1)
    late = (t > t0 + 50) & (e > 1e-12)
    rate = np.exp(np.polyfit(t[late], np.log(e[late]), 1)[0])
    # t q^t has log-slope log q + 1/t: over t in [t0+50, 300] that inflates the rate by < 1%.
    assert q_S - 0.005 < rate < q_S * 1.02, (rate, q_S)


def test_aid_fp_forward_and_itd_forward_agree_with_exact_jacobian(paper_problem):
    phi = paper_problem.map.at(LAM)
    w = paper_problem.solve(LAM, tol=1e-15, max_iter=500_000).w
    J = ni.exact_jacobian(phi, w).value
    np.testing.assert_allclose(ni.aid_fp_forward(phi, w, iters=5000, tol=1e-15).value, J,
                               rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("method", ["exact", "aid-cg", "aid-fp", "itd"])
def test_float32_matches_float64(method):
    p64 = make_problem(n_train=100, p=30, seed=4)
    p32 = make_problem(n_train=100, p=30, seed=4, dtype=np.float32)
    lam = [0.01, 0.01]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ni.EarlyStopWarning)
        g64 = p64.hypergradient(lam, method=method, tol=1e-12).value
        # A fixed budget of 300 steps: q < 0.9 here, so q^300 is far below float32 round-off.
        r32 = p32.hypergradient(lam, method=method, tol=0.0, inner_iters=300, linsys_iters=300)
    assert p32.map.at(lam).q < 0.9  # 0.9**300 ≈ 2e-14
    assert r32.value.dtype == np.float32
    # float32 round-off (6e-8) amplified by the conditioning of the active system (< 1e3).
    assert _rel(r32.value.astype(np.float64), g64) < 1e-4


@pytest.mark.parametrize("iters", [0, 5, 45])
def test_aid_gmres_budget_counts_iterations_not_restarts(iters):
    # float32 stalls near its round-off (~1e-7), so tol = 1e-12 is unreachable and the
    # budget alone stops GMRES; it must bound the operator products, not the restart cycles.
    problem = make_problem(n_train=100, p=30, seed=4, dtype=np.float32)
    phi = problem.map.at([0.01, 0.01])
    w = ni.fixed_point_iteration(phi, tol=0.0, max_iter=300).w
    u = problem.outer.grad_w(w)
    res = ni.aid_gmres(phi, w, u, iters=iters, tol=1e-12)
    assert res.iterations <= iters
    assert not res.converged
    assert res.value.dtype == np.float32


def test_recorded_residuals_are_the_relative_steps():
    # ‖w‖ ≈ 3 here, so absolute and relative steps differ by that factor, not by round-off.
    problem = make_problem(n_train=100, p=30, seed=4)
    phi = problem.map.at([0.01, 0.01])
    res = ni.fixed_point_iteration(phi, tol=1e-8, record_residuals=True)
    assert len(res.residuals) == res.iterations
    assert res.residuals[-1] == res.residual <= 1e-8
    w_prev = ni.fixed_point_iteration(phi, tol=0.0, max_iter=res.iterations - 1).w
    step = np.linalg.norm(res.w - w_prev) / np.linalg.norm(res.w)
    assert res.residuals[-1] == pytest.approx(step, rel=1e-9)  # float64 round-off of two norms
