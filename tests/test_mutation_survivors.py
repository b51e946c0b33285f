"""Tests that kill the non-equivalent survivors of the mutmut 2 campaign of
validation/mutation/REPORT.md (mutation IDs and diffs there).

Every expected value is computed independently of the mutated line: from dense matrices built
column by column through a different code path, from numpy linear algebra, or by hand. The
instances are small; the whole file runs in a few seconds.
"""

import numpy as np
import pytest

from ns_implicit import ElasticNetMap
from ns_implicit.maps.selection import Selection


def _map(lam=(0.5, 0.1), seed=0, n=12, p=5, step="paper"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ np.array([2.0, -1.5, 0.0, 1.0, 0.0][:p]) + 0.1 * rng.standard_normal(n)
    return ElasticNetMap(X, y, step=step).at(list(lam))


def _dense_B(sel, m):
    """``B`` column by column through ``Selection.B`` (not ``BT``)."""
    return np.column_stack([sel.B(e) for e in np.eye(m)])


def _dense_A(sel, p):
    return np.column_stack([sel.A(e) for e in np.eye(p)])


# -- selection.py ------------------------------------------------------------------------------
# Mutant (selection.py, BT): `g_gamma != 0.0` -> `g_gamma != 1.0`: the term ∇γ ∂_γGᵀv is dropped
# exactly when ∂_γGᵀv = 1. With λ1 = 1/2 and v = -2 s_i e_i at an active i,
# ∂_γGᵀv = -λ1 <m ⊙ s, v> = -(1/2)(-2) = 1 exactly in binary floating point.

def test_selection_BT_keeps_the_step_size_term_when_dG_dgamma_is_one():
    phi = _map(lam=(0.5, 0.1))
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    sel = phi.selection(w)
    assert sel.dgamma is not None  # the paper's step γ(λ2) depends on λ2
    active = np.flatnonzero(sel.mask)
    assert len(active) >= 1
    i = active[0]
    s = np.sign(phi.inner_point(w)[i])
    v = np.zeros(phi.dim)
    v[i] = -2.0 * s
    assert -0.5 * (sel.gsel.signed_mask @ v) == 1.0  # the instance hits the mutated value
    expected = _dense_B(sel, phi.n_hyper).T @ v
    # rtol: BT and the dense B sum the same few products in a different order (round-off only)
    np.testing.assert_allclose(sel.BT(v), expected, rtol=1e-12, atol=1e-15)


# Mutant (selection.py, __init__): `getattr(lin, "symmetric", False)` -> default True: a step
# whose linearization does not declare ∂_wT symmetric would be tagged SPD, and exact would run
# Cholesky (which reads one triangle only) on a non-symmetric restricted system.

class _NoSymmetricTag:
    """A linearization that does not declare the ``symmetric`` tag (steps/__init__.py)."""

    def __init__(self, lin):
        self._lin = lin

    def __getattr__(self, name):
        if name == "symmetric":
            raise AttributeError(name)
        return getattr(self._lin, name)


def test_selection_is_not_spd_unless_the_step_declares_symmetry():
    phi = _map()
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    lin = phi.T.linearize(w)
    gsel = phi.operator_selection(lin.value)
    assert Selection(lin, gsel, 1, phi.T.dgamma).spd is True   # the real step declares it
    assert Selection(_NoSymmetricTag(lin), gsel, 1, phi.T.dgamma).spd is False


# Mutant (selection.py, active_block_norm): the empty row set returns 1.0 instead of 0.0. With
# R = ∅ the selection's A vanishes (every coordinate thresholded to 0), so q_S = ‖A[R, R]‖ = 0:
# ITD/AID converge in one step. λ1 > λ1_max makes the active set at w = 0 empty (§13 item 1).

def test_active_block_norm_is_zero_on_an_empty_active_set():
    phi = _map(lam=(0.5, 0.1))
    lam1_max = float(phi.parent.lam1_max)
    phi = phi.parent.at([2.0 * lam1_max, 0.1])
    sel = phi.selection(np.zeros(phi.dim))
    assert len(sel.rows) == 0
    assert not np.any(_dense_A(sel, phi.dim))  # A = 0 here, so its norm is 0
    assert sel.active_block_norm() == 0.0
    # and on a non-empty set it is the spectral norm of the dense A[R, R]
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    sel = _map(lam=(0.5, 0.1)).selection(w)
    R = sel.rows
    assert len(R) >= 2
    A = _dense_A(sel, 5)[np.ix_(R, R)]
    # rtol: two LAPACK SVDs of the same 2..5 x 2..5 matrix built along different paths
    assert sel.active_block_norm() == pytest.approx(np.linalg.norm(A, 2), rel=1e-12)


# -- operators/soft_threshold.py ---------------------------------------------------------------
# Mutants: `n_params = 0 if lam is not None` -> `1 if ...`; `self.fixed = None` (λ given ignored);
# `B`: `... if self.n_params else 0.0` -> `else 1.0` (a spurious -(m ⊙ s) in ∂G/∂γ y_γ with a
# fixed λ1). Forward (exact_jacobian, through B) and reverse (exact, through BT) must agree.

def test_soft_threshold_with_a_fixed_weight_forward_equals_reverse():
    from ns_implicit.maps.composite import CompositeMap
    from ns_implicit.methods.exact import exact, exact_jacobian
    from ns_implicit.operators.soft_threshold import SoftThreshold
    from ns_implicit.steps.least_squares import LeastSquaresStep

    G = SoftThreshold(0.5)
    assert (G.fixed, G.n_params, G.param_names) == (0.5, 0, ())
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 5))
    y = X @ np.array([2.0, -1.5, 0.0, 1.0, 0.0])
    # an array: .at([0.1]) (a list) raises AttributeError in CompositeMap.check_lam (REPORT.md)
    phi = CompositeMap(G, LeastSquaresStep(X, y)).at(np.array([0.1]))   # λ = (λ2,) only
    assert phi.n_hyper == 1
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    sel = phi.selection(w)
    assert len(sel.rows) >= 2
    # B of the operator with λ fixed: ∂_γG y_γ = -λ (m ⊙ s) y_γ, nothing else
    np.testing.assert_array_equal(sel.gsel.B(np.empty(0), 0.0), np.zeros(5))
    np.testing.assert_array_equal(sel.gsel.B(np.empty(0), 2.0), -0.5 * 2.0 * sel.gsel.signed_mask)
    u = np.array([1.0, -2.0, 0.5, 3.0, 1.5])
    J = exact_jacobian(phi, w).value
    # rtol: the same restricted system solved for a column vs for u (LAPACK round-off only)
    np.testing.assert_allclose(J.T @ u, exact(phi, w, u).value, rtol=1e-10, atol=1e-14)


# Mutant: check_positive_float(lam, "lam1", strict=False) -> strict=True: λ1 = 0 (the identity
# map S_0, documented "float >= 0") would be refused.

def test_soft_threshold_accepts_a_fixed_zero_weight():
    from ns_implicit.operators.soft_threshold import SoftThreshold
    G = SoftThreshold(0.0)
    assert G.fixed == 0.0 and G.n_params == 0
    u = np.array([1.5, -0.25, 0.0])
    np.testing.assert_array_equal(G.value(u, (), 1.0), u)   # S_0 is the identity


# Mutants: the default tie rule `tie_active=False` -> True in SoftThreshold.__init__ and in
# soft_threshold_with_selection: the reference vertex at a tie |u_i| = τ is the INACTIVE one.

def test_default_tie_rule_is_inactive():
    from ns_implicit.operators.soft_threshold import SoftThreshold, soft_threshold_with_selection
    u = np.array([2.0, -2.0, 3.0, 1.0])   # τ = 2: u_0, u_1 tie exactly
    out, mask, sign, ties = soft_threshold_with_selection(u, 2.0)
    np.testing.assert_array_equal(mask, [0, 0, 1, 0])
    assert ties == 2
    np.testing.assert_array_equal(out, [0.0, 0.0, 1.0, 0.0])
    G = SoftThreshold()
    assert G.tie_active is False
    np.testing.assert_array_equal(G.select(u, np.array([1.0]), 2.0).mask, [0, 0, 1, 0])


# Mutants in ties()/vertices(): default tie_tol 0.0 -> 1.0 (both), `gap <= tie_tol*τ` -> `<`,
# `tie_tol * τ` -> `tie_tol / τ`, `np.array(u, copy=True)` -> copy=False (the snap of
# near-ties then overwrites the caller's u), and `τ == 0 and any(u_ties == 0)` -> `or`
# (λ1 = 0 refused even when no u_i is 0). τ = γλ = 2·1 = 2; every number is dyadic, so the
# boundary |2.5| - 2 = 0.25·2 is exact.

def test_ties_and_vertices_tolerances_and_boundary():
    from ns_implicit.operators.soft_threshold import SoftThreshold
    G = SoftThreshold()
    lam = np.array([1.0])
    u = np.array([2.0, 2.5, -2.0, 1.0])
    np.testing.assert_array_equal(G.ties(u, lam, 2.0), [0, 2])                # exact ties only
    np.testing.assert_array_equal(G.ties(u, lam, 2.0, tie_tol=0.25), [0, 1, 2])  # 0.5 <= 0.5
    np.testing.assert_array_equal(G.ties(u, lam, 2.0, tie_tol=0.2), [0, 2])    # 0.5 > 0.4
    assert len(G.vertices(u, lam, 2.0)) == 4                                  # 2 exact ties
    u_before = u.copy()
    verts = G.vertices(u, lam, 2.0, tie_tol=0.25)
    np.testing.assert_array_equal(u, u_before)      # the caller's array is not snapped
    assert len(verts) == 8
    assert {tuple(v.mask) for v in verts} == {(a, b, c, 0) for a in (0, 1) for b in (0, 1)
                                             for c in (0, 1)}
    # λ1 = 0 with no u_i = 0: S_0 is the identity there, one selection, every row active
    verts0 = G.vertices(np.array([1.0, -2.0]), np.array([0.0]), 2.0)
    assert len(verts0) == 1
    np.testing.assert_array_equal(verts0[0].mask, [1, 1])


# -- methods/exact.py --------------------------------------------------------------------------
# Mutants in _solve: `if info == 0: return x` -> `info != 0` / `info == 1`: a matrix tagged SPD
# that is not positive definite (LAPACK posv info = k > 0: the k-th leading minor) must fall
# back to LU, never return posv's partial factorisation. info = 1 and info = 2 instances, and
# an SPD one (info = 0) where both paths must give the answer.

@pytest.mark.parametrize("M", [[[-1.0, 0.0], [0.0, 1.0]],     # posv info = 1
                               [[1.0, 2.0], [2.0, 1.0]],      # posv info = 2
                               [[4.0, 1.0], [1.0, 3.0]]])     # SPD: info = 0
def test_exact_solve_falls_back_to_lu_when_not_positive_definite(M):
    from ns_implicit.methods.exact import _solve
    M = np.array(M)
    rhs = np.array([1.0, -2.0])
    q = 0.5  # a contraction that certifies the conditioning: no rcond check, LU fallback
    # rtol: a 2 x 2 solve by Cholesky or LU vs numpy's LU, round-off only
    np.testing.assert_allclose(_solve(M, rhs, True, q)[0], np.linalg.solve(M, rhs), rtol=1e-13)
    # rtol: the residual of a backward-stable 2 x 2 solve with entries <= 4 is a few ulps
    np.testing.assert_allclose(M @ _solve(M, rhs, True, q)[0], rhs, rtol=1e-13, atol=1e-15)


# Mutants: the records of exact / exact_jacobian: method label, iterations 0, residual 0.0,
# converged True (a direct solve; the CLI and the benchmarks report these fields).

def test_exact_records_are_direct_solves():
    from ns_implicit.methods.exact import exact, exact_jacobian
    phi = _map()
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    r = exact(phi, w, np.ones(5))
    assert (r.method, r.iterations, r.residual, r.converged) == ("exact", 0, 0.0, True)
    r = exact_jacobian(phi, w)
    assert (r.method, r.iterations, r.residual, r.converged) == ("exact-jacobian", 0, 0.0, True)


# -- methods/aid_fp.py -------------------------------------------------------------------------
# v_0 = 0, v_i = Aᵀ v_{i-1} + u, ĝ = Bᵀ v_k (docs/theory.md §7 eq. (14)), by hand with the dense
# A and B of the selection. Mutants: the loop counter starting at 1 (one step fewer), residual
# ‖v_k - v_{k-1}‖·‖u‖ instead of /‖u‖ (‖u‖ = 1/2 here, so they differ by 4x), `result.v = None`,
# the record's label, `history=True` by default.

def test_aid_fp_k_steps_by_hand():
    from ns_implicit.methods.aid_fp import aid_fp
    phi = _map()
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    sel = phi.selection(w)
    A, B = _dense_A(sel, 5), _dense_B(sel, 2)
    u = np.array([0.5, 0.0, 0.0, 0.0, 0.0])       # ‖u‖ = 1/2, already unit-scaled
    vs = [np.zeros(5)]
    for _ in range(3):
        vs.append(A.T @ vs[-1] + u)
    r = aid_fp(phi, w, u, iters=3, tol=0.0)
    assert (r.method, r.iterations, r.history) == ("aid-fp", 3, None)
    # rtol: 3 products with a 5 x 5 matrix, summed in a different order (round-off only)
    np.testing.assert_allclose(r.v, vs[3], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.value, B.T @ vs[3], rtol=1e-12, atol=1e-15)
    # rel: the same step difference, round-off of the 3 products only (the mutant is off 4x)
    assert r.residual == pytest.approx(np.linalg.norm(vs[3] - vs[2]) / 0.5, rel=1e-12)
    assert r.converged is False
    # iters = 0: nothing done, residual 1 (nothing certified), value 0
    r0 = aid_fp(phi, w, u, iters=0)
    assert (r0.iterations, r0.residual, r0.converged) == (0, 1.0, False)
    np.testing.assert_array_equal(r0.value, np.zeros(2))


# Mutants: `v0 if u_norm > 0` -> `>= 0` (a warm start returned for u = 0, whose solution is 0)
# and -> `> 1` (the warm start ignored when ‖u‖ <= 1); residual initialised to 1 for u = 0
# (`u_norm >= 0` / `else 1.0`: the loop then divides by ‖u‖ = 0).

def test_aid_fp_zero_rhs_and_warm_start():
    from ns_implicit.methods.aid_fp import aid_fp
    phi = _map()
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    r = aid_fp(phi, w, np.zeros(5), v0=np.ones(5))
    assert (r.iterations, r.residual, r.converged) == (0, 0.0, True)
    np.testing.assert_array_equal(r.value, np.zeros(2))
    r = aid_fp(phi, w, np.zeros(5))
    assert (r.iterations, r.residual, r.converged) == (0, 0.0, True)
    u = np.array([0.5, 0.0, 0.0, 0.0, 0.0])       # ‖u‖ = 1/2 < 1
    cold = aid_fp(phi, w, u, tol=1e-12)
    assert cold.converged and cold.iterations > 5
    warm = aid_fp(phi, w, u, tol=1e-12, v0=cold.v)
    # from a converged v the first step moves by round-off only (<< 1e-12 ‖u‖)
    assert warm.converged and warm.iterations == 1


# Mutants: `while ... residual > tol` -> `>=` and `converged = residual <= tol` -> `<`. With an
# empty active set A = 0: v_1 = u (residual 1), v_2 = u (residual exactly 0): tol = 0 stops at
# i = 2 and is converged.

def test_aid_fp_stops_at_an_exact_zero_residual_with_tol_zero():
    from ns_implicit.methods.aid_fp import aid_fp
    base = _map()
    phi = base.parent.at([2.0 * float(base.parent.lam1_max), 0.1])
    w = np.zeros(5)
    assert len(phi.selection(w).rows) == 0
    r = aid_fp(phi, w, np.ones(5), iters=50, tol=0.0)
    assert (r.iterations, r.residual, r.converged) == (2, 0.0, True)


# Mutants in aid_fp_forward: the initial residual 1.0 -> 2.0 (reported when iters = 0) and the
# default budget iters=1000 -> 1001. A fixed step 1e-3 makes q = 1 - 1e-3(μ + λ2) so close to 1
# that 1000 steps do not reach the default tol; the budget is then the iteration count.

def test_aid_fp_forward_budget_and_initial_residual():
    from ns_implicit.methods.aid_fp import aid_fp_forward
    phi = _map(step=1e-3)
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    r0 = aid_fp_forward(phi, w, iters=0)
    assert (r0.iterations, r0.residual, r0.converged) == (0, 1.0, False)
    assert phi.q > 0.999
    r = aid_fp_forward(phi, w)
    assert (r.method, r.iterations, r.converged) == ("aid-fp-forward", 1000, False)


# Mutants: aid_fp's default iters=1000 -> 1001 (same instance as above), aid_fp_forward's
# residual ‖J_k - J_{k-1}‖·‖B‖ instead of /‖B‖ (checked by hand after 3 steps), and on B = 0
# (empty active set): the initial residual `else 0.0` -> `else 1.0` (the loop would divide by
# ‖B‖ = 0) and `converged = residual <= tol` -> `<` (tol = 0, residual exactly 0).

def test_aid_fp_default_budget_and_forward_residual_by_hand():
    from ns_implicit.methods.aid_fp import aid_fp, aid_fp_forward
    slow = _map(step=1e-3)
    w = np.array([1.0, -1.0, 0.25, 0.5, 0.0])
    r = aid_fp(slow, w, np.ones(5))
    assert (r.iterations, r.converged) == (1000, False)
    phi = _map()
    sel = phi.selection(w)
    A, B = _dense_A(sel, 5), _dense_B(sel, 2)
    Js = [np.zeros((5, 2))]
    for _ in range(3):
        Js.append(A @ Js[-1] + B)
    r = aid_fp_forward(phi, w, iters=3, tol=0.0)
    assert abs(np.linalg.norm(B) - 1.0) > 0.1   # the instance separates /‖B‖ from ·‖B‖
    # rtol: 3 dense products summed in a different order (round-off only)
    np.testing.assert_allclose(r.value, Js[3], rtol=1e-12, atol=1e-15)
    # rel: round-off of the 3 dense products only (the mutant is off by a factor ‖B‖²)
    assert r.residual == pytest.approx(np.linalg.norm(Js[3] - Js[2]) / np.linalg.norm(B),
                                       rel=1e-12)
    empty = phi.parent.at([2.0 * float(phi.parent.lam1_max), 0.1])
    r = aid_fp_forward(empty, np.zeros(5), tol=0.0)
    assert (r.iterations, r.residual, r.converged) == (0, 0.0, True)
    np.testing.assert_array_equal(r.value, np.zeros((5, 2)))


# -- theory/bounds.py --------------------------------------------------------------------------
# Mutant: itd_bound_after_identification's exponent max(s - 1, 0) -> max(s - 1, 1): differs at
# s = t - t̄ = 1, where the drift term is C Δ_t̄ · 1 · q⁰. Hand values (q = 1/2, L_Φ = 1, ν₁ = 0,
# ν₂ = 1, Δ_t̄ = 1, t̄ = 2; C = ν₂ + ν₁L_Φ/(1-q) = 1), exact in binary:
#   s = 0: 0 + 2·1/(1/2)·1 = 4;  s = 1: 1·1·1·1 + 4·(1/2) = 3;  s = 2: 1·2·(1/2) + 4/4 = 2.

def test_itd_bound_after_identification_hand_values_at_small_s():
    import dataclasses
    from ns_implicit.theory.bounds import itd_bound_after_identification
    C = dataclasses.make_dataclass("C", ["q", "L_Phi", "nu1", "nu2"])
    c = C(q=0.5, L_Phi=1.0, nu1=0.0, nu2=1.0)
    got = itd_bound_after_identification(np.array([1.0, 2.0, 3.0, 4.0]), 2, 1.0, c)
    assert np.isnan(got[0])                       # t < t̄: no bound
    np.testing.assert_array_equal(got[1:], [4.0, 3.0, 2.0])
