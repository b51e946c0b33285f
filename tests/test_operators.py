"""The library's operators (docs/theory.md §15.4): weighted soft-thresholding, nonnegative
soft-thresholding (and ReLU), the box projection. Each selection equals central finite
differences away from ties; at a tie every enumerated vertex is a one-sided derivative and the
one-sided derivatives are vertices; composed with least squares, ``exact`` equals central
finite differences of ``E(w(λ))`` and every method reaches ``exact``."""

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.bilevel.outer import ValidationMSE
from ns_implicit.operators import (BoxProjection, IdentityTail, NonnegativeSoftThreshold,
                                   SoftThreshold, WeightedSoftThreshold, relu)
from ns_implicit.steps import LeastSquaresStep
from conftest import central_differences, solve_tightly

P = 12
RNG = np.random.default_rng(0)
GAMMA = 0.7


def _operators():
    lam_w = RNG.uniform(0.2, 1.0, P)
    lam_w[3] = 0.0  # an unpenalized coordinate
    return {
        "weighted": (WeightedSoftThreshold(P), lam_w),
        "nonnegative": (NonnegativeSoftThreshold(), np.array([0.6])),
        "relu": (relu(), np.zeros(0)),
        "box": (BoxProjection(), np.array([1.3])),
        "soft": (SoftThreshold(), np.array([0.6])),
        "soft+intercept": (IdentityTail(SoftThreshold(), 1), np.array([0.6])),
    }


OPERATORS = _operators()
# G is piecewise affine in (u, λ, γ): a central difference inside one piece is exact up to
# round-off, |G| ~ 3 and h = 1e-6 give ~1e-16·3/1e-6 ≈ 3e-10.
PIECE_ATOL = 1e-8


def _margin(op, u, lam):
    """Distance from ``u`` to the nearest kink of the operator (per coordinate)."""
    if isinstance(op, IdentityTail):  # the tail has no kink
        return np.r_[_margin(op.G, u, lam)[:-op.k], np.full(op.k, np.inf)]
    if isinstance(op, BoxProjection):
        return np.minimum(np.abs(u), np.abs(u - lam[0]))
    tau = GAMMA * (lam if isinstance(op, WeightedSoftThreshold) else
                   np.full(P, lam[0] if len(lam) else 0.0))
    x = np.abs(u) if isinstance(op, (WeightedSoftThreshold, SoftThreshold)) else u
    return np.abs(x - tau)


def test_identity_tail_has_no_tie_and_a_unit_derivative_on_its_tail():
    # the intercept coordinate passes through: at u = 0 (a tie for soft-thresholding) the
    # tail is still active with derivative 1, and no vertex is enumerated for it
    op = IdentityTail(SoftThreshold(), 1)
    u = np.r_[np.linspace(-2, 2, P - 1) + 0.013, 0.0]
    sel = op.select(u, np.array([0.6]), GAMMA)
    e = np.zeros(P)
    e[-1] = 1.0
    assert sel.A(e)[-1] == 1.0 and (P - 1) in sel.rows
    assert len(op.vertices(u, np.array([0.6]), GAMMA)) == 1
    assert op.value(u + 1e-3 * e, np.array([0.6]), GAMMA)[-1] == pytest.approx(1e-3)


def _point(op, lam, seed):
    rng = np.random.default_rng(seed)
    for _ in range(100):
        u = rng.uniform(-3, 3, P)
        if np.min(_margin(op, u, lam)) > 1e-2:
            return u
    raise AssertionError("no point away from the kinks")


@pytest.mark.parametrize("name", sorted(OPERATORS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_selection_equals_central_differences_away_from_ties(name, seed):
    op, lam = OPERATORS[name]
    u = _point(op, lam, seed)
    sel = op.select(u, lam, GAMMA)
    h = 1e-6  # below the 1e-2 margin: no kink is crossed
    d = np.random.default_rng(seed).standard_normal(P)
    fd_u = (op.value(u + h * d, lam, GAMMA) - op.value(u - h * d, lam, GAMMA)) / (2 * h)
    np.testing.assert_allclose(sel.A(d), fd_u, atol=PIECE_ATOL)
    np.testing.assert_array_equal(sel.AT(d), sel.A(d))  # A_G is diagonal, hence symmetric
    if len(lam):
        e = np.random.default_rng(seed + 7).standard_normal(len(lam))
        fd_l = (op.value(u, lam + h * e, GAMMA) - op.value(u, lam - h * e, GAMMA)) / (2 * h)
        np.testing.assert_allclose(sel.B(e, 0.0), fd_l, atol=PIECE_ATOL)
        v = np.random.default_rng(seed + 9).standard_normal(P)
        np.testing.assert_allclose(sel.BT(v)[0] @ e, v @ sel.B(e, 0.0), rtol=1e-12)
    fd_g = (op.value(u, lam, GAMMA + h) - op.value(u, lam, GAMMA - h)) / (2 * h)
    np.testing.assert_allclose(sel.B(np.zeros(len(lam)), 1.0), fd_g, atol=PIECE_ATOL)
    v = np.random.default_rng(seed + 11).standard_normal(P)
    assert sel.BT(v)[1] == pytest.approx(v @ sel.B(np.zeros(len(lam)), 1.0), rel=1e-12, abs=1e-14)
    # the rows: A_G vanishes outside them
    outside = np.setdiff1d(np.arange(P), sel.rows)
    assert np.all(sel.A(np.ones(P))[outside] == 0)


def _tie(op, lam, j, seed, end="upper"):
    """A point with exactly one tie, at coordinate ``j``."""
    u = _point(op, lam, seed)
    if isinstance(op, BoxProjection):
        u[j] = lam[0] if end == "upper" else 0.0
    elif isinstance(op, WeightedSoftThreshold):
        u[j] = -(np.asarray(lam) * GAMMA)[j]
    else:
        u[j] = GAMMA * (lam[0] if len(lam) else 0.0)
    return u


@pytest.mark.parametrize("name,end", [("weighted", None), ("nonnegative", None), ("relu", None),
                                      ("box", "upper"), ("box", "lower"), ("soft", None)])
def test_vertices_at_a_tie_are_the_one_sided_derivatives(name, end):
    op, lam = OPERATORS[name]
    j = 5
    u = _tie(op, lam, j, 4, end)
    verts = op.vertices(u, lam, GAMMA)
    assert len(verts) == 2
    h = 1e-7
    e = np.zeros(P)
    e[j] = 1.0
    one_sided = [(op.value(u + s * h * e, lam, GAMMA) - op.value(u, lam, GAMMA)) / (s * h)
                 for s in (1.0, -1.0)]
    got = [v.A(e) for v in verts]
    for d in one_sided:  # every one-sided derivative is a vertex ...
        assert min(np.max(np.abs(g - d)) for g in got) < PIECE_ATOL
    for g in got:        # ... and every vertex a one-sided derivative
        assert min(np.max(np.abs(g - d)) for d in one_sided) < PIECE_ATOL
    # the default selection is the reference vertex; tie_active picks the other one
    ref = op.select(u, lam, GAMMA)
    other = op.select(u, lam, GAMMA, tie_active=True)
    assert (j in ref.rows) != (j in other.rows)


# ---------------------------------------------------------------- composed with least squares
DATA = ni.make_sparse_regression(n_samples=300, n_features=P, n_informative=6, seed=5)
OUTER = ValidationMSE(DATA.X_val, DATA.y_val)  # two hyperparameters (λ_G, λ2)
STEP = LeastSquaresStep(DATA.X, DATA.y)
# Methods converged far below round-off of the direct solve (tol 1e-13, large budgets):
# 1e-8 covers the tolerance times the conditioning 1/(1 - q) ~ 100 of the restricted system.
METHOD_RTOL = 1e-8
# Central differences inside one selection piece: O(h²) truncation of a rational path plus
# the inner-solve error 1e-15/h; h = 1e-5·λ.
FD_RTOL = 1e-7


_solve = solve_tightly


def _outer(cmap):
    return ValidationMSE(DATA.X_val, DATA.y_val, n_hyper=cmap.n_hyper)


COMPOSITES = {
    "weighted-lasso": (WeightedSoftThreshold(P), np.r_[np.full(P, 0.01), 0.005], slice(0, 3)),
    "nonnegative": (NonnegativeSoftThreshold(), np.array([0.01, 0.005]), slice(None)),
    "box": (BoxProjection(), None, slice(None)),
}


def _box_lam():
    w_free = _solve(ni.CompositeMap(BoxProjection(), STEP).at([1e6, 0.01]))
    return np.array([0.5 * float(np.max(w_free)), 0.01])


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_exact_equals_finite_differences_and_methods_agree(name):
    op, lam, checked = COMPOSITES[name]
    lam = _box_lam() if lam is None else lam
    cmap = ni.CompositeMap(op, STEP)
    phi = cmap.at(lam)
    w = _solve(phi)
    assert 0 < np.count_nonzero(w) < P
    outer = _outer(cmap)
    ref = ni.hypergradient(cmap, outer, lam, "exact", tol=1e-13).value
    for method in ("aid-cg", "aid-fp", "aid-gmres", "itd"):
        g = ni.hypergradient(cmap, outer, lam, method, tol=1e-13, inner_iters=200_000,
                             linsys_iters=200_000).value
        np.testing.assert_allclose(g, ref, rtol=METHOD_RTOL, atol=METHOD_RTOL * np.abs(ref).max(),
                                   err_msg=method)
    idx = np.arange(len(lam))[checked]  # all but the weighted lasso's p weights
    fd = central_differences(cmap, outer, lam, idx)
    np.testing.assert_allclose(fd[idx], ref[idx], rtol=FD_RTOL, atol=FD_RTOL * np.abs(ref).max())


def test_weighted_lasso_with_equal_weights_is_the_lasso():
    """All weights equal: the weighted map's hypergradient summed over the weights equals the
    ordinary soft-thresholding map's ∂/∂λ1 (the chain rule through λ_i = λ1)."""
    lam1, lam2 = 0.01, 0.005
    wmap = ni.CompositeMap(WeightedSoftThreshold(P), STEP)
    g_w = ni.hypergradient(wmap, _outer(wmap), np.r_[np.full(P, lam1), lam2], "exact",
                           tol=1e-13).value
    g = ni.hypergradient(ni.CompositeMap(SoftThreshold(), STEP), OUTER, [lam1, lam2], "exact",
                         tol=1e-13).value
    # same fixed point to 1e-13, same selection: equal to round-off amplified by 1/(1 - q)
    assert g_w[:P].sum() == pytest.approx(g[0], rel=1e-9)
    assert g_w[P] == pytest.approx(g[1], rel=1e-9)
