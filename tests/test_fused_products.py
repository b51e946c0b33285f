"""The fused selection products of soft-thresholding ∘ least squares (one compiled call per ITD
step, ``CompositeMapAt.vjp`` / ``jvp``) equal the generic products of the selection built from
the protocol (``Selection.AT``, ``BT``, ``A``, ``B``), at ordinary points and at an exact tie,
for both tie vertices, both dtypes, a fixed or free ``λ1`` and the paper's or a fixed step
(docs/theory.md §15.1, §15.4(a))."""

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators import SoftThreshold
from ns_implicit.steps.least_squares import LeastSquaresStep

DATA = ni.make_sparse_regression(n_samples=150, n_features=12, n_informative=5, seed=11)
# the two paths add the same products in another order: round-off of a length-12 dot product
RTOL = {np.float64: 1e-12, np.float32: 2e-5}


class PlainSoftThreshold(SoftThreshold):
    """Soft-thresholding that the composite does not recognise: the generic path."""


def _maps(dtype, lam=None, step="paper", tie_active=False):
    X, y = DATA.X.astype(dtype), DATA.y.astype(dtype)
    T = LeastSquaresStep(X, y, step=step)
    fused = CompositeMap(SoftThreshold(lam, tie_active=tie_active), T)
    plain = CompositeMap(PlainSoftThreshold(lam, tie_active=tie_active), T)
    return fused, plain


def _point(phi, dtype):
    w = ni.fixed_point_iteration(phi, tol=1e-12 if dtype == np.float64 else 1e-6).w
    rng = np.random.default_rng(0)
    return w + (w != 0) * rng.normal(scale=0.05, size=w.shape).astype(dtype)


def _close(got, want, dtype):
    scale = max(np.linalg.norm(want), 1e-30)
    assert np.linalg.norm(np.asarray(got) - want) <= RTOL[dtype] * scale


CASES = [(dtype, lam, step) for dtype in (np.float64, np.float32)
         for lam, step in ((None, "paper"), (None, 0.05), (0.3, "paper"))]


@pytest.mark.parametrize("dtype, lam, step", CASES)
def test_fused_products_equal_the_generic_selection(dtype, lam, step):
    fused, plain = _maps(dtype, lam, step)
    hyper = [0.05, 0.01] if lam is None else [0.01]
    phi, ref = fused.at(hyper), plain.at(hyper)
    assert phi._fused and not ref._fused
    w = _point(phi, dtype)
    rng = np.random.default_rng(1)
    v = rng.normal(size=phi.dim).astype(dtype)
    J = rng.normal(size=(phi.dim, phi.n_hyper)).astype(dtype)
    sel = ref.selection(w)
    a, g = phi.vjp(w, v)
    assert a.dtype == g.dtype == dtype and g.shape == (phi.n_hyper,)
    _close(a, sel.AT(v), dtype)
    _close(g, sel.BT(v), dtype)
    AJB = phi.jvp(w, J)
    assert AJB.dtype == dtype and AJB.shape == J.shape
    _close(AJB, _generic_jvp(sel, J), dtype)


def _generic_jvp(sel, J):
    """``A J + B`` column by column from the selection's ``A`` and ``B``."""
    eye = np.eye(J.shape[1], dtype=J.dtype)
    return np.column_stack([sel.A(J[:, k]) + sel.B(eye[k]) for k in range(J.shape[1])])


def _tied(emap, w, j, lam2):
    """λ1 (moved by ulps) with ``γ λ1 == |u_j|`` exactly at ``u = T(w)``."""
    phi = emap.at([1.0, lam2])
    target = abs(float(phi.inner_point(w)[j]))
    lam1 = target / float(phi.gamma)
    for _ in range(200):
        tau = float(phi.gamma * lam1)
        if tau == target:
            return lam1
        lam1 = float(np.nextafter(lam1, np.inf if tau < target else -np.inf))
    raise AssertionError("no lam1 puts the threshold on the tie")


@pytest.mark.parametrize("tie_active", [False, True])
def test_fused_products_follow_the_tie_rule(tie_active):
    fused, plain = _maps(np.float64, tie_active=tie_active)
    w0 = ni.fixed_point_iteration(fused.at([0.05, 0.01]), tol=1e-12).w
    j = int(np.flatnonzero(w0)[0])
    lam = [_tied(fused, w0, j, 0.01), 0.01]
    phi, ref = fused.at(lam), plain.at(lam)
    assert float(phi.tau) == abs(phi.inner_point(w0)[j])  # an exact tie at coordinate j
    sel = ref.selection(w0)
    assert (j in sel.rows) == tie_active
    v = np.zeros(phi.dim)
    v[j] = 1.0  # only coordinate j: Aᵀv and Bᵀv vanish on the inactive vertex
    a, g = phi.vjp(w0, v)
    _close(a, sel.AT(v), np.float64)
    _close(g, sel.BT(v), np.float64)
    assert bool(np.any(g != 0)) == tie_active
    J = np.ones((phi.dim, 2))
    AJB = phi.jvp(w0, J)
    _close(AJB, _generic_jvp(sel, J), np.float64)
    assert bool(np.any(AJB[j] != 0)) == tie_active


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_itd_through_the_fused_path_equals_the_generic_path(dtype):
    fused, plain = _maps(dtype)
    phi, ref = fused.at([0.05, 0.01]), plain.at([0.05, 0.01])
    rng = np.random.default_rng(2)
    u = rng.normal(size=phi.dim).astype(dtype)
    traj = ni.fixed_point_iteration(phi, tol=0, max_iter=25, store_trajectory=True).trajectory
    _close(ni.itd(phi, traj, u).value, ni.itd(ref, traj, u).value, dtype)
    _close(ni.itd_forward(phi, iters=25, tol=0).value,
           ni.itd_forward(ref, iters=25, tol=0).value, dtype)
