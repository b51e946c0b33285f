"""Tests that kill the non-equivalent survivors of the second mutmut 2 campaign over the
mathematical core (validation/mutation/REPORT.md, part 2: mutation IDs and diffs there).

Every expected value is computed independently of the mutated line: from dense matrices built
column by column through ``Selection.A``/``Selection.B`` (not the fused ``vjp``/``jvp`` the
methods use), with numpy linear algebra, or by hand. The instances are small; the whole file
runs in a few seconds.
"""

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit import ElasticNetMap, fixed_point_iteration


def _map(lam=(0.5, 0.1), seed=0, n=12, p=5, step="paper"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ np.array([2.0, -1.5, 0.0, 1.0, 0.0][:p]) + 0.1 * rng.standard_normal(n)
    return ElasticNetMap(X, y, step=step).at(list(lam))


def _empty_map():
    """λ1 = 2 λ1_max: the active set at w = 0 is empty, A = 0 and B = 0 there (§13 item 1)."""
    base = _map()
    return base.parent.at([2.0 * float(base.parent.lam1_max), 0.1])


def _lasso_map():
    """The lasso with p = 6 > n = 4: averaged, q = 1 (docs/theory.md §15.6)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 6))
    y = X @ np.array([2.0, -1.5, 0.0, 0.0, 0.0, 0.0])
    problem = ni.LassoProblem(X, y, X, y)
    return problem.map.at([0.1 * problem.lam1_max])


def _dense_A(sel, p):
    return np.column_stack([sel.A(e) for e in np.eye(p)])


def _dense_B(sel, m):
    return np.column_stack([sel.B(e) for e in np.eye(m)])


def _dense(phi, w):
    sel = phi.selection(w)
    return _dense_A(sel, phi.dim), _dense_B(sel, phi.n_hyper)


def _reverse_by_hand(phi, points, u):
    """``(J_tᵀu, A_0ᵀ⋯A_{t-1}ᵀu)`` along ``w_0 … w_{t-1}`` with dense selections (§7 eq. (13))."""
    alpha, g = np.array(u, dtype=float), np.zeros(phi.n_hyper)
    for w in reversed(points):
        A, B = _dense(phi, w)
        g += B.T @ alpha
        alpha = A.T @ alpha
    return g, alpha


# -- methods/itd.py: reverse mode --------------------------------------------------------------
# Mutants: tail_factor's (1 + q)/(1 - q) -> (2 + q), (1 - q) numerator, `*`, (2 - q), (1 + q)
# denominator; `bound = residual * tail_factor` -> `/`; residual `/ u_norm` -> `* u_norm`
# (‖u‖ = 1/2 separates them); `u_norm > 0` -> `> 1`; `bound <= tol` -> `<` (tol = the bound
# itself); the record's label. The module docstring's certificate is
# error_bound = (‖A_0ᵀ⋯A_{t-1}ᵀu‖/‖u‖)(1 + q)/(1 - q), converged ⇔ error_bound <= tol.

def test_itd_residual_and_error_bound_by_hand():
    phi = _map()
    t = 3
    traj = fixed_point_iteration(phi, tol=0.0, max_iter=t, store_trajectory=True).trajectory
    u = np.array([0.5, 0.0, 0.0, 0.0, 0.0])                      # ‖u‖ = 1/2, unit-scaled
    g, alpha = _reverse_by_hand(phi, [traj[s] for s in range(t)], u)
    q = float(phi.q)
    assert 0.0 < q < 1.0
    r = ni.itd(phi, traj, u)
    assert (r.method, r.iterations) == ("itd", t)
    # rtol: 3 dense 5 x 5 products vs the fused kernel, summed in another order (round-off)
    np.testing.assert_allclose(r.value, g, rtol=1e-12, atol=1e-15)
    residual = np.linalg.norm(alpha) / 0.5
    assert residual > 1e-3                                        # a real tail after 3 steps
    assert r.residual == pytest.approx(residual, rel=1e-12)       # same round-off
    assert r.error_bound == pytest.approx(residual * (1.0 + q) / (1.0 - q), rel=1e-12)
    assert r.converged is False
    # converged ⇔ error_bound <= tol: at tol = error_bound exactly it is converged
    assert ni.itd(phi, traj, u, tol=r.error_bound).converged is True
    assert ni.itd(phi, traj, u, tol=0.999 * r.error_bound).converged is False


# Mutants: `u_norm > 0` -> `>= 0` (0/0: NaN, NonFiniteError) and `else 0.0` -> `else 1.0`:
# u = 0 has the exact answer Jᵀ0 = 0 with nothing left in the tail.

def test_itd_zero_adjoint_is_exact():
    phi = _map()
    traj = fixed_point_iteration(phi, tol=0.0, max_iter=3, store_trajectory=True).trajectory
    r = ni.itd(phi, traj, np.zeros(5), tol=0.0)
    assert (r.residual, r.error_bound, r.converged) == (0.0, 0.0, True)
    np.testing.assert_array_equal(r.value, np.zeros(2))


# Mutants: `len(trajectory) == 0` -> `== 1` (a one-iterate trajectory refused) and `or` -> `and`
# (an empty one accepted). t = 0: J_0 = 0 (w_0 does not depend on λ), the tail is u itself:
# residual 1, error bound (1 + q)/(1 - q).

def test_itd_on_one_iterate_and_on_an_empty_trajectory():
    phi = _map()
    traj = fixed_point_iteration(phi, tol=0.0, max_iter=0, store_trajectory=True).trajectory
    assert len(traj) == 1
    u = np.array([0.5, -0.25, 0.0, 0.0, 0.0])
    r = ni.itd(phi, traj, u)
    q = float(phi.q)
    np.testing.assert_array_equal(r.value, np.zeros(2))
    assert (r.iterations, r.residual) == (0, 1.0)
    assert r.error_bound == pytest.approx((1.0 + q) / (1.0 - q), rel=1e-15)  # one rounding
    with pytest.raises(ValueError, match="trajectory is empty"):
        ni.itd(phi, [], u)
    # Mutant: the length message reads `u.shape[1]` of the 1-D u (IndexError, not ValueError)
    with pytest.raises(ValueError, match="u must have length 5; got 4"):
        ni.itd(phi, traj, np.ones(4))


# Mutants: `trusted` when `trajectory.dim != phi.dim` / `trajectory.dtype != phi.dtype`: a
# solver's Trajectory of another map (wrong length) would skip validation. It must be refused
# by name like any other misshaped iterate.

def test_itd_validates_a_trajectory_of_another_dimension():
    phi = _map()
    other = _map(p=4)
    traj = fixed_point_iteration(other, tol=0.0, max_iter=2, store_trajectory=True).trajectory
    with pytest.raises(ValueError, match=r"trajectory\[1\]"):
        ni.itd(phi, traj, np.ones(5))
    # and a Trajectory of another dtype (float32 for this float64 map) is validated too: a
    # non-finite iterate is refused by name (the mutant trusts it and fails later, unnamed)
    from ns_implicit.solvers.fixed_point import Trajectory
    bad = Trajectory(5, np.float32)
    for w in (np.zeros(5), np.array([1.0, np.nan, 0.0, 0.0, 0.0]), np.ones(5)):
        bad.append(w.astype(np.float32))
    with pytest.raises(ValueError, match=r"trajectory\[1\]"):
        ni.itd(phi, bad, np.ones(5))


# -- methods/itd.py: q = 1 (the lasso with p > n), the support contraction q_S ----------------
# Mutants in the q >= 1 branch: the certificate uses q_S = ‖A[R, R]‖₂ of the selection at
# w_{t-1} (the last one applied); with the support identified at t̄ = 2 < t - 1 every later
# selection has the same A, so q_S is the spectral norm of the dense A at w_{t-1} restricted to
# its rows R. Reverse: bound = residual (1 + q_S)/(1 - q_S); forward: q_S/(1 - q_S)·jac_step.

def test_itd_certifies_with_q_S_when_q_is_one():
    phi = _lasso_map()
    assert phi.q == 1.0
    t = 12
    sol = fixed_point_iteration(phi, tol=0.0, max_iter=t, store_trajectory=True)
    assert sol.support_identified_at < t - 1
    A, _ = _dense(phi, sol.trajectory[t - 1])
    R = phi.selection(sol.trajectory[t - 1]).rows
    q_S = np.linalg.norm(A[np.ix_(R, R)], 2)
    assert 0.5 < q_S < 1.0
    u = np.full(6, 0.5)
    g, alpha = _reverse_by_hand(phi, [sol.trajectory[s] for s in range(t)], u)
    r = ni.itd(phi, sol.trajectory, u)
    residual = np.linalg.norm(alpha) / np.linalg.norm(u)
    # rel: 12 dense 6 x 6 products vs the kernel (round-off); two SVD-based norms of one block
    assert r.residual == pytest.approx(residual, rel=1e-10)
    assert r.error_bound == pytest.approx(residual * (1.0 + q_S) / (1.0 - q_S), rel=1e-10)
    np.testing.assert_allclose(r.value, g, rtol=1e-10, atol=1e-14)
    f = ni.itd_forward(phi, iters=t, tol=0.0)
    assert f.support_identified_at == sol.support_identified_at
    assert f.error_bound == pytest.approx(f.jacobian_step * q_S / (1.0 - q_S), rel=1e-10)
    # with q = 1 and no step taken nothing is certified: the factor is infinite
    f0 = ni.itd_forward(phi, iters=0)
    assert f0.error_bound == np.inf and f0.converged is False
    # Mutants `changed or t == 1` -> `t != 1` / `t == 2`: started at a point with the final
    # support (no support change at step 1), q_S must still be taken at step 1
    w_star = fixed_point_iteration(phi, tol=1e-14, max_iter=10_000).w
    f1 = ni.itd_forward(phi, w0=w_star, iters=1, tol=0.0)
    assert f1.support_identified_at == 0                       # the support did not change
    assert f1.error_bound == pytest.approx(f1.jacobian_step * q_S / (1.0 - q_S), rel=1e-10)
    # u = 0: Jᵀ0 = 0 exactly, bound 0 (not 0·inf = NaN with q = 1)
    r0 = ni.itd(phi, sol.trajectory, np.zeros(6), tol=0.0)
    assert (r0.residual, r0.error_bound, r0.converged) == (0.0, 0.0, True)


# Mutants: the selection certifying a q = 1 run is the one at w_{t-1} (`max(t - 1, 0)`), not
# w_{t-2} (`max(t - 2, 0)`) nor, at t = 1, w_1 (`max(t - 1, 1)`). On this lasso the support
# changes at step 1 → 2: the selection at w_0 has 5 active rows > n = 4, so I - A[R, R] =
# γX_RᵀX_R/n is singular (q_S = 1 in exact arithmetic: no certificate, a bound >= 1e12 after
# round-off), the one at w_1 has 3 rows and q_S < 1.

def test_itd_q_S_comes_from_the_last_applied_selection():
    phi = _lasso_map()
    traj = fixed_point_iteration(phi, tol=0.0, max_iter=2, store_trajectory=True).trajectory
    R0, R1 = phi.selection(traj[0]).rows, phi.selection(traj[1]).rows
    assert (len(R0), len(R1)) == (5, 3)
    A1, _ = _dense(phi, traj[1])
    q_S = np.linalg.norm(A1[np.ix_(R1, R1)], 2)
    assert q_S < 0.95
    u = np.full(6, 0.5)
    r = ni.itd(phi, traj, u)                                   # t = 2: the selection at w_1
    # rel: two SVD-based spectral norms of the same 3 x 3 block, and round-off of 2 products
    assert r.error_bound == pytest.approx(r.residual * (1.0 + q_S) / (1.0 - q_S), rel=1e-10)
    one = fixed_point_iteration(phi, tol=0.0, max_iter=1, store_trajectory=True).trajectory
    r1 = ni.itd(phi, one, u)                                   # t = 1: the selection at w_0
    assert r1.residual > 0.1 and r1.error_bound >= 1e12 and r1.converged is False


# -- methods/itd.py: forward mode --------------------------------------------------------------
# J_0 = 0, J_{s+1} = A_s J_s + B_s along the solver's iterates (§7 eq. (13)) by hand with dense
# selections. Mutants: the record (label, iterations), residual = relative inner step,
# jacobian_step, error_bound = q/(1 - q)·jacobian_step (mutants `q * (1 - q)`, `(2 - q)`,
# `(1 + q)`), `J_norm > 0` -> `> 1`, support_identified_at, and on_step(t, w_t, J_t).

@pytest.mark.parametrize("lam2", [0.1, 2.0])   # ‖J_3‖ > 1 and < 1 (mutant `J_norm > 1`)
def test_itd_forward_three_steps_by_hand(lam2):
    phi = _map(lam=(0.5, lam2))
    t = 3
    sol = fixed_point_iteration(phi, tol=0.0, max_iter=t, store_trajectory=True)
    ws = [sol.trajectory[s] for s in range(t + 1)]
    Js = [np.zeros((5, 2))]
    for s in range(t):
        A, B = _dense(phi, ws[s])
        Js.append(A @ Js[-1] + B)
    seen = []
    r = ni.itd_forward(phi, iters=t, tol=0.0,
                       on_step=lambda s, w, J: seen.append((s, w.copy(), J.copy())))
    q = float(phi.q)
    assert (r.method, r.iterations, r.converged) == ("itd-forward", t, False)
    # rtol: 3 dense products vs the fused kernel, another summation order (round-off only)
    np.testing.assert_allclose(r.value, Js[t], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(r.w, ws[t])       # the same solver step, bit for bit
    assert r.support_identified_at == sol.support_identified_at
    assert r.residual == pytest.approx(np.linalg.norm(ws[t] - ws[t - 1]) / np.linalg.norm(ws[t]),
                                       rel=1e-12)
    assert (np.linalg.norm(Js[t]) > 1.0) == (lam2 == 0.1)
    jac_step = np.linalg.norm(Js[t] - Js[t - 1]) / np.linalg.norm(Js[t])
    assert r.jacobian_step == pytest.approx(jac_step, rel=1e-10)
    assert r.error_bound == pytest.approx(jac_step * q / (1.0 - q), rel=1e-10)
    assert [s for s, _, _ in seen] == [1, 2, 3]
    for s, w, J in seen:
        np.testing.assert_array_equal(w, ws[s])
        np.testing.assert_allclose(J, Js[s], rtol=1e-12, atol=1e-15)


# Mutants: `check_positive_int(iters, minimum=0)` -> minimum=1 (iters = 0 refused), the default
# budget 1000 -> 1001 (a fixed step 1e-3 makes q > 0.999: the budget is spent), the initial
# `last_change = 0` -> 1. iters = 0: J_0 = 0, nothing certified (residual and step 1).

def test_itd_forward_zero_steps_and_default_budget():
    phi = _map()
    r = ni.itd_forward(phi, iters=0)
    assert (r.iterations, r.residual, r.jacobian_step, r.converged) == (0, 1.0, 1.0, False)
    assert r.support_identified_at == 0
    np.testing.assert_array_equal(r.value, np.zeros((5, 2)))
    slow = _map(step=1e-3)
    assert slow.q > 0.999
    r = ni.itd_forward(slow)
    assert (r.iterations, r.converged) == (1000, False)


# Mutants in the stopping rule `tol > 0 and residual <= tol and jac_step·q/(1-q) <= tol`:
# `tol > 1` (never stops early), `jac_step / jac_factor` (stops at another t), and
# `tol >= 0`: tol = 0 must run exactly `iters` steps even where w and J stop moving (the empty
# active set: w_t = 0, J_t = 0, every step exactly 0).

def test_itd_forward_stops_at_the_first_certified_step():
    phi = _map()
    q = float(phi.q)
    assert abs(q / (1.0 - q) - 1.0) > 0.5        # the instance separates `*` from `/` factor
    tol = 1e-8
    r = ni.itd_forward(phi, iters=10_000, tol=tol)
    assert r.converged and r.iterations < 10_000
    assert r.residual <= tol and r.jacobian_step * q / (1.0 - q) <= tol
    prev = ni.itd_forward(phi, iters=r.iterations - 1, tol=0.0)
    assert not (prev.residual <= tol and prev.jacobian_step * q / (1.0 - q) <= tol)
    # Mutant `converged = residual <= tol and …` -> `or`: a budget that stops with the inner
    # step below tol but the Jacobian bound above it is not converged
    short = ni.itd_forward(phi, iters=20, tol=1e-4)
    assert short.iterations == 20
    assert short.residual <= 1e-4 < short.jacobian_step * q / (1.0 - q)
    assert short.converged is False
    empty = ni.itd_forward(_empty_map(), iters=5, tol=0.0)
    assert (empty.iterations, empty.residual, empty.jacobian_step) == (5, 0.0, 0.0)
    assert empty.converged is True


# Mutants: `residual <= tol` -> `<` and `jac_step * jac_factor <= tol` -> `<` in the stopping
# rule. Set tol to the larger of (residual, error_bound) after k = 5 steps, read from a tol = 0
# run of exactly 5 steps (the same arithmetic, so the same floats): the rule "both <= tol"
# first holds at step 5 (max(residual, bound) decreases strictly over steps 1..5, checked), and
# with `<` it would fail there on the equal one. λ2 = 2 makes the residual the larger one,
# λ2 = 0.1 the bound.

@pytest.mark.parametrize("lam2, larger", [(2.0, "residual"), (0.1, "bound")])
def test_itd_forward_stops_when_the_tolerance_is_met_with_equality(lam2, larger):
    phi = _map(lam=(0.5, lam2))
    runs = [ni.itd_forward(phi, iters=k, tol=0.0) for k in range(1, 6)]
    peaks = [max(r.residual, r.error_bound) for r in runs]
    assert all(a > b for a, b in zip(peaks, peaks[1:]))
    last = runs[-1]
    assert (last.residual > last.error_bound) == (larger == "residual")
    r = ni.itd_forward(phi, iters=100, tol=peaks[-1])
    assert (r.iterations, r.converged) == (5, True)


# -- methods/aid_cg.py -------------------------------------------------------------------------
# Textbook CG on the restricted system (I - A[R, R])ᵀ v_R = u_R (docs/theory.md §15.2) with the
# dense A of the selection, by hand: x_0 = 0, r_0 = d_0 = b, α = rᵀr/dᵀMd, x += αd, r -= αMd,
# d = r + (r'ᵀr'/rᵀr) d. |R| = 4 here and ‖u_R‖ ≠ 1, u has an entry off R.

def _cg_instance():
    phi = _map(lam=(0.05, 0.1))
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    sel = phi.selection(w)
    R = sel.rows
    assert list(R) == [0, 1, 2, 3] and sel.spd and not sel.b_outside_rows
    A, B = _dense_A(sel, 5), _dense_B(sel, 2)
    M = np.eye(len(R)) - A[np.ix_(R, R)].T
    u = np.array([0.5, 0.0, 0.25, 0.0, 0.25])
    return phi, w, sel, R, M, B, u


def _cg_by_hand(M, b, k):
    x, r = np.zeros_like(b), b.copy()
    d, xs, rs = r.copy(), [], []
    for _ in range(k):
        Md = M @ d
        alpha = (r @ r) / (d @ Md)
        x = x + alpha * d
        r_next = r - alpha * Md
        d = r_next + (r_next @ r_next) / (r @ r) * d
        r = r_next
        xs.append(x)
        rs.append(r)
    return xs, rs


# Mutants: the loop counter from 1, `i += 2`, `bnorm > 1` in the loop (‖u_R‖ < 1: no step),
# the residual `* bnorm` (‖u_R‖ ≠ 1) or `bnorm > 1`, `residual <= tol` -> `<` (tol = the
# residual itself), the label, `result.v = None`, `history=True` by default, and the history
# (the estimate Bᵀv_i after each step).

def test_aid_cg_two_steps_by_hand():
    phi, w, sel, R, M, B, u = _cg_instance()
    b = u[R]
    assert 0.5 < np.linalg.norm(b) < 0.6
    xs, rs = _cg_by_hand(M, b, 2)
    r = ni.aid_cg(phi, w, u, iters=2, tol=0.0)
    v = np.zeros(5)
    v[R] = xs[1]
    assert (r.method, r.iterations, r.converged, r.history) == ("aid-cg", 2, False, None)
    # rtol: 2 CG steps on a 4 x 4 system, dense vs the selection's products (round-off only)
    np.testing.assert_allclose(r.v, v, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.value, B.T @ v, rtol=1e-12, atol=1e-15)
    residual = np.linalg.norm(rs[1]) / np.linalg.norm(b)
    assert residual > 0.1                                       # 2 of 4 steps: not converged
    assert r.residual == pytest.approx(residual, rel=1e-10)     # the recursive residual
    assert ni.aid_cg(phi, w, u, iters=2, tol=r.residual).converged is True   # <= tol
    h = ni.aid_cg(phi, w, u, iters=2, tol=0.0, history=True).history
    assert len(h) == 2
    for x, est in zip(xs, h):
        v = np.zeros(5)
        v[R] = x
        np.testing.assert_allclose(est, B.T @ v, rtol=1e-12, atol=1e-15)
    # to convergence: the exact adjoint of the restricted system (numpy solve)
    v = np.zeros(5)
    v[R] = np.linalg.solve(M, b)
    full = ni.aid_cg(phi, w, u)
    assert full.converged and full.iterations <= len(R) + 1  # CG: |R| steps in exact arithmetic
    # rtol: the 4 x 4 system is well conditioned (1 - q >= 0.1); round-off only
    np.testing.assert_allclose(full.value, B.T @ v, rtol=1e-10, atol=1e-14)


# Mutant: the loop condition `sqrt(rr) > tol·‖u_R‖` -> `>=`: CG stops when ‖r‖ <= tol‖u_R‖
# (module docstring). With u_R = (1/2, 0, 0, 0), ‖u_R‖ = 1/2 exactly, so tol = (the reported
# residual after 2 steps) = ‖r_2‖/(1/2) gives tol·‖u_R‖ = ‖r_2‖ exactly: CG must stop there.

def test_aid_cg_stops_when_the_residual_meets_tol_with_equality():
    phi, w, sel, R, M, B, u = _cg_instance()
    u = np.array([0.5, 0.0, 0.0, 0.0, 0.25])
    two = ni.aid_cg(phi, w, u, iters=2, tol=0.0)
    assert two.residual > 1e-3
    r = ni.aid_cg(phi, w, u, tol=two.residual)
    assert (r.iterations, r.converged) == (2, True)
    np.testing.assert_array_equal(r.value, two.value)


# Mutants: `v0 if bnorm > 0` -> `>= 0` (a warm start used for u_R = 0, whose solution is 0) and
# -> `> 1` (the warm start ignored when ‖u_R‖ <= 1); `r = b - Mx` -> `b + Mx` or the start
# residual `b` with x = v0 (CG then converges to v0 + M⁻¹b); residual `else 0.0` -> `1.0` and
# `bnorm > 0` -> `>= 0` (0/0) for u_R = 0.

def test_aid_cg_warm_start_and_zero_restricted_rhs():
    phi, w, sel, R, M, B, u = _cg_instance()
    cold = ni.aid_cg(phi, w, u, tol=1e-12)
    warm = ni.aid_cg(phi, w, u, tol=1e-12, v0=cold.v)
    # from the converged v the start residual is round-off (<< 1e-12 ‖u_R‖): no step
    assert (warm.iterations, warm.converged) == (0, True)
    np.testing.assert_array_equal(warm.value, cold.value)
    far = ni.aid_cg(phi, w, u, tol=1e-12, v0=np.ones(5))
    assert far.converged
    # rtol: both converged to 1e-12 on a system with condition number <= 1/(1 - q) ~ 10
    np.testing.assert_allclose(far.value, cold.value, rtol=1e-10, atol=1e-14)
    off = np.array([0.0, 0.0, 0.0, 0.0, 0.5])                   # u_R = 0 (index 4 is off R)
    r = ni.aid_cg(phi, w, off, v0=np.ones(5))
    assert (r.iterations, r.residual, r.converged) == (0, 0.0, True)
    np.testing.assert_array_equal(r.value, np.zeros(2))


# Mutants in the stall guard (STALL = 50 -> 51, patience STALL + 2|R| -> STALL - 2|R|,
# STALL + 3|R|, STALL + 2/|R|, `since_best < patience` -> `<=`, the counter reset to 1 or
# started at 1, `since_best += 1` -> `= 1` / `+= 2`). A selection tagged SPD whose restricted
# system is not symmetric, M = I - K with K = [[0, c], [-c, 0]] (dᵀMd = ‖d‖² > 0, so CG never
# meets a non-positive curvature, but does not converge): CG must stop once 50 + 2|R| = 54
# steps have passed without a new smallest residual and return the best iterate (module
# docstring). Textbook CG by hand gives rᵀr = 0.3125, 0.078125, 0.0625 (the minimum, step 2),
# then increasing (c = 1/2), or increasing from the start (c = 2: the best is x_0 = 0).

class _SkewSelection:
    """Aᵀ = K on the first two coordinates, 0 on the others (``dim >= 2``); every row in R."""

    def __init__(self, K, dim):
        self.K, self.rows, self.spd, self.b_outside_rows = K, np.arange(dim), True, False

    def AT(self, v):
        out = np.zeros_like(v)
        out[:2] = self.K @ v[:2]
        return out

    def BT(self, v):           # B = I: the returned value is v itself
        return v.copy()


class _SkewMap:
    dtype = np.dtype(np.float64)

    def __init__(self, K, dim=2):
        self.K, self.dim, self.n_hyper = K, dim, dim

    def check_point(self, w, name="w"):
        return np.asarray(w, dtype=np.float64)

    def selection(self, w):
        return _SkewSelection(self.K, self.dim)


@pytest.mark.parametrize("c, best_step", [(0.5, 2), (2.0, 0)])
def test_aid_cg_stops_after_stall_steps_without_a_new_minimum(c, best_step):
    import importlib
    assert importlib.import_module("ns_implicit.methods.aid_cg").STALL == 50  # documented
    K = np.array([[0.0, c], [-c, 0.0]])
    M = np.eye(2) - K
    b = np.array([0.5, 0.25])
    xs, rs = _cg_by_hand(M, b, best_step + 60)
    rr = [b @ b] + [r @ r for r in rs]
    assert int(np.argmin(rr)) == best_step
    assert all(rr[k] > rr[best_step] * (1 + 1e-6) for k in range(len(rr)) if k != best_step)
    r = ni.aid_cg(_SkewMap(K), np.zeros(2), b, tol=0.0)
    assert r.iterations == best_step + 50 + 2 * 2 and r.converged is False
    x_best = xs[best_step - 1] if best_step else np.zeros(2)
    # rtol: a few 2 x 2 CG steps, the same arithmetic in another order (round-off only)
    np.testing.assert_allclose(r.value, x_best, rtol=1e-12, atol=1e-15)
    assert r.residual == pytest.approx(np.sqrt(rr[best_step] / rr[0]), rel=1e-12)


# Mutants: the curvature guard `not (isfinite(dᵀMd) and dᵀMd > 0)` -> `dᵀMd >= 0`, `> 1`, `or`,
# and its `break` -> `continue`; the `break` on a non-finite ‖r‖² -> `continue`. The module
# docstring: CG stops on a non-positive or non-finite curvature or a non-finite residual and
# returns the best iterate seen (here x_0 = 0: value 0, residual 1, not converged). Systems
# (I - K)ᵀ from selections tagged SPD: K = I (dᵀMd = 0 exactly), K = 2I (dᵀMd = -‖d‖² < 0),
# K = c[[0, 1], [-1, 0]] with c = 1e200 and b = (1/2, 0): Md = (1/2, c/2), dᵀMd = 1/4 exactly,
# α = 1, r_1 = (0, -c/2) and ‖r_1‖² = c²/4 overflows to inf. A `continue` mutant loops forever
# without counting the step (killed by the runner's timeout).

@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the overflow case
@pytest.mark.parametrize("K", [np.eye(2), 2.0 * np.eye(2),
                               1e200 * np.array([[0.0, 1.0], [-1.0, 0.0]])],
                         ids=["zero-curvature", "negative-curvature", "overflow"])
def test_aid_cg_stops_on_a_bad_curvature_or_an_overflow_at_the_best_iterate(K):
    b = np.array([0.5, 0.0])
    r = ni.aid_cg(_SkewMap(K), np.zeros(2), b, tol=1e-10)
    assert (r.iterations, r.residual, r.converged) == (0, 1.0, False)   # sqrt(1/4)/(1/2) exact
    np.testing.assert_array_equal(r.value, np.zeros(2))


# Mutant: `rr < best_rr` -> `<=`: a residual equal to the best is not a new minimum. c = 1,
# b = (1/2, 0), all dyadic: Md_0 = (1/2, 1/2), dᵀMd = 1/4, α = 1, x_1 = b, r_1 = (0, -1/2),
# so ‖r_1‖² = ‖r_0‖² = 1/4 exactly; later residuals are larger (by hand below). The best stays
# x_0 = 0 and CG stops 54 steps after it.

def test_aid_cg_a_tie_with_the_best_residual_is_not_progress():
    K = np.array([[0.0, 1.0], [-1.0, 0.0]])
    b = np.array([0.5, 0.0])
    xs, rs = _cg_by_hand(np.eye(2) - K, b, 60)
    rr = [r @ r for r in rs]
    assert rr[0] == b @ b == 0.25 and min(rr[1:]) > 0.25
    r = ni.aid_cg(_SkewMap(K), np.zeros(2), b, tol=0.0)
    assert (r.iterations, r.residual, r.converged) == (50 + 2 * 2, 1.0, False)
    np.testing.assert_array_equal(r.value, np.zeros(2))


# Mutant: the default budget `iters=1000` -> 1001. With |R| = 500 the stall patience is
# 50 + 2·500 = 1050 > 1000, so the stalled CG of the c = 1/2 instance (b on the first two
# coordinates; the other 498 rows of M are the identity and never enter) spends the budget.

def test_aid_cg_default_budget():
    K = np.array([[0.0, 0.5], [-0.5, 0.0]])
    b = np.zeros(500)
    b[:2] = [0.5, 0.25]
    r = ni.aid_cg(_SkewMap(K, dim=500), np.zeros(500), b, tol=0.0)
    assert (r.iterations, r.converged) == (1000, False)


# -- maps/composite.py -------------------------------------------------------------------------
# Mutants in the `dtau` property (∇_λτ of a soft-thresholding map; τ = γ(λ2)·λ1): `d_gamma /
# dgamma`, `dgamma is None` swapped, d_T = None, dtau = None. By hand: the paper's step
# γ = 2/(L + μ + 2λ2) has γ' = -γ², so ∇τ = (γ, λ1γ') = (γ, -λ1γ²) with L, μ the extreme
# eigenvalues of XᵀX/n (numpy); a fixed step has γ' = 0: ∇τ = (γ, 0); with λ1 fixed too, τ does
# not depend on λ at all and dtau is None.

def test_composite_dtau_by_hand():
    from ns_implicit.maps.composite import CompositeMap
    from ns_implicit.operators.soft_threshold import SoftThreshold
    from ns_implicit.steps.least_squares import LeastSquaresStep
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 5))
    y = X @ np.array([2.0, -1.5, 0.0, 1.0, 0.0]) + 0.1 * rng.standard_normal(12)
    ev = np.linalg.eigvalsh(X.T @ X / 12)
    lam1, lam2 = 0.5, 0.1
    gamma = 2.0 / (ev[-1] + ev[0] + 2.0 * lam2)
    phi = ElasticNetMap(X, y).at([lam1, lam2])
    # rtol: L and μ from two eigensolvers of the same 5 x 5 matrix (round-off only)
    np.testing.assert_allclose(phi.dtau, [gamma, -lam1 * gamma ** 2], rtol=1e-12)
    fixed = ElasticNetMap(X, y, step=1e-3).at([lam1, lam2])
    np.testing.assert_array_equal(fixed.dtau, [1e-3, 0.0])
    both_fixed = CompositeMap(SoftThreshold(lam1), LeastSquaresStep(X, y, step=1e-3))
    assert both_fixed.at(np.array([lam2])).dtau is None


# Mutant: `@property` removed from CompositeMap.tie_active (the map would return a bound
# method, which is truthy: every caller reading the tie rule would see "active").

def test_composite_tie_active_is_the_operators_rule():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 5)), rng.standard_normal(12)
    assert ElasticNetMap(X, y).tie_active is False
    assert ElasticNetMap(X, y, tie_active=True).tie_active is True


# Mutant: `names = None` when the operator's and the step's names do not cover λ (an operator
# with a parameter after a step with an unnamed parameter vector, e.g. soft-thresholding after
# the affine step of an equilibrium layer): λ must still be validated, not crash on `None`.

def test_composite_validates_lambda_without_parameter_names():
    from ns_implicit.maps.composite import CompositeMap
    from ns_implicit.operators.soft_threshold import SoftThreshold
    from ns_implicit.steps import AffineStep
    step = AffineStep(np.random.default_rng(0).standard_normal((3, 2)), 2)
    cmap = CompositeMap(SoftThreshold(), step)
    theta = step.pack(0.5 * np.eye(2), np.ones((2, 2)), np.zeros(2))
    assert cmap.n_hyper == 1 + len(theta)
    phi = cmap.at(np.concatenate([[0.25], theta]))
    assert phi.q == pytest.approx(0.5, rel=1e-15)   # ‖W‖₂ = ‖I/2‖₂, one SVD
    assert phi.tau == 0.25                           # γ = 1 for the affine step: τ = λ1
    with pytest.raises(ValueError, match="must be >= 0"):
        cmap.at(np.concatenate([[-0.25], theta]))


# Mutants: `getattr(self.T, "check_point", None)` -> another name / None: a step's own point
# check (the multinomial logistic step accepts the weights as the f × c matrix W) would be
# replaced by the generic 1-D check, which refuses W.

def test_composite_uses_the_steps_own_point_check():
    from ns_implicit.maps.composite import CompositeMap
    from ns_implicit.operators.soft_threshold import SoftThreshold
    from ns_implicit.steps import MultinomialLogisticStep
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 3, 20)
    phi = CompositeMap(SoftThreshold(0.01), MultinomialLogisticStep(X, y, [0, 1], n_classes=3)
                       ).at(np.zeros((2, 3)))
    W = rng.standard_normal((3, 3))
    np.testing.assert_array_equal(phi.check_point(W), W.ravel())
    np.testing.assert_array_equal(phi(W), phi(W.ravel()))


# Mutant: `selections(w, tie_tol=0.0)` -> default 1.0: by default only exact ties enumerate
# both choices. At w = 0 the inner point is u = γb (b = Xᵀy/n), generic, so D_Φ(0) is a single
# selection; with tie_tol = 1 every coordinate with ||u_i| - τ| <= τ counts as tied.

def test_composite_selections_default_to_exact_ties():
    phi = _map()
    w = np.zeros(5)
    u = phi.inner_point(w)
    tau = float(phi.tau)
    assert np.min(np.abs(np.abs(u) - tau)) > 1e-6                  # no exact tie
    near = int(np.sum(np.abs(np.abs(u) - tau) <= tau))
    assert near >= 1
    assert len(phi.selections(w)) == 1
    assert len(phi.selections(w, tie_tol=1.0)) == 2 ** near


# -- theory/constants.py -----------------------------------------------------------------------
# A q = 0 instance by hand: X = 2I (n = p = 4), so H = XᵀX/n = I (L = μ = 1); λ = (1/2, 1) and
# the paper's step γ = 2/(L + μ + 2λ2) = 1/2 give q = |1 - γ(1 + λ2)| = 0 and γ' = -γ² = -1/4.
# With y = (4, -2, 2, 1/2), b = Xᵀy/n = y/2 and u = w - γ(Hw - b + λ2w) = γb = y/4 for every w:
# u = (1, -1/2, 1/2, 1/8), τ = γλ1 = 1/4, w* = S_τ(u) = (3/4, -1/4, 1/4, 0); the kink margin is
# min ||u_i| - τ| = 1/8 (no tie). Φ is constant, so R = ∞ (no crossing) and
# ν₂ = |γ + γ'(1 + λ2)| = 0. B at w*: ∂Φ/∂λ1 = -γ m⊙s, ∂Φ/∂λ2 = m⊙(-γ'(2w* - b) - γw* - λ1γ's).
# Mutants: `R = inf if q == 0.0` -> `q == 1.0` (division by q = 0), kink_margin's default
# tie_tol 0.0 -> 1.0, as_dict (None, keys, the non-finite -> None rule), frozen=False.

def test_constants_of_a_q_zero_instance_by_hand():
    import dataclasses
    from ns_implicit.theory.constants import elastic_net_constants, kink_margin
    X = 2.0 * np.eye(4)
    y = np.array([4.0, -2.0, 2.0, 0.5])
    phi = ElasticNetMap(X, y).at([0.5, 1.0])
    assert (phi.q, phi.gamma, phi.tau) == (0.0, 0.5, 0.25)
    w_star = np.array([0.75, -0.25, 0.25, 0.0])
    np.testing.assert_array_equal(phi(w_star), w_star)
    margin, ties = kink_margin(phi, w_star)
    assert (margin, list(ties)) == (0.125, [])
    c = elastic_net_constants(phi, w_star)
    assert (c.q, c.R, c.nu1, c.nu2, c.margin, c.ties) == (0.0, np.inf, 0.0, 0.0, 0.125, ())
    # q_support = ‖((1 - γλ2)I - γH)[S', S']‖ over S' = {0, 1, 2}: (1/2)I - (1/2)I = 0 exactly
    assert (c.q_support, c.fixed_point_residual) == (0.0, 0.0)
    m, s, b = np.array([1.0, 1.0, 1.0, 0.0]), np.sign(w_star), y / 2.0
    g, dg, lam1 = 0.5, -0.25, 0.5
    B = np.column_stack([-g * m * s, m * (-dg * (2.0 * w_star - b) - g * w_star - lam1 * dg * s)])
    # rel: a 4 x 2 spectral norm by two SVD paths (round-off only)
    assert c.L_Phi == pytest.approx(np.linalg.norm(B, 2), rel=1e-12)
    d = c.as_dict()
    assert d["R"] is None and d["ties"] == [] and d["q"] == 0.0 and d["margin"] == 0.125
    assert d["jacobian_bound"] == pytest.approx(c.L_Phi, rel=1e-15)   # L_Φ/(1 - 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.R = 1.0
    # Mutants `q_support = 0.0` -> 1.0 / None on an empty union of supports: λ1 = 2λ1_max makes
    # w* = 0 with no active coordinate, and the norm of the empty (0 x 0) block is 0
    empty = _empty_map()
    assert len(empty.selection(np.zeros(5)).rows) == 0
    assert elastic_net_constants(empty, np.zeros(5)).q_support == 0.0


# -- theory/sets.py ----------------------------------------------------------------------------
# fixed_point_set's default depth: "the largest depth whose set stays within cap", i.e. the
# largest n with |𝒟_imp|·Nⁿ <= cap. Instance with two exact ties: H = I (rows 2e_1, 2e_2 of
# four), fixed step γ = 1/2 (q = 1/2), b = (1, 1), λ = (1, 0): u = w/2 + b/2, τ = 1/2, w* = 0 and
# u* = (1/2, 1/2), both coordinates tied: N = 4 selections, A = diag(m)/2, B = [-m/2, 0], and
# 4 distinct implicit Jacobians [-m, 0] (p = 2 ≠ 4). Caps 15, 16, 64 give depths 0, 1, 2
# (4·4 = 16 <= 16 with equality, 4·16 = 64); radius = qⁿ·2 max‖B_j‖_F/(1 - q) = qⁿ·2√2.
# Mutants: the size counter from X.shape[1] (= p), `size * N < cap`, `size = N` / `size /= N`
# (endless loops), `depth = 1`, `depth -= 1`.

def _two_tie_map():
    X = np.array([[2.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    y = np.array([2.0, 2.0, 0.0, 0.0])
    return ElasticNetMap(X, y, step=0.5).at([1.0, 0.0])


@pytest.mark.parametrize("cap, depth", [(15, 0), (16, 1), (64, 2)])
def test_fixed_point_set_default_depth_is_the_largest_within_cap(cap, depth):
    from ns_implicit.theory.sets import fixed_point_set, implicit_jacobians
    phi = _two_tie_map()
    w = np.zeros(2)
    np.testing.assert_array_equal(phi.inner_point(w), [0.5, 0.5])
    J = implicit_jacobians(phi, w)
    assert J.shape == (4, 2, 2) and len({tuple(j.ravel()) for j in J}) == 4
    elements, radius = fixed_point_set(phi, w, cap=cap)
    # rel: one sqrt and a power of two (round-off only)
    assert radius == pytest.approx(0.5 ** depth * 2.0 * np.sqrt(2.0), rel=1e-15)
    explicit, _ = fixed_point_set(phi, w, depth=depth, cap=cap)
    np.testing.assert_array_equal(elements, explicit)


# -- theory/conservative.py --------------------------------------------------------------------
# Mutant: `if arr.shape[0] == 0` -> `arr.shape[1] == 0`: a set with no elements (0, d) must be
# refused (a conservative set is non-empty), and a set of d = 0-dimensional elements is not
# "empty".

def test_as_set_refuses_a_set_without_elements():
    from ns_implicit.theory.conservative import as_set
    with pytest.raises(ValueError, match="is empty"):
        as_set(np.zeros((0, 3)))
    assert as_set(np.zeros((2, 0))).shape == (2, 0)


# Mutants in operator_norms' shape handling (`ndim < 2` -> `<= 2` / `< 3`, the empty-matrix
# test `shape[-1] == 0 or shape[-2] == 0` and its zeros(shape[:-2])). The spectral norm of
# every matrix of a stack, against numpy's SVD, for single matrices (ndim 2), stacks (ndim 3)
# and stacks of stacks (ndim 4), tall, wide and square, closed-form (min(p, m) <= 2) and SVD
# sizes; an empty matrix has norm 0 (one per stacked element); a vector is refused.

def test_operator_norms_on_every_shape():
    from ns_implicit.theory.conservative import operator_norms
    rng = np.random.default_rng(5)
    for p, m in [(3, 1), (1, 3), (3, 2), (2, 3), (2, 2), (4, 3), (3, 4)]:
        for batch in [(), (5,), (2, 3), (3, 1)]:
            M = rng.standard_normal(batch + (p, m))
            ref = np.linalg.norm(M.reshape((-1, p, m)), ord=2, axis=(1, 2)).reshape(batch)
            # rtol: closed forms vs LAPACK's SVD for the same small matrices (round-off only)
            np.testing.assert_allclose(operator_norms(M), ref, rtol=1e-12)
    for shape in [(3, 0), (0, 3), (0, 0), (2, 3, 0), (2, 0, 3), (2, 4, 0, 1), (2, 4, 1, 0)]:
        out = operator_norms(np.zeros(shape))
        assert out.shape == shape[:-2] and not np.any(out)
    with pytest.raises(ValueError, match="Wrap a vector"):
        operator_norms(np.ones(3))


# Mutants in pairwise_distances: the default norm "fro" -> "XXfroXX" (every default call
# refused) and the chunk loop over `range(0, A.shape[1], step)` instead of the N_A rows. With
# 10 vectors of dimension 2 against 200,000 the memory bound makes chunks of 5 rows (2e6 //
# (2·200,000)), so the loop must visit rows 0 and 5; every entry is checked against numpy.

def test_pairwise_distances_in_chunks_default_frobenius():
    from ns_implicit.theory.conservative import pairwise_distances
    rng = np.random.default_rng(7)
    A = rng.standard_normal((10, 2))
    B = rng.standard_normal((200_000, 2))
    D = pairwise_distances(A, B)
    # rtol: the same 2-term sums of squares and one sqrt, in another order (round-off only)
    np.testing.assert_allclose(D, np.linalg.norm(A[:, None] - B[None], axis=-1), rtol=1e-14)


# Mutants in nearest_point_in_hull: the degenerate branch (every vertex equals x: weights
# zeros(V.shape[1]) instead of one per vertex, weights[0] = 2 or None: not in the simplex) and
# `P = P / scale` -> `P * scale` (the programme is scale invariant, the division is what keeps
# it representable: at scale 1e-200 the product underflows to 0 and at 1e200 overflows). The
# nearest point of the segment [(s, 0), (0, s)] to 0 is (s/2, s/2), weights (1/2, 1/2).

@pytest.mark.parametrize("s", [1e-200, 1.0, 1e200])
def test_nearest_point_in_hull_at_every_scale_and_when_degenerate(s):
    from ns_implicit.theory.conservative import nearest_point_in_hull
    point, weights = nearest_point_in_hull(np.zeros(2), np.array([[s, 0.0], [0.0, s]]))
    # rtol: nnls on a 3 x 2 system with entries 0 and ±1 after scaling (round-off only)
    np.testing.assert_allclose(weights, [0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(point, [0.5 * s, 0.5 * s], rtol=1e-12)
    x = np.array([1.0, -2.0])
    point, weights = nearest_point_in_hull(x, np.array([x, x, x]))
    np.testing.assert_array_equal(point, x)
    np.testing.assert_array_equal(weights, [1.0, 0.0, 0.0])


# Mutant: excess's default `hull=True` -> False. (1/2, 1/2) is in conv{e_1, e_2} (excess 0) but
# at distance √2/2 from both vertices.

def test_excess_defaults_to_the_convex_hull():
    from ns_implicit.theory.conservative import excess
    A, B = np.array([[0.5, 0.5]]), np.eye(2)
    assert excess(A, B) == pytest.approx(0.0, abs=1e-15)        # a member: 0 up to round-off
    assert excess(A, B, hull=False) == pytest.approx(np.sqrt(0.5), rel=1e-15)
    # and hausdorff's default `hull=True` -> False: {e_1, e_2} and {e_1, e_2, (1/2, 1/2)} have
    # the same hull (H = 0); as finite sets they are √2/2 apart ((1/2, 1/2) to either vertex)
    from ns_implicit.theory.conservative import hausdorff
    B3 = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    assert hausdorff(B, B3) == pytest.approx(0.0, abs=1e-15)
    assert hausdorff(B, B3, hull=False) == pytest.approx(np.sqrt(0.5), rel=1e-15)


# Mutant: minkowski_product's shape check `A.ndim != 3 or …` -> `A.ndim != 3 and …`: a set of
# vectors as A (shape (N, d)) must be refused by name (ValueError), not reach `A.shape[2]`.

def test_minkowski_product_refuses_vectors_on_the_left():
    from ns_implicit.theory.conservative import minkowski_product
    with pytest.raises(ValueError, match="minkowski_product needs A of shape"):
        minkowski_product(np.ones((2, 3)), np.ones((4, 3, 2)))


# -- solvers/fixed_point.py: the sparse Trajectory ---------------------------------------------
# Mutants: `extend` dropping the first 2 (not 1) iterates of the continuation (a continued run
# starts where the first one ends, so exactly its first iterate is shared); `nbytes` without
# `@property` or with `-` (memory = Σ_s nnz(w_s)·(4 + 8) bytes: int32 indices, float64 values);
# `self.dtype = None` (iterates come back in the map's dtype); SolveResult's default
# `trajectory=None` -> "".

def test_trajectory_continuation_memory_and_dtype():
    from ns_implicit.solvers.fixed_point import SolveResult
    phi = _map()
    full = fixed_point_iteration(phi, tol=0.0, max_iter=5, store_trajectory=True).trajectory
    first = fixed_point_iteration(phi, tol=0.0, max_iter=2, store_trajectory=True)
    more = fixed_point_iteration(phi, first.w, tol=0.0, max_iter=3, store_trajectory=True)
    first.trajectory.extend(more.trajectory)
    assert len(first.trajectory) == len(full) == 6
    for s in range(6):
        np.testing.assert_array_equal(first.trajectory[s], full[s])   # the same steps, bitwise
    nnz = sum(np.count_nonzero(full[s]) for s in range(6))
    assert nnz > 0 and full.nbytes == nnz * (4 + 8)
    phi32 = ElasticNetMap(np.asarray(phi.parent.T.X, dtype=np.float32),
                          np.asarray(phi.parent.T.y, dtype=np.float32)).at([0.5, 0.1])
    traj32 = fixed_point_iteration(phi32, tol=0.0, max_iter=2, store_trajectory=True).trajectory
    assert traj32.dtype == np.float32 and traj32[2].dtype == np.float32
    assert SolveResult(np.zeros(2), 0, 0.0, True, 0).trajectory is None


# Mutants in _safe_norm (the Euclidean norm where ‖w‖² over/underflows): the empty vector's
# `0.0` -> `1.0`, the early return `peak == 0.0 or not finite` -> `!= 0.0`, `== 1.0`, `finite`.
# Hand values: ‖(3, 4)·10^±200‖ = 5·10^±200 (3-4-5), 0 for 0 and for the empty vector, ∞ for ∞.

def test_safe_norm_hand_values():
    from ns_implicit.solvers.fixed_point import _safe_norm
    for s in (1e200, 1.0, 1e-200):
        # rel: one scaling by the peak and a 2-term norm (round-off only)
        assert _safe_norm(np.array([3.0 * s, -4.0 * s])) == pytest.approx(5.0 * s, rel=1e-15)
    assert _safe_norm(np.array([1.0])) == 1.0
    assert _safe_norm(np.zeros(3)) == 0.0 and _safe_norm(np.zeros(0)) == 0.0
    assert _safe_norm(np.array([np.inf, 1.0])) == np.inf


# Mutants: fixed_point_iteration's defaults max_iter=10_000 -> 10_001 (a fixed step 1e-3 makes
# q > 0.999: the default tol 1e-10 needs > 20,000 steps, so the budget is the count) and
# store_trajectory=False -> True (the O(Σ nnz) trajectory kept for every solve), and
# record_residuals=False -> True.

def test_fixed_point_iteration_defaults():
    slow = _map(step=1e-3)
    assert slow.q > 0.999
    r = fixed_point_iteration(slow)
    assert (r.iterations, r.converged, r.trajectory, r.residuals) == (10_000, False, None, None)



# Mutants: `residual / norm if norm > 0` -> `>= 0` (0/0 at w = 0) and the stop rule `tol > 0`
# -> `tol >= 0`. On the empty active set every step is exactly 0 at w = 0: with tol > 0 the
# solver stops after one step, converged with residual 0; with tol = 0 it runs max_iter steps.

def test_fixed_point_iteration_at_an_exact_zero_fixed_point():
    r = fixed_point_iteration(_empty_map(), tol=1e-10)
    assert (r.iterations, r.residual, r.converged) == (1, 0.0, True)
    r = fixed_point_iteration(_empty_map(), tol=0.0, max_iter=5)
    assert (r.iterations, r.residual, r.converged) == (5, 0.0, True)
