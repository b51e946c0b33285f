"""Selection sets of the elastic-net map, the constants of Assumption 3.1 and the bounds of
Theorem 4.1 checked on real runs (docs/theory.md §4, §6, §8, §11.2).

Points *exactly* at a kink are built in floating point: ``u = T(w, λ)`` does not depend on
``λ1``, so ``λ1`` is moved by ulps until ``fl(γ λ1) == |u_j|``; or ``w = 0`` at
``λ1 = λ1_max`` with integer data (``u = γ b`` and ``τ = γ max|b|`` round identically).
"""

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ns_implicit import ElasticNetMap, SelectionCapError
from ns_implicit.cli import main
from ns_implicit.theory.conservative import distance_to_set, excess
from ns_implicit.methods import aid_fp_forward, exact_jacobian, itd_forward
from ns_implicit.theory.sets import (aid_fp_set, dense_pair, fixed_point_set, implicit_jacobians,
                              itd_set_iterates, itd_set_step, selection_matrices, selections,
                              tied_coordinates)
from ns_implicit.solvers.fixed_point import fixed_point_iteration
from ns_implicit.theory import (aid_beats_itd_from, aid_fp_bound, elastic_net_constants,
                                itd_bound, itd_bound_after_identification, support_identified_at)
from ns_implicit.theory.check import check_instance
from ns_implicit.theory.instances import (DegenerateKinkError, kink_instance, make_data,
                                         random_instance)

# Round-off allowance for comparing Jacobians built along different float64 paths (a p ≤ 6
# solve or recursion of contraction q ≤ 0.9): observed ≤ 1e-14, asserted at 1e-11 × scale.
RTOL = 1e-11


def exact_tie_lam1(emap, lam2, target):
    """``λ1`` with ``fl(γ(λ2) λ1) == target`` (float64), or None if no float reaches it."""
    gamma, _ = emap.T.step_size(lam2)
    lam1 = target / gamma
    for _ in range(200):
        tau = float(np.float64(gamma * lam1))
        if tau == target:
            return lam1
        lam1 = np.nextafter(lam1, np.inf if tau < target else -np.inf)
    return None


def integer_data(seed, n, p, duplicate=True):
    """Small-integer data (exact dot products); column p-1 copies the column of max |b|."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(n, p)).astype(np.float64)
    y = rng.integers(-5, 6, size=n).astype(np.float64)
    if duplicate:
        j = int(np.argmax(np.abs(X[:, :-1].T @ y)))
        X[:, -1] = X[:, j]
    return X, y


def stacked(A, B):
    return np.concatenate([A, B], axis=-1)


# -- D_Φ(w, λ): the enumerated selections --------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), p=st.integers(2, 6), n=st.integers(3, 14),
       lam2=st.sampled_from([0.05, 0.3]), tie_active=st.booleans(), at_tie=st.booleans())
def test_oracle_selection_is_enumerated(seed, p, n, lam2, tie_active, at_tie):
    X, y = make_data(seed, n, p)
    emap = ElasticNetMap(X, y, tie_active=tie_active)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(p) * (rng.random(p) < 0.6)
    u = emap.at([1.0, lam2]).inner_point(w)
    if at_tie:
        lam1 = exact_tie_lam1(emap, lam2, float(abs(u[rng.integers(p)])))
        assume(lam1 is not None and lam1 > 0)
    else:
        lam1 = float(rng.uniform(0.01, 1.0) * np.max(np.abs(u)) / emap.T.step_size(lam2)[0])
    phi = emap.at([lam1, lam2])
    n_ties = int(np.count_nonzero(np.abs(phi.inner_point(w)) == phi.tau))
    assert n_ties >= int(at_tie)
    A, B = selection_matrices(phi, w)
    assert A.shape[0] == 2 ** n_ties
    oracle = stacked(*dense_pair(phi.selection(w), p, 2))
    # Same arithmetic path for the oracle and the enumeration: the member is bit-identical.
    assert distance_to_set(oracle, stacked(A, B)) == 0.0
    assert len(tied_coordinates(phi, w)) == n_ties


def test_two_exact_ties_give_four_selections_and_the_cap():
    X, y = integer_data(0, 12, 5)
    emap = ElasticNetMap(X, y)
    phi = emap.at([emap.lam1_max, 0.1])
    w = np.zeros(5)
    assert len(tied_coordinates(phi, w)) == 2
    A, B = selection_matrices(phi, w)
    assert A.shape[0] == 4
    for tie_active in (False, True):
        other = ElasticNetMap(X, y, tie_active=tie_active).at(phi.lam)
        member = stacked(*dense_pair(other.selection(w), 5, 2))
        assert distance_to_set(member, stacked(A, B)) == 0.0
    with pytest.raises(SelectionCapError, match="cap=3"):
        selections(phi, w, cap=3)


def exact_kink(seeds):
    """The first kink instance among ``seeds`` whose tie is made exact in float64.

    ``kink_instance`` puts the tie ``|u*_j| = γλ1`` only to round-off. ``u = T(w*, λ)`` does
    not depend on ``λ1``, so ``λ1`` is moved by ulps until ``fl(γλ1) == |u*_j|``
    (:func:`exact_tie_lam1`; a move of a few ulps, so ``w*`` stays the fixed point to
    round-off). Returns ``(map, phi, w_star)`` with the exact tie verified.
    """
    for seed in seeds:
        X, y = make_data(seed, 12, 4)
        inst = kink_instance(X, y, 0.3 * ElasticNetMap(X, y).lam1_max, 0.1)
        j = inst.ties[0]
        lam2 = float(inst.lam[1])
        lam1 = exact_tie_lam1(inst.map, lam2, float(abs(inst.phi.inner_point(inst.w_star)[j])))
        if lam1 is None:
            continue
        phi = inst.map.at([lam1, lam2])
        if list(tied_coordinates(phi, inst.w_star)) == [j]:
            return inst.map, phi, inst.w_star
    raise AssertionError(f"no seed in {seeds} gives an exact single tie")


def test_implicit_set_at_a_kink_holds_both_tie_rules():
    emap, phi, w_star = exact_kink(range(1, 11))
    X, y, lam = emap.T.X, emap.T.y, phi.lam
    D = implicit_jacobians(phi, w_star)
    assert D.shape[0] == 2 and np.linalg.norm(D[0] - D[1]) > 0.1
    scale = np.max(np.abs(D))
    J = {}
    for tie_active in (False, True):
        J[tie_active] = exact_jacobian(ElasticNetMap(X, y, tie_active=tie_active).at(lam),
                                       w_star).value
        assert distance_to_set(J[tie_active], D) <= RTOL * scale
    # the two tie rules pick the two different vertices
    assert np.linalg.norm(J[False] - J[True]) > 0.1


def test_fixed_point_set_contains_the_implicit_set_and_converges():
    inst = random_instance(0, at_kink=True)
    phi, w = inst.phi, inst.w_star
    D = implicit_jacobians(phi, w, tie_tol=inst.tie_tol)
    c = elastic_net_constants(phi, w, tie_tol=inst.tie_tol)
    radii = []
    for depth in (0, 2, 4, 6):
        F, radius = fixed_point_set(phi, w, depth=depth, tie_tol=inst.tie_tol)
        radii.append(radius)
        # Lemma 3.2(c): 𝒟_imp ⊆ 𝒟_fix, kept by every 𝒥ⁿ
        assert excess(D, F, hull=False) <= RTOL * c.jacobian_bound
        # Lemma 3.2(d): ‖J‖ <= L_Φ/(1-q)
        assert np.max(np.linalg.norm(F, 2, axis=(1, 2))) <= c.jacobian_bound * (1 + RTOL)
        assert F.shape[0] >= D.shape[0]
    assert all(r1 < r0 for r0, r1 in zip(radii, radii[1:]))
    with pytest.raises(SelectionCapError, match="cap=8"):
        fixed_point_set(phi, w, depth=6, cap=8, tie_tol=inst.tie_tol)
    # a single selection: 𝒟_fix = 𝒟_imp exactly
    gen = random_instance(0)
    F, radius = fixed_point_set(gen.phi, gen.w_star)
    assert radius == 0.0 and F.shape[0] == 1
    np.testing.assert_allclose(F[0], exact_jacobian(gen.phi, gen.w_star).value, atol=1e-12)


def test_itd_sets_on_a_run_that_sits_on_ties():
    """``w = 0`` at ``λ1_max`` with two exact ties is a fixed point: the ITD set grows, and
    ITD's recursion at the constant point (which is AID-FP's) produces members."""
    X, y = integer_data(3, 12, 5)
    emap = ElasticNetMap(X, y)
    phi = emap.at([emap.lam1_max, 0.2])
    w = np.zeros(5)
    sets = itd_set_iterates(phi, [w] * 6)
    sizes = [s.shape[0] for s in sets]
    assert sizes[:3] == [1, 4, 13]  # 4 selections; (0, 0) and repeated masks coincide
    assert all(b > a for a, b in zip(sizes, sizes[1:]))
    scale = np.max(np.abs(sets[-1]))
    for k in range(1, 7):
        J = aid_fp_forward(phi, w, iters=k, tol=0.0).value
        assert distance_to_set(J, sets[k]) <= RTOL * scale
        assert excess(aid_fp_set(phi, w, k), sets[k], hull=False) <= RTOL * scale
    with pytest.raises(SelectionCapError, match="t=3"):
        itd_set_iterates(phi, [w] * 6, cap=20)


def test_itd_set_step_names_a_misshaped_previous_set():
    X, y = integer_data(3, 12, 5)
    phi = ElasticNetMap(X, y).at([0.5, 0.2])
    w = np.zeros(5)
    with pytest.raises(ValueError, match=r"elements of X have shape \(2,\); expected \(5, 2\)"):
        itd_set_step(phi, w, np.zeros((5, 2)))  # one element without its set axis
    with pytest.raises(ValueError, match=r"elements of X have shape \(2, 5\); expected \(5, 2\)"):
        itd_set_step(phi, w, np.zeros((1, 2, 5)))
    np.testing.assert_array_equal(itd_set_step(phi, w, np.zeros((1, 5, 2))),
                                  itd_set_iterates(phi, [w])[1])


def test_itd_set_on_a_generic_run_is_itd_forward():
    inst = random_instance(2)
    traj = fixed_point_iteration(inst.phi, tol=0.0, max_iter=30, store_trajectory=True).trajectory
    points = [traj[s] for s in range(len(traj) - 1)]
    sets = itd_set_iterates(inst.phi, points)
    outputs = {}
    itd_forward(inst.phi, iters=len(points), tol=0.0,
                on_step=lambda s, w, J: outputs.__setitem__(s, J.copy()))
    for s, J in outputs.items():
        assert sets[s].shape[0] == 1
        np.testing.assert_allclose(sets[s][0], J, atol=1e-12)


def test_aid_fp_set_converges_to_the_implicit_set_within_theorem_4_1():
    inst = random_instance(3, at_kink=True)
    phi, w = inst.phi, inst.w_star
    c = elastic_net_constants(phi, w, tie_tol=inst.tie_tol)
    D = implicit_jacobians(phi, w, tie_tol=inst.tie_tol)
    for k in (0, 1, 5, 20, 60):
        S = aid_fp_set(phi, w, k, tie_tol=inst.tie_tol)
        # Δ_t = 0 at w*: the bound is L_Φ q^k / (1 - q)
        assert excess(S, D, hull=False, norm="op") <= aid_fp_bound(k, 0.0, c) + RTOL
        J = aid_fp_forward(phi, w, iters=k, tol=0.0).value
        assert distance_to_set(J, S) <= RTOL * c.jacobian_bound


# -- the constants -------------------------------------------------------------------------

def test_nu2_formula_for_both_step_rules():
    X, y = make_data(0, 20, 5)
    phi = ElasticNetMap(X, y).at([0.05, 0.1])
    w = fixed_point_iteration(phi, tol=1e-14).w
    c = elastic_net_constants(phi, w)
    assert c.nu1 == 0.0
    assert c.nu2 == pytest.approx(c.gamma * c.q, rel=1e-12)  # docs/theory.md §11.2
    phi_fixed = ElasticNetMap(X, y, step=0.5 / ElasticNetMap(X, y).T.L).at([0.05, 0.1])
    c_fixed = elastic_net_constants(phi_fixed, fixed_point_iteration(phi_fixed, tol=1e-14).w)
    assert c_fixed.nu2 == pytest.approx(c_fixed.gamma, rel=1e-12)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.integers(2, 6), at_kink=st.booleans(),
       lam2=st.sampled_from([0.05, 0.2]))
def test_assumption_3_1_holds_in_the_ball_of_radius_R(seed, p, at_kink, lam2):
    """Sampled points of ``B(w*, R)``: every selection there has a selection at ``w*`` with the
    same ``A`` (ν₁ = 0) and ``‖B - B̄‖ ≤ ν₂ ‖w - w*‖``; ``‖A‖ ≤ q`` and ``‖B‖ ≤ L_Φ``."""
    try:
        inst = random_instance(seed, n_train=3 * p, p=p, lam1_ratio=0.4, lam2=lam2,
                               at_kink=at_kink)
    except DegenerateKinkError:
        assume(False)
    phi, w_star = inst.phi, inst.w_star
    rng = np.random.default_rng(seed)
    points = []
    c = elastic_net_constants(phi, w_star, tie_tol=inst.tie_tol)
    assume(np.isfinite(c.R))
    for _ in range(10):
        d = rng.standard_normal(p)
        points.append(w_star + rng.uniform(0.0, 0.999) * c.R * d / np.linalg.norm(d))
    c = elastic_net_constants(phi, w_star, visited=points, tie_tol=inst.tie_tol)
    star = {tuple(s.mask): dense_pair(s, p, 2) for s in selections(phi, w_star, tie_tol=inst.tie_tol)}
    for w in points:
        for sel in selections(phi, w):
            A, B = dense_pair(sel, p, 2)
            assert tuple(sel.mask) in star
            A_bar, B_bar = star[tuple(sel.mask)]
            dist = np.linalg.norm(w - w_star)
            assert np.linalg.norm(A - A_bar, 2) <= 1e-14
            assert np.linalg.norm(B - B_bar, 2) <= c.nu2 * dist + 1e-14
            assert np.linalg.norm(A, 2) <= c.q * (1 + 1e-12)
            assert np.linalg.norm(B, 2) <= c.L_Phi * (1 + 1e-12)


# -- the bound curves ----------------------------------------------------------------------

def test_bound_formulas():
    c = dataclasses.make_dataclass("C", ["q", "L_Phi", "nu1", "nu2"])(0.5, 2.0, 0.0, 0.25)
    assert itd_bound(0, c, 1.0) == pytest.approx(4.0)
    assert itd_bound(3, c, 1.0) == pytest.approx(0.25 * 3 * 0.25 + 4.0 * 0.125)
    after = itd_bound_after_identification(np.arange(6), 2, 0.1, c)
    assert np.isnan(after[:2]).all() and after[2] == pytest.approx(8.0)
    assert after[4] == pytest.approx(0.25 * 0.1 * 2 * 0.5 + 8.0 * 0.25)
    assert aid_fp_bound(0, 0.0, c) == pytest.approx(4.0)
    assert aid_fp_bound(2, 0.4, c) == pytest.approx(0.25 / 0.5 * 0.4 + 4.0 * 0.25)
    assert aid_beats_itd_from(0.5) == pytest.approx(1.0)
    assert support_identified_at([5.0, 3.0, 1.0, 0.5, 0.2], 1.0) == 3
    assert support_identified_at([0.5, 0.2], 1.0) == 0
    assert support_identified_at([5.0, 3.0], 1.0) is None


@settings(max_examples=14, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.integers(2, 6), at_kink=st.booleans(),
       lam1_ratio=st.sampled_from([0.1, 0.3, 0.6]), lam2=st.sampled_from([0.05, 0.2]))
def test_measured_excess_is_below_the_bound_at_every_iteration(seed, p, at_kink, lam1_ratio, lam2):
    try:
        inst = random_instance(seed, n_train=3 * p, p=p, lam1_ratio=lam1_ratio, lam2=lam2,
                               at_kink=at_kink)
    except DegenerateKinkError:  # a near-degenerate path (two coordinates entering together)
        assume(False)
    result = check_instance(inst, iters=50)
    assert result.problems == []
    assert result.violations == []
    assert np.isfinite(result.aid_bound).any()  # the check is not vacuous
    if at_kink:
        assert result.info["implicit_set_size"] == 2


def test_the_check_catches_wrong_constants():
    """With understated constants the same measurements violate the bounds: ``L_Φ/20, ν₂ = 0``
    for AID-FP; a halved rate ``q`` for ITD (whose bound is looser by a larger factor)."""
    result = check_instance(random_instance(0, at_kink=True), iters=60)
    assert result.passed
    bad = dataclasses.replace(result.constants, L_Phi=result.constants.L_Phi / 20, nu2=0.0)
    ok = np.isfinite(result.aid_bound)
    wrong = aid_fp_bound(result.t, result.delta, bad)
    assert np.any(result.aid_excess[ok] > wrong[ok] + result.atol)
    bad = dataclasses.replace(result.constants, q=result.constants.q / 2)
    wrong_itd = itd_bound_after_identification(result.t, result.t_bar,
                                               result.delta[result.t_bar], bad)
    ok = np.isfinite(wrong_itd)
    assert np.any(result.itd_excess[ok] > wrong_itd[ok] + result.atol)


# -- errors ---------------------------------------------------------------------------------

def test_bad_input_gives_clear_errors():
    X, y = make_data(0, 12, 4)
    phi = ElasticNetMap(X, y).at([0.05, 0.1])
    with pytest.raises(ValueError, match="NaN"):
        selections(phi, [np.nan, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="length p = 4"):
        implicit_jacobians(phi, np.zeros(3))
    with pytest.raises(ValueError, match="tie_tol"):
        selections(phi, np.zeros(4), tie_tol=-1.0)
    with pytest.raises(ValueError, match="cap"):
        selections(phi, np.zeros(4), cap=0)
    Xz = X.copy()
    Xz[:, 1] = 0.0  # b_1 = 0, so u_1 = 0 at w = 0: a tie of S_0 when lam1 = 0
    with pytest.raises(ValueError, match="lam1 > 0"):
        selections(ElasticNetMap(Xz, y).at([0.0, 0.1]), np.zeros(4))
    with pytest.raises(ValueError, match="k"):
        aid_fp_set(phi, np.zeros(4), -1)


# -- the command line -----------------------------------------------------------------------

@pytest.mark.parametrize("kinks", [False, True])
def test_check_bounds_quick_cli(tmp_path, kinks, capsys):
    path = tmp_path / "cb.json"
    argv = ["check-bounds", "--quick", "--json", str(path)] + (["--at-kinks"] if kinks else [])
    assert main(argv) == 0
    assert "PASS" in capsys.readouterr().out
    doc = json.loads(path.read_text())
    assert (tmp_path / "cb.png").stat().st_size > 0
    assert doc["summary"]["passed"] and doc["summary"]["instances"] >= 5
    compared = 0
    for inst in doc["instances"]:
        assert bool(inst["ties"]) == kinks
        # the implicit function theorem's condition: (I - A)[R, R] of a q-contraction has its
        # spectrum in [1 - q, 1 + q] (symmetric here), so σ_min >= 1 - q at every vertex
        assert inst["ift_sigma_min"] >= 1 - inst["constants"]["q"] - 1e-12
        for method in ("itd", "aid_fp"):
            for measured, bound in zip(inst[method]["measured"], inst[method]["bound"]):
                if bound is not None:
                    assert measured <= bound + inst["atol"]
                    compared += 1
    assert compared > 100


def test_check_bounds_cli_errors(tmp_path, capsys):
    assert main(["check-bounds", "--lam1-ratio", "2", "--out", str(tmp_path)]) == 2
    assert "--lam1-ratio" in capsys.readouterr().err
    assert main(["check-bounds", "--iters", "0"]) == 2
    # p > n with lam2 = 0 is not a contraction: the core's NotContractiveError, exit 2
    assert main(["check-bounds", "--p", "8", "--n-train", "4", "--lam2", "0", "--seeds", "1"]) == 2


def test_float32_maps():
    """Sets of a float32 map are computed in float64 from the float32 selections; they agree
    with the float64 map's to float32 round-off (1e-4 relative covers ~1e3 ulps of float32)."""
    X, y = make_data(4, 15, 5)
    lam = [0.3 * ElasticNetMap(X, y).lam1_max, 0.1]
    phi64 = ElasticNetMap(X, y).at(lam)
    phi32 = ElasticNetMap(X.astype(np.float32), y.astype(np.float32)).at(lam)
    w = fixed_point_iteration(phi64, tol=1e-14).w
    D64 = implicit_jacobians(phi64, w)
    D32 = implicit_jacobians(phi32, w.astype(np.float32))
    assert D32.dtype == np.float64 and D32.shape == D64.shape == (1, 5, 2)
    np.testing.assert_allclose(D32, D64, rtol=1e-4, atol=1e-4 * np.max(np.abs(D64)))
    oracle = stacked(*dense_pair(phi32.selection(w.astype(np.float32)), 5, 2))
    assert distance_to_set(oracle, stacked(*selection_matrices(phi32, w.astype(np.float32)))) == 0.0
