"""Replacements for weak tests in files this change does not own (see validation/mutation/README.md).

* ``test_methods_converge.py::test_error_falls_to_1e_8_as_budget_grows`` asserted
  ``errors[0] > errors[-1]`` in place of a rate. Here the rate is fitted and compared with the
  active-block factor ``q_S`` (docs/theory.md §8 item 4, §13 items 1, 4–5).
* ``test_elastic_net_map.py::test_selection_matches_finite_differences`` and
  ``test_soft_threshold.py::test_selection_matches_finite_differences_away_from_ties`` ended
  with an early ``return`` inside a Hypothesis test (an example that silently tests nothing,
  and that Hypothesis counts as a pass); here ``assume()`` discards such examples, so a
  strategy that only produces them fails the health check instead of passing vacuously. The
  soft-threshold test also skipped its τ-derivative check whenever ``τ < margin/4``; a one-sided
  difference (exact on the affine piece) checks it on every example.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import ns_implicit as ni
from ns_implicit import ElasticNetMap
from ns_implicit.operators.soft_threshold import soft_threshold_with_selection
from conftest import closed_form_hypergradient, kink_margin, make_problem

LAM = [0.02, 0.002]


@pytest.fixture(scope="module")
def paper():
    # docs/theory.md §12.2 run 1: q ≈ 0.999, q_S ≈ 0.93; the support last changes at t = 126.
    problem = ni.ElasticNetProblem.synthetic()
    X, y = problem.map.T.X, problem.map.T.y
    ref = closed_form_hypergradient(X, y, problem.outer.X_val, problem.outer.y_val, LAM)
    phi = problem.map.at(LAM)
    w = problem.solve(LAM, tol=1e-15, max_iter=500_000)
    return problem, ref, phi.selection(w.w).active_block_norm(), phi.q, w.support_identified_at


@pytest.mark.parametrize("method", ["itd", "itd-forward", "aid-fp", "aid-cg", "aid-gmres"])
def test_error_decays_at_the_active_block_rate_and_reaches_1e_8(paper, method):
    problem, ref, q_S, q, t_id = paper
    assert q_S < q - 0.03  # the two rates are distinguishable
    budgets = np.arange(160, 261, 25)  # all after identification (t ≈ 126), above round-off
    assert budgets[0] > t_id + 30
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ni.EarlyStopWarning)
        for t in list(budgets) + [100_000]:
            kw = dict(inner_iters=int(t), tol=1e-14)
            if not method.startswith("itd"):
                kw["linsys_iters"] = int(t)  # k = t (docs/theory.md §12.2 "normal" mode)
                kw["inner_solver"] = "fixed-point"  # the rate of t steps of Phi (§16.4)
            res = problem.hypergradient(LAM, method=method, **kw)
            errors.append(np.linalg.norm(res.value - ref) / np.linalg.norm(ref))
    errors = np.array(errors)
    assert errors[-1] <= 1e-8
    rate = np.exp(np.polyfit(budgets, np.log(errors[:-1]), 1)[0])
    # Theorem 4.1 after identification: q_S^t (AID; CG/GMRES solve the k = t system far
    # below ‖w_t - w*‖, which decays at q_S) or t q_S^t (ITD, whose 1/t in the log-slope
    # inflates the fitted rate by < 0.6% over t in [160, 260]). Tolerance 0.01 on rates
    # 0.93 vs the global 0.999: a method converging at the global rate, or not at all, fails.
    assert abs(rate - q_S) < 0.01, (method, rate, q_S, errors)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), lam1=st.floats(1e-3, 0.2), lam2=st.floats(1e-3, 1.0),
       paper_step=st.booleans())
def test_selection_matches_finite_differences(seed, lam1, lam2, paper_step):
    rng = np.random.default_rng(seed)
    problem = make_problem(n_train=40, p=8, seed=seed % 7)
    step = "paper" if paper_step else 1.0 / (problem.map.T.L + lam2)
    emap = ElasticNetMap(problem.map.T.X, problem.map.T.y, step=step)
    phi = emap.at([lam1, lam2])
    w = 0.5 * rng.standard_normal(phi.dim)
    margin = kink_margin(phi, w)
    assume(margin >= 1e-4)  # too close to a kink for finite differences
    sel = phi.selection(w)
    d = rng.standard_normal(phi.dim)
    d /= np.linalg.norm(d)
    h = 0.25 * margin  # |Δu| <= q h < margin: every coordinate stays on its piece
    fd_w = (phi(w + h * d) - phi(w - h * d)) / (2 * h)
    np.testing.assert_allclose(fd_w, sel.A(d), atol=1e-8)
    e = rng.standard_normal(2)
    e /= np.linalg.norm(e)
    hl = 1e-6 * min(1.0, margin * 1e3)
    fd_l = (emap.at(phi.lam + hl * e)(w) - emap.at(phi.lam - hl * e)(w)) / (2 * hl)
    np.testing.assert_allclose(fd_l, sel.B(e), atol=1e-7)


finite = st.floats(-10, 10, allow_nan=False, width=64)


@settings(max_examples=60, deadline=None)
@given(u=arrays(np.float64, st.integers(1, 12), elements=finite),
       tau=st.floats(0, 5), direction_seed=st.integers(0, 2**31))
def test_soft_threshold_selection_matches_finite_differences_away_from_ties(u, tau,
                                                                          direction_seed):
    margin = np.min(np.abs(np.abs(u) - tau))
    if margin < 1e-3:  # push coordinates off the kink, away from it on their own side
        u = u + 2e-3 * np.where(np.abs(u) >= tau, np.sign(u) + (u == 0), -np.sign(u))
        margin = np.min(np.abs(np.abs(u) - tau))
    assume(margin >= 1e-4)
    rng = np.random.default_rng(direction_seed)
    d = rng.standard_normal(u.shape)
    d /= np.linalg.norm(d)
    h = 0.25 * margin
    val, mask, sign, ties = soft_threshold_with_selection(u, tau)
    assert ties == 0
    plus, *_ = soft_threshold_with_selection(u + h * d, tau)
    minus, *_ = soft_threshold_with_selection(u - h * d, tau)
    np.testing.assert_allclose((plus - minus) / (2 * h), mask * d, atol=1e-9)
    # τ-derivative -sign ⊙ m: S is affine in τ on [τ, τ + margin/4], so a forward difference
    # is exact up to round-off (|u| <= 12, dt >= 2.5e-5: <= 1e-9), for every τ >= 0.
    dt = 0.25 * margin
    tp, *_ = soft_threshold_with_selection(u, tau + dt)
    np.testing.assert_allclose((tp - val) / dt, -sign * mask, atol=1e-9)
