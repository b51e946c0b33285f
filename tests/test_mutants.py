"""Tests that kill named single-line mutants of the mathematical core.

Each test states the mutant it was written against (validation/mutation/README.md lists them
with the observed failure). Every expected value is computed here, independently of the
library: by hand from docs/theory.md, with numpy from the data, or from a second code path
that does not share the mutated line. The instances are tiny and exact in binary floating
point wherever a tie or an iteration count is asserted, so the assertions are equalities,
not tolerances that a mutant could slip through.
"""

import dataclasses

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit import ElasticNetMap, StochasticElasticNetMap, fixed_point_iteration
from ns_implicit.theory.bounds import (aid_fp_bound, itd_bound, itd_bound_after_identification,
                                       jacobian_norm_bound)
from ns_implicit.theory.conservative import excess, hausdorff
from ns_implicit.theory.constants import elastic_net_constants, kink_margin
from ns_implicit.theory.sets import fixed_point_set, itd_set_iterates, selection_matrices


def _small_map(seed=0, n=12, p=4, lam=(0.05, 0.1)):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ np.array([1.0, -0.5, 0.0, 0.0][:p] + [0.0] * max(0, p - 4)) + 0.1 * rng.standard_normal(n)
    return ElasticNetMap(X, y).at(list(lam))


# -- ITD: the reverse loop visits s = t-1, …, 0 (docs/theory.md §7 eq. (13)) ----------------------
# Mutants: itd.py `range(t - 1, -1, -1)` -> `range(t - 1, 0, -1)` (drops s = 0) and
# -> `range(t, -1, -1)` (adds the selection at w_t).

@pytest.mark.parametrize("t", [1, 2, 3])
def test_reverse_itd_equals_forward_itd_and_the_itd_set_at_small_t(t):
    phi = _small_map()
    u = np.array([1.0, -2.0, 0.5, 3.0])
    sol = fixed_point_iteration(phi, tol=0.0, max_iter=t, store_trajectory=True)
    assert len(sol.trajectory) == t + 1
    reverse = ni.itd(phi, sol.trajectory, u).value
    forward = ni.itd_forward(phi, iters=t, tol=0.0).value          # J_t, p x m
    np.testing.assert_allclose(reverse, forward.T @ u, rtol=1e-13, atol=1e-15)
    # The enumerated ITD set D_t along w_0 … w_{t-1}: a singleton at these generic points.
    sets = itd_set_iterates(phi, [sol.trajectory[s] for s in range(t)])
    assert len(sets) == t + 1 and sets[t].shape[0] == 1
    np.testing.assert_allclose(forward, sets[t][0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(reverse, sets[t][0].T @ u, rtol=1e-13, atol=1e-15)
    # t = 1 by hand: J_1 = B_0 at w_0 = 0 (u_0 = γb, m = 1[|γb| > γλ1]).
    if t == 1:
        gamma, lam1 = float(phi.gamma), float(phi.lam[0])
        b = phi.parent.T.b
        m = (np.abs(b) > lam1).astype(float)
        B0 = np.column_stack([-gamma * np.sign(b) * m,
                              m * (gamma ** 2 * (-b) + lam1 * gamma ** 2 * np.sign(b))])
        np.testing.assert_allclose(forward, B0, rtol=1e-13, atol=1e-15)


# -- excess with norm="op" on finite sets (docs/theory.md §1, §3) --------------------------------
# Mutant: conservative.py excess(..., hull=False) ignoring norm="op" (Frobenius instead).

@pytest.mark.parametrize("shape", [(3, 2), (4, 3), (2, 5)])
def test_excess_op_norm_on_finite_sets_is_brute_force_spectral(shape):
    rng = np.random.default_rng(sum(shape))
    A = rng.standard_normal((4,) + shape)
    B = rng.standard_normal((3,) + shape)
    brute = max(min(np.linalg.norm(a - b, 2) for b in B) for a in A)
    fro = max(min(np.linalg.norm(a - b, "fro") for b in B) for a in A)
    assert brute < fro * (1 - 1e-3)  # the instance separates the two norms
    assert excess(A, B, hull=False, norm="op") == pytest.approx(brute, rel=1e-12)
    assert excess(A, B, hull=False, norm="fro") == pytest.approx(fro, rel=1e-12)
    brute_h = max(brute, max(min(np.linalg.norm(a - b, 2) for a in A) for b in B))
    assert hausdorff(A, B, hull=False, norm="op") == pytest.approx(brute_h, rel=1e-12)


# -- Theorem 4.1 bound curves with ν₁ ≠ 0 (docs/theory.md §8) -------------------------------------
# Mutant: bounds.py, the ν₁ term (ν₁ L_Φ/(1-q), resp. ν₁ L_Φ/(1-q)²) halved.

C = dataclasses.make_dataclass("C", ["q", "L_Phi", "nu1", "nu2"])


def test_theorem_4_1_bounds_with_nonzero_nu1_match_hand_values():
    c = C(q=0.5, L_Phi=2.0, nu1=0.3, nu2=0.25)
    # ν₂ + ν₁L_Φ/(1-q) = 0.25 + 0.3·2/0.5 = 1.45 ; L_Φ/(1-q) = 4.
    # ITD, t = 3, Δ_0 = 1: 1.45·1·3·0.5² + 4·0.5³ = 1.0875 + 0.5
    assert itd_bound(3, c, 1.0) == pytest.approx(1.5875, rel=1e-14)
    # ITD, t = 1, Δ_0 = 2: 1.45·2·1·1 + 4·0.5 = 2.9 + 2
    assert itd_bound(1, c, 2.0) == pytest.approx(4.9, rel=1e-14)
    # ITD after identification at t̄ = 2, Δ_t̄ = 0.1, t = 5: 1.45·0.1·3·0.5² + 2·4·0.5³
    after = itd_bound_after_identification(np.array([5.0]), 2, 0.1, c)
    assert after[0] == pytest.approx(0.10875 + 1.0, rel=1e-14)
    # AID-FP, Δ_t = 0.4, k = 2: (ν₂/(1-q) + ν₁L_Φ/(1-q)²)·0.4 + 4·0.25
    #   = (0.5 + 0.3·2/0.25)·0.4 + 1 = (0.5 + 2.4)·0.4 + 1 = 2.16
    assert aid_fp_bound(2, 0.4, c) == pytest.approx(2.16, rel=1e-14)
    # Only the ν₁ term: ν₂ = 0, q = 0.75, L_Φ = 1, ν₁ = 1, Δ = 1.
    c1 = C(q=0.75, L_Phi=1.0, nu1=1.0, nu2=0.0)
    assert aid_fp_bound(np.inf, 1.0, c1) == pytest.approx(16.0, rel=1e-14)   # 1/(0.25)²
    assert itd_bound(1, c1, 1.0) == pytest.approx(4.0 + 3.0, rel=1e-14)      # 1/0.25 + 0.75/0.25
    assert jacobian_norm_bound(c1) == pytest.approx(4.0, rel=1e-14)


# -- support identification iteration (docs/theory.md §8 item 3, §12) ----------------------------
# Mutant: fixed_point.py `last_change = t` off by one (t - 1 or t + 1).

def _diagonal_instance(b, lam1, lam2=0.0):
    """``H = I`` (rows 2e_1, 2e_2 of four), ``b = Xᵀy/n`` as given, step γ = 1/2, so
    ``u = w/2 + b/2`` coordinatewise and every iterate below is exact in binary."""
    X = np.array([[2.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    y = np.array([2.0 * b[0], 2.0 * b[1], 0.0, 0.0])
    emap = ElasticNetMap(X, y, step=0.5)
    np.testing.assert_array_equal(emap.T.b, b)
    return emap.at([lam1, lam2])


def test_support_identification_iteration_on_a_hand_computed_run():
    # b = (0, 4), λ1 = 2 (τ = 1), w_0 = (10, 0), u_t = w_{t-1}/2 + b/2:
    #   u_1 = (5, 2) -> w_1 = (4, 1);  u_2 = (2, 2.5) -> w_2 = (1, 1.5);
    #   u_3 = (0.5, 2.75) -> w_3 = (0, 1.75);  then (0, 1.875), … -> (0, 2).
    # Supports: {1}, {1,2}, {1,2}, {2}, {2}, …: the last change is at t = 3.
    phi = _diagonal_instance(np.array([0.0, 4.0]), lam1=2.0)
    assert phi.q == 0.5 and phi.tau == 1.0
    res = fixed_point_iteration(phi, [10.0, 0.0], tol=0.0, max_iter=8, store_trajectory=True)
    expected = [(10, 0), (4, 1), (1, 1.5), (0, 1.75), (0, 1.875)]
    for s, w in enumerate(expected):
        np.testing.assert_array_equal(res.trajectory[s], w)
    assert res.support_identified_at == 3
    assert ni.itd_forward(phi, [10.0, 0.0], iters=8, tol=0.0).support_identified_at == 3
    # A run that never changes support after the start: identified at 1 (w_1 ≠ w_0 pattern)
    res = fixed_point_iteration(phi, tol=0.0, max_iter=5)
    assert res.support_identified_at == 1   # w_0 = 0 has support {}, w_1 = (0, 1)
    res = fixed_point_iteration(phi, [0.0, 3.0], tol=0.0, max_iter=5)
    assert res.support_identified_at == 0   # support {2} from w_0 on


# -- the radius R and the fixed-point-set radius (docs/theory.md §4, §6, §11.2) ---------------
# Mutants: constants.py R ignoring the 2τ cap at ties (R = margin/q); sets.py
# fixed_point_set radius q^(n+1)·… instead of q^n·2 max‖B_j‖_F/(1-q).

def _tie_instance():
    """b = (1, 10), λ = (1, 0), γ = 1/2 (q = 1/2, τ = 1/2): w* = (0, 9) exactly, u* = (0.5, 9.5):
    coordinate 0 is tied (|u*_0| = τ), coordinate 1 has margin 9 > 2τ = 1."""
    phi = _diagonal_instance(np.array([1.0, 10.0]), lam1=1.0)
    w_star = np.array([0.0, 9.0])
    np.testing.assert_array_equal(phi(w_star), w_star)
    np.testing.assert_array_equal(phi.inner_point(w_star), [0.5, 9.5])
    return phi, w_star


def test_radius_R_is_capped_at_two_tau_over_q_at_a_tie():
    phi, w_star = _tie_instance()
    margin, ties = kink_margin(phi, w_star)
    assert list(ties) == [0] and margin == 9.0
    c = elastic_net_constants(phi, w_star)
    # §11.2: R = min(margin, 2τ)/q at ties = min(9, 1)/0.5 = 2 (not 9/0.5 = 18).
    assert c.R == 2.0
    # Why the cap: at w = w* - (2.5, 0) (inside 18, outside 2) u_0 = -0.75 < -τ, so the tied
    # coordinate is active with the opposite sign — a selection absent at w*.
    star_B = selection_matrices(phi, w_star)[1]
    B = selection_matrices(phi, w_star - np.array([2.5, 0.0]))[1]
    assert B.shape[0] == 1 and B[0][0, 0] == +0.5
    assert all(Bs[0, 0] in (0.0, -0.5) for Bs in star_B)
    # No tie, margin > 2τ: no cap. b = (0.25, 10): u*_0 = 0.125, margin min(0.375, 9) = 0.375.
    phi2 = _diagonal_instance(np.array([0.25, 10.0]), lam1=1.0)
    c2 = elastic_net_constants(phi2, np.array([0.0, 9.0]))
    assert c2.ties == () and c2.R == 0.375 / 0.5
    # No tie, margin 9 > 2τ: b = (0, 10), R = 9/0.5 (the cap applies only at ties).
    phi3 = _diagonal_instance(np.array([0.0, 10.0]), lam1=1.0)
    c3 = elastic_net_constants(phi3, np.array([0.0, 9.0]))
    assert c3.ties == () and c3.margin == 0.5 and c3.R == 1.0   # |0 - 0.5| is the margin here
    phi4 = _diagonal_instance(np.array([-30.0, 10.0]), lam1=1.0)   # w* = (-29, 9): margins 29, 9
    w4 = np.array([-29.0, 9.0])
    np.testing.assert_array_equal(phi4(w4), w4)
    c4 = elastic_net_constants(phi4, w4)
    assert c4.ties == () and c4.margin == 9.0 and c4.R == 18.0


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_fixed_point_set_radius_is_its_definition(depth):
    phi, w_star = _tie_instance()
    elements, radius = fixed_point_set(phi, w_star, depth=depth)
    # The two selections at w* by hand (fixed step: ∂_{λ2}Φ = -γ m ⊙ w):
    #   m = (0, 1): B = [[0, 0], [-γ, -γ·9]];  m = (1, 1): B = [[-γ, 0], [-γ, -γ·9]].
    gamma, q = 0.5, 0.5
    B_max_fro = np.sqrt(gamma ** 2 + gamma ** 2 + (gamma * 9) ** 2)
    assert radius == pytest.approx(q ** depth * 2.0 * B_max_fro / (1.0 - q), rel=1e-14)
    # Soundness of the certificate: a deeper inner approximation is within the radius.
    deeper, _ = fixed_point_set(phi, w_star, depth=8)
    assert excess(deeper, elements) <= radius
    # Every element is in 𝒟_fix: coordinate 1 is always active, so its row is the implicit
    # one, -(1/(1-q))·γ·(1, 9) = (-1, -9); row 0 is a partial series Σ_s (1/2)^s (-γ m_s) ∈ [-1, 0].
    np.testing.assert_array_equal(elements[:, 1, :], np.tile([-1.0, -9.0], (len(elements), 1)))
    assert np.all(elements[:, 0, 1] == 0.0)
    assert np.all((elements[:, 0, 0] <= 0.0) & (elements[:, 0, 0] >= -1.0))


# -- SID: the compiled kernel uses soft-thresholding's one tie rule (docs/theory.md §11.1, §9) --
# Mutant: kernels/minibatch.py `_active` writing `a >= tau` (bypassing soft_threshold_active).

def _exact_tie_stochastic_map(tie_active=False):
    """Integer data, n = 8 rows, fixed step γ = 1/16, w = 0, batch_size = n: every batch is the
    full data, ``T̂(0, λ, ξ) = γ Xᵀy/8`` exactly (dyadic), and λ1 is chosen so that
    ``τ = γλ1 = |T̂_j|`` for the coordinate j = 2: an exact tie at every sample."""
    X = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [2, 0, 1],
                  [0, 1, -1], [1, -1, 1], [0, 2, 1], [1, 1, 1]], dtype=np.float64)
    y = np.array([3, 1, 2, 5, -1, 2, 1, 4], dtype=np.float64)
    c = X.T @ y / 8.0          # (21, 6, 17) / 8 = (2.625, 0.75, 2.125), exact
    lam1 = abs(c[2])           # coordinate 2 tied, 0 active, 1 inactive; H[0, 2] = 5/8 couples them
    smap = StochasticElasticNetMap(X, y, 8, step=1.0 / 16, tie_active=tie_active)
    F = smap.at([lam1, 0.5])
    return F, X, y, c, lam1


def _sid_by_hand(X, y, c, lam1, etas, u, tie_active):
    """SID with full batches in numpy: v_{k+1} = (1-η)v + η((I - γ(H + λ2 I))(m ⊙ v) + u),
    m the strict (or, tie_active, non-strict) mask at T̂ = γc; output (A_G B̄_T + B_G)ᵀv with
    the same selection at ū = γc (§11.2, fixed step): λ1-entry -γ<m ⊙ s, v>, λ2-entry
    -γ<m ⊙ w, v> = 0 at w = 0."""
    gamma, lam2 = 1.0 / 16, 0.5
    H = X.T @ X / 8.0
    ubar = gamma * c
    tau = gamma * lam1
    m = (np.abs(ubar) >= tau) if tie_active else (np.abs(ubar) > tau)
    M = np.eye(3) - gamma * (H + lam2 * np.eye(3))
    v = np.zeros(3)
    for eta in etas:
        v = (1 - eta) * v + eta * (M @ (m * v) + u)
    return np.array([-gamma * np.sum(m * np.sign(ubar) * v), 0.0])


@pytest.mark.parametrize("tie_active", [False, True])
def test_sid_compiled_equals_generic_at_an_exact_tie(tie_active):
    F, X, y, c, lam1 = _exact_tie_stochastic_map(tie_active)
    w = np.zeros(3)
    u_hat = F.phi.inner_point(w)
    assert u_hat[2] == F.tau and abs(u_hat[1]) < F.tau < abs(u_hat[0])  # one exact tie
    u = np.array([1.0, -2.0, 1.5])
    kw = dict(K=40, J=1, rng=0)
    fast = ni.sid(F, w, u, compiled=True, **kw)
    slow = ni.sid(F, w, u, compiled=False, **kw)
    by_hand = _sid_by_hand(X, y, c, lam1, fast.etas, u, tie_active)
    np.testing.assert_allclose(slow.value, by_hand, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.value, slow.value, rtol=1e-12, atol=1e-15)
    # The tie matters: the other vertex gives a different SID output on this instance.
    other = _sid_by_hand(X, y, c, lam1, fast.etas, u, not tie_active)
    assert abs(other[0] - by_hand[0]) > 1e-3 * abs(by_hand[0])
    # NSID freezes the selection at ū (the same point here): same value as SID.
    np.testing.assert_allclose(ni.nsid(F, w, u, compiled=True, **kw).value, by_hand,
                               rtol=1e-12, atol=1e-15)
