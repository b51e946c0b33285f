"""Finite sets in vertex form, the distance to a convex hull and the excess (docs/theory.md §1–§3).

Tolerances: the hull distance is an nnls solve on data scaled to unit size; its round-off
is a few float64 epsilons times the scale (observed ≤ 1e-15), so 1e-10 × scale leaves a wide
margin while still failing for any real gap (the gaps tested are ≥ 1e-3 × scale).
"""

import numpy as np
import pytest
import scipy.spatial
from hypothesis import given, settings
from hypothesis import strategies as st

from ns_implicit.theory.conservative import (distance_to_hull, distance_to_set, excess, hausdorff,
                                      linear_image, minkowski_product, minkowski_sum,
                                      nearest_point_in_hull, operator_norms, set_norm,
                                      unique_elements)

RTOL = 1e-10


def _scale(*arrays):
    return max(1.0, max(float(np.max(np.abs(a))) for a in arrays))


# -- distance to a convex hull ----------------------------------------------------------

def test_unit_square_distances():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert distance_to_hull([2.0, 0.5], square) == pytest.approx(1.0, abs=1e-14)
    assert distance_to_hull([2.0, 2.0], square) == pytest.approx(np.sqrt(2.0), abs=1e-14)
    assert distance_to_hull([0.3, 0.4], square) <= 1e-15
    assert distance_to_hull([1.0, 1.0], square) <= 1e-15
    assert distance_to_set([0.3, 0.4], square) == pytest.approx(0.5, abs=1e-14)


def test_planar_hull_against_scipy_convex_hull():
    """An independent oracle in 2-D: the distance to the boundary polygon (qhull)."""
    rng = np.random.default_rng(0)
    for _ in range(40):
        V = rng.standard_normal((8, 2))
        hull = scipy.spatial.ConvexHull(V)
        x = 3.0 * rng.standard_normal(2)
        inside = np.all(hull.equations[:, :2] @ x + hull.equations[:, 2] <= 0)
        expected = 0.0
        if not inside:
            expected = np.inf
            for i, j in hull.simplices:
                a, b = V[i], V[j]
                s = np.clip((x - a) @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
                expected = min(expected, np.linalg.norm(x - a - s * (b - a)))
        assert abs(distance_to_hull(x, V) - expected) <= RTOL * _scale(V, x)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 6))
def test_projection_satisfies_the_variational_inequality(seed, n, d):
    """``p = Π(x)`` iff ``p ∈ conv V`` and ``<x - p, v - p> <= 0`` for every vertex (optimality
    certificate of the projection, independent of how it was computed)."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, d)) * rng.uniform(0.1, 10.0)
    x = rng.standard_normal(d) * 5.0
    p, weights = nearest_point_in_hull(x, V)
    scale = _scale(V, x)
    assert np.all(weights >= 0) and abs(weights.sum() - 1.0) <= 1e-12
    np.testing.assert_allclose(weights @ V, p, atol=RTOL * scale)
    assert np.max((V - p) @ (x - p)) <= RTOL * scale ** 2
    assert distance_to_hull(x, V) == pytest.approx(np.linalg.norm(x - p), abs=RTOL * scale)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 10), st.integers(1, 5), st.integers(1, 3))
def test_members_are_at_distance_zero(seed, n, p, m):
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, p, m))
    t = rng.dirichlet(np.ones(n))
    x = np.tensordot(t, V, axes=1)
    assert distance_to_hull(x, V) <= RTOL * _scale(V)
    assert distance_to_hull(V[0], V) <= RTOL * _scale(V)
    assert distance_to_set(V[-1], V) == 0.0


def test_matrix_norms():
    """Frobenius = Euclidean on the flattened matrix; the op-norm figure lies between the
    op-norm distance to the nearest vertex-free point and the Frobenius distance."""
    rng = np.random.default_rng(1)
    V = rng.standard_normal((6, 4, 2))
    x = 3.0 * rng.standard_normal((4, 2))
    fro = distance_to_hull(x, V)
    assert fro == pytest.approx(distance_to_hull(x.ravel(), V.reshape(6, -1)), abs=1e-12)
    op = distance_to_hull(x, V, norm="op")
    assert op <= fro + 1e-12
    assert op >= fro / np.sqrt(2.0) - 1e-12  # rank <= 2: ‖M‖_F <= sqrt(2) ‖M‖ (a lower bound)
    brute = min(np.linalg.norm(x - v, 2) for v in V)
    assert distance_to_set(x, V, norm="op") == pytest.approx(brute, abs=1e-12)
    for shape in ((7, 3, 1), (7, 3, 2), (7, 2, 5), (7, 4, 3)):
        M = rng.standard_normal(shape)
        np.testing.assert_allclose(operator_norms(M), np.linalg.norm(M, 2, axis=(1, 2)),
                                   rtol=1e-12)


# -- the excess and Lemma B.1 -----------------------------------------------------------

def _sets(seed, shape):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((int(rng.integers(1, 6)),) + shape) for _ in range(3)]


shapes = st.sampled_from([(2,), (3,), (3, 2), (2, 2)])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), shapes, st.booleans())
def test_lemma_b1_i_ii_vi(seed, shape, hull):
    A, B, C = _sets(seed, shape)
    tol = RTOL * _scale(A, B, C)
    # (i) subsets have excess 0; the triangle inequality
    assert excess(A[:1], A, hull=hull) <= tol
    assert excess(A, B, hull=hull) <= excess(A, C, hull=hull) + excess(C, B, hull=hull) + tol
    # (ii) monotonicity: A' ⊆ A, B ⊆ B'
    bigger_B = np.concatenate([B, C])
    assert excess(A[:1], bigger_B, hull=hull) <= excess(A, B, hull=hull) + tol
    # (vi) special cases
    assert excess(A[:1], B, hull=hull) == pytest.approx(
        (distance_to_hull if hull else distance_to_set)(A[0], B), abs=tol)
    brute = max(np.linalg.norm((a - B[0]).ravel()) for a in A)
    assert excess(A, B[:1], hull=hull) == pytest.approx(brute, abs=tol)
    pairwise = max(np.linalg.norm((a - b).ravel()) for a in A for b in B)
    assert excess(A, B, hull=hull) <= pairwise + tol
    assert hausdorff(A, B, hull=hull) == pytest.approx(
        max(excess(A, B, hull=hull), excess(B, A, hull=hull)), abs=tol)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), shapes)
def test_lemma_b1_iii_v(seed, shape):
    A1, B1, A2 = _sets(seed, shape)
    B2 = _sets(seed + 1, shape)[0]
    tol = RTOL * _scale(A1, B1, A2, B2)
    for hull in (False, True):
        # (iii) Minkowski sums
        lhs = excess(minkowski_sum(A1, A2), minkowski_sum(B1, B2), hull=hull)
        assert lhs <= excess(A1, B1, hull=hull) + excess(A2, B2, hull=hull) + tol
    # (v) convex hulls: ex(conv A, conv B) <= ex(A, B)
    assert excess(A1, B1, hull=True) <= excess(A1, B1, hull=False) + tol


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_lemma_b1_iv_linear_maps_and_products(seed):
    rng = np.random.default_rng(seed)
    A, B = (rng.standard_normal((int(rng.integers(1, 5)), 3, 2)) for _ in range(2))
    M = rng.standard_normal((4, 3))
    tol = RTOL * _scale(A, B, M) ** 2
    for hull in (False, True):  # conv(MA) = M conv(A) for a fixed linear M
        assert excess(linear_image(M, A), linear_image(M, B), hull=hull) <= \
            np.linalg.norm(M, 2) * excess(A, B, hull=hull) + tol
    # sets of matrices (finite sets): ex(𝓜A, 𝓜B) <= ‖𝓜‖ ex(A, B), ex(𝓜X, 𝓝X) <= ex(𝓜, 𝓝) ‖X‖
    Ms, Ns = (rng.standard_normal((int(rng.integers(1, 4)), 4, 3)) for _ in range(2))
    assert excess(minkowski_product(Ms, A), minkowski_product(Ms, B), hull=False) <= \
        set_norm(Ms) * excess(A, B, hull=False) + tol
    assert excess(minkowski_product(Ms, A), minkowski_product(Ns, A), hull=False) <= \
        excess(Ms, Ns, hull=False) * set_norm(A) + tol


def test_minkowski_operations():
    A = np.array([[0.0, 0.0], [1.0, 0.0]])
    B = np.array([[0.0, 1.0], [0.0, 2.0], [5.0, 5.0]])
    S = minkowski_sum(A, B)
    assert S.shape == (6, 2)
    np.testing.assert_array_equal(S[4], [1.0, 2.0])
    Ms = np.stack([np.eye(2), 2.0 * np.eye(2)])
    P = minkowski_product(Ms, B)
    assert P.shape == (6, 2)
    np.testing.assert_array_equal(P[5], [10.0, 10.0])
    np.testing.assert_array_equal(minkowski_product(Ms, Ms)[3], 4.0 * np.eye(2))
    U = unique_elements(np.array([[1.0], [2.0], [1.0]]))
    np.testing.assert_array_equal(U, [[1.0], [2.0]])


def test_bad_input_is_reported():
    V = np.zeros((3, 2))
    with pytest.raises(ValueError, match="NaN"):
        distance_to_hull([np.nan, 0.0], V)
    with pytest.raises(ValueError, match="NaN"):
        excess(np.array([[np.inf, 0.0]]), V)
    with pytest.raises(ValueError, match="shape"):
        distance_to_hull([0.0, 0.0, 0.0], V)
    with pytest.raises(ValueError, match="shape"):
        excess(np.zeros((2, 3)), V)
    with pytest.raises(ValueError, match="empty"):
        excess(np.zeros((0, 2)), V)
    with pytest.raises(ValueError, match="axis 0"):
        excess(np.zeros(2), V)
    with pytest.raises(ValueError, match="norm"):
        excess(V, V, norm="nuclear")
    with pytest.raises(ValueError, match=r"\(N, r, m\)"):
        minkowski_product(np.zeros((1, 2, 3)), np.zeros((1, 2, 2)))
