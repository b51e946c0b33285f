"""Block soft-thresholding, the simplex and the ℓ1-ball projections (docs/theory.md §15.4(d)-(e)):
selections against central finite differences away from ties, every vertex at a tie against a
one-sided directional derivative, the tie rules, and the compiled kernels against their
pure-Python bodies in float32 and float64."""

import numpy as np
import pytest

from ns_implicit.kernels import groups as gk
from ns_implicit.kernels import simplex as sk
from ns_implicit.operators.group_soft_threshold import GroupSoftThreshold
from ns_implicit.operators.l1_ball import L1BallProjection
from ns_implicit.operators.simplex import SimplexProjection

GROUPS = np.array([3, 1, 1, 2, 3, 3, 2, 5])  # labels in any order, one singleton group
H = 1e-6  # central differences: truncation O(h²)·‖G'''‖ ~ 1e-12, round-off ~ eps/h ~ 1e-10


def dense(f, p):
    return np.column_stack([f(e) for e in np.eye(p)])


def central(f, x, h=H):
    return np.column_stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


def operators():
    return [("group-shared", GroupSoftThreshold(GROUPS), np.array([0.6])),
            ("group-per-group", GroupSoftThreshold(GROUPS, per_group=True,
                                                   weights=[1.0, 0.5, 2.0, 0.0]),
             np.array([0.3, 0.9, 0.2, 2.0])),
            ("simplex", SimplexProjection(), np.array([1.3])),
            ("l1-ball", L1BallProjection(), np.array([1.1]))]


def far_from_ties(op, lam, gamma, rng, scale):
    for _ in range(100):
        u = scale * rng.standard_normal(8)
        if not len(op.ties(u, lam, gamma, tie_tol=1e-3)):
            return u
    raise AssertionError("no point away from ties")


@pytest.mark.parametrize("name, op, lam", operators(), ids=[o[0] for o in operators()])
@pytest.mark.parametrize("scale", [0.15, 1.0])
def test_selection_equals_central_differences_away_from_ties(name, op, lam, scale):
    rng = np.random.default_rng(7)
    gamma = 0.7
    for _ in range(5):
        u = far_from_ties(op, lam, gamma, rng, scale)
        sel = op.select(u, lam, gamma)
        A = dense(sel.A, 8)
        np.testing.assert_allclose(A, central(lambda x: op.value(x, lam, gamma), u), atol=1e-7)
        np.testing.assert_allclose(dense(sel.AT, 8), A.T, atol=1e-15)  # symmetric: AT = A
        B_lam = np.column_stack([sel.B(e, 0.0) for e in np.eye(len(lam))])
        np.testing.assert_allclose(B_lam, central(lambda l: op.value(u, l, gamma), lam),
                                   atol=1e-7)
        B_gamma = sel.B(np.zeros(len(lam)), 1.0)
        fd_gamma = (op.value(u, lam, gamma + H) - op.value(u, lam, gamma - H)) / (2 * H)
        np.testing.assert_allclose(B_gamma, fd_gamma, atol=1e-7)
        v = rng.standard_normal(8)
        g_G, g_gamma = sel.BT(v)
        np.testing.assert_allclose(g_G, B_lam.T @ v, atol=1e-12)
        assert g_gamma == pytest.approx(B_gamma @ v, abs=1e-12)
        R = sel.rows
        np.testing.assert_allclose(sel.block(), A[np.ix_(R, R)], atol=1e-15)
        outside = np.setdiff1d(np.arange(8), R)
        assert np.all(A[outside] == 0) and np.all(B_lam[outside] == 0)
        S = dense(sel.sqrt_A, 8) if hasattr(sel, "sqrt_A") else A
        np.testing.assert_allclose(S @ S, A, atol=1e-14)  # the square root of §15.3


def one_sided(f, x, d, t=1e-4):
    """``lim_{t↓0} (f(x + t d) - f(x))/t`` by Richardson extrapolation of two quotients (the
    O(t) curvature term cancels: the error is O(t²) ~ 1e-8 for block soft-thresholding; exact
    up to round-off for the piecewise-linear projections)."""
    q1 = (f(x + t * d) - f(x)) / t
    q2 = (f(x + 0.5 * t * d) - f(x)) / (0.5 * t)
    return 2 * q2 - q1


def test_group_tie_vertices_are_the_one_sided_derivatives():
    op = GroupSoftThreshold(GROUPS, per_group=True, weights=[1.0, 1.0, 1.0, 1.0])
    lam, gamma = np.array([0.625, 0.25, 1.0, 2.0]), 1.0  # dyadic: the tie below is exact
    tau = op.thresholds(lam, gamma)
    u = np.zeros(8)
    u[[1, 2]] = [0.375, 0.5]  # group 1: ‖u_g‖ = 0.625 = τ exactly (a 3-4-5 triangle)
    u[[3, 6]] = [3.0, -1.0]                       # group 2: active
    u[[0, 4, 5]] = [0.1, 0.0, -0.1]               # group 3: inactive
    u[7] = 0.0                                    # group 5: u_g = 0, inactive (no 0/0)
    assert op.group_norms(u)[0] == tau[0]
    np.testing.assert_array_equal(op.ties(u, lam, gamma), [0])
    verts = op.vertices(u, lam, gamma)
    assert len(verts) == 2
    by_state = {int(v.active[0]): v for v in verts}
    G = lambda x: op.value(x, lam, gamma)  # noqa: E731
    d = u[[1, 2]] / tau[0]
    rng = np.random.default_rng(0)
    for _ in range(10):
        delta = rng.standard_normal(8)
        out = float(delta[[1, 2]] @ d)  # first-order change of ‖u_g‖
        state = 1 if out > 0 else 0
        np.testing.assert_allclose(dense(by_state[state].A, 8) @ delta, one_sided(G, u, delta),
                                   atol=1e-7)
    # the reference rule takes the zero block, tie_active the active one (there d dᵀ)
    assert op.select(u, lam, gamma).active[0] == 0
    act = op.select(u, lam, gamma, tie_active=True)
    np.testing.assert_allclose(dense(act.A, 8)[np.ix_([1, 2], [1, 2])], np.outer(d, d),
                               atol=1e-15)
    # in λ: a smaller λ1 makes the group active (the active vertex's B), a larger one inactive
    e = np.eye(4)[0]
    Glam = lambda l: op.value(u, l, gamma)  # noqa: E731
    np.testing.assert_allclose(by_state[1].B(-e, 0.0), one_sided(Glam, lam, -e), atol=1e-8)
    np.testing.assert_allclose(by_state[0].B(e, 0.0), one_sided(Glam, lam, e), atol=1e-8)
    assert np.all(np.isfinite(dense(by_state[0].A, 8)))


def test_simplex_tie_vertices_are_the_one_sided_derivatives():
    op, lam = SimplexProjection(), np.array([1.0])
    u = np.array([2.0, 1.0, 0.25, -1.0, 1.0])  # θ = 1 exactly: entries 1 and 4 tie
    assert op.theta(u, lam) == 1.0
    np.testing.assert_array_equal(op.ties(u, lam, 1.0), [1, 4])
    verts = op.vertices(u, lam, 1.0)
    assert len(verts) == 4
    G = lambda x: op.value(x, lam, 1.0)  # noqa: E731
    for v in verts:
        s = v.support
        # push tied entries in the vertex up and the others down: it realises the vertex
        delta = np.where(np.isin(np.arange(5), [1, 4]), np.where(s > 0, 1.0, -1.0), 0.0)
        np.testing.assert_allclose(dense(v.A, 5) @ delta, one_sided(G, u, delta, t=1e-6),
                                   atol=1e-9)
    assert op.select(u, lam, 1.0).support.tolist() == [1, 0, 0, 0, 0]
    assert op.select(u, lam, 1.0, tie_active=True).support.tolist() == [1, 1, 0, 0, 1]


def test_l1_ball_tie_vertices_are_the_one_sided_derivatives():
    op, lam = L1BallProjection(), np.array([1.0])
    G = lambda x: op.value(x, lam, 1.0)  # noqa: E731
    # on the sphere ‖u‖₁ = r with one zero entry: interior, and the boundary branch with
    # entry 2 out, in with +, in with -
    u = np.array([0.5, -0.25, 0.0, 0.25])
    verts = op.vertices(u, lam, 1.0)
    assert len(verts) == 4
    inward = -np.sign(u)                     # ‖u + tδ‖₁ < r: the interior selection
    np.testing.assert_allclose(dense(verts[0].A, 4) @ inward, one_sided(G, u, inward, 1e-6),
                               atol=1e-9)
    for v in verts[1:]:
        z = v.sigma[2]  # the zero entry's sign in this vertex (0: out of the support)
        delta = np.sign(u) + np.array([0.0, 0.0, z if z else 0.0, 0.0])  # outward
        if z == 0:
            delta[2] = 0.0
        np.testing.assert_allclose(dense(v.A, 4) @ delta, one_sided(G, u, delta, 1e-6),
                                   atol=1e-9)
    assert type(op.select(u, lam, 1.0)).__name__ == "ProjectionSelection"
    assert type(op.select(u, lam, 1.0, tie_active=True)).__name__ == "InteriorSelection"
    # outside the ball with an entry |u_i| = θ
    u = np.array([2.0, -1.0, 0.5, 0.25])
    r = np.array([2.0])  # θ: z = 2,1,.5: (3 - 2)/2 = 0.5 → entry 2 ties
    assert op.theta(u, r) == 0.5
    verts = op.vertices(u, r, 1.0)
    assert len(verts) == 2
    G = lambda x: op.value(x, r, 1.0)  # noqa: E731
    for v in verts:
        delta = np.array([0.0, 0.0, 1.0 if v.support[2] else -1.0, 0.0])
        np.testing.assert_allclose(dense(v.A, 4) @ delta, one_sided(G, u, delta, 1e-6),
                                   atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_kernels_equal_their_python_bodies(dtype):
    rng = np.random.default_rng(3)
    op = GroupSoftThreshold(GROUPS, per_group=True)
    u = rng.standard_normal(8).astype(dtype)
    tau = op.thresholds(np.array([0.3, 0.9, 0.2, 2.0]), 0.7, dtype)
    for kernel_args in [(u, op.order, op.ptr, tau, u.copy(), np.empty_like(u))]:
        a = gk.block_soft_threshold_step(*kernel_args[:5], out := np.empty_like(u))
        b = gk.block_soft_threshold_step.py_func(*kernel_args[:5], out2 := np.empty_like(u))
        np.testing.assert_array_equal(out, out2)
        assert a[1] == b[1] and a[0] == pytest.approx(b[0], rel=1e-12)
    arrs = [np.empty(4), np.empty(4), np.empty_like(u)]
    arrs2 = [np.empty(4), np.empty(4), np.empty_like(u)]
    gk.block_soft_threshold_selection(u, op.order, op.ptr, tau, False, *arrs)
    gk.block_soft_threshold_selection.py_func(u, op.order, op.ptr, tau, False, *arrs2)
    for x, y in zip(arrs, arrs2):
        np.testing.assert_array_equal(x, y)
    x = rng.standard_normal(8).astype(dtype)
    o1, o2 = np.empty_like(x), np.empty_like(x)
    for root in (False, True):
        gk.block_matvec(x, op.order, op.ptr, *arrs, root, o1)
        gk.block_matvec.py_func(x, op.order, op.ptr, *arrs, root, o2)
        np.testing.assert_allclose(o1, o2, rtol=2e-7 if dtype == np.float32 else 1e-15)
    for step in (sk.simplex_step, sk.l1_ball_step):
        o1, o2 = np.empty_like(u), np.empty_like(u)
        r1, r2 = step(u, 1.5, u, o1), step.py_func(u, 1.5, u, o2)
        np.testing.assert_array_equal(o1, o2)
        assert r1[1] == r2[1]
    assert abs(float(SimplexProjection().value(u, [1.5], 1.0).astype(np.float64).sum()) - 1.5) \
        <= 8 * np.finfo(dtype).eps * 1.5
