"""Tests that kill the non-equivalent survivors of the fourth mutmut 2 campaign over the
mathematical core (validation/mutation/REPORT.md, part 4: mutation IDs and diffs there).

The instances are tiny and exact in binary floating point (integer data, dyadic thresholds and
steps), so values, counts and flags are asserted as equalities.
"""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import ns_implicit as ni
from ns_implicit.operators import SoftThreshold, WeightedSoftThreshold
from ns_implicit.steps import LeastSquaresStep


# operators/weighted_soft_threshold.py. Mutants: `ties(tie_tol=0.0)` default -> 1.0; the
# near-tie rule `gap <= tie_tol * tau` -> `<`, `tie_tol / tau`, `if tie_tol > 1`; in
# `vertices`: `np.array(u, copy=True)` -> `copy=False` (the snap overwrote the caller's u), the
# snap `sign(u) * tau` -> `sign(u) / tau` (0/0 = NaN at a zero weight with u_i = 0) and the signed
# mask `m * sign` -> `m / sign` (0/0 = NaN at an inactive u_i = 0).

def test_weighted_soft_threshold_ties_and_vertices_by_hand():
    """γ = ½, λ = (4, 2, 0, 2, 1): τ = (2, 1, 0, 1, ½). u = (2.5, −1, 0, 0, ¼) has a near-tie
    on the boundary of tie_tol = ¼ (|2.5| − 2 = ½ = ¼·2) at 0, exact ties at 1 and at the
    zero weight 2 (u = τ = 0), and two inactive coordinates, one of them at u = 0."""
    op = WeightedSoftThreshold(5)
    lam, gamma = np.array([4.0, 2.0, 0.0, 2.0, 1.0]), 0.5
    u = np.array([2.5, -1.0, 0.0, 0.0, 0.25])
    u_before = u.copy()
    np.testing.assert_array_equal(op.ties(u, lam, gamma), [1, 2])            # default: exact
    np.testing.assert_array_equal(op.ties(u, lam, gamma, 0.0), [1, 2])
    np.testing.assert_array_equal(op.ties(u, lam, gamma, 0.25), [0, 1, 2])   # boundary included
    np.testing.assert_array_equal(op.ties(u, lam, gamma, 0.125), [1, 2])
    verts = op.vertices(u, lam, gamma, tie_tol=0.25)
    np.testing.assert_array_equal(u, u_before)                               # input untouched
    assert len(verts) == 8
    sign = np.array([1.0, -1.0, 0.0, 0.0, 1.0])  # sign of u after the near-tie is snapped to 2
    masks = set()
    for sel in verts:
        m = sel.mask
        assert set(np.unique(m)) <= {0.0, 1.0}
        assert m[3] == 0.0 and m[4] == 0.0
        np.testing.assert_array_equal(sel.signed_mask, m * sign)
        v = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
        gG, gg = sel.BT(v)
        np.testing.assert_array_equal(gG, -gamma * m * sign * v)
        assert gg == -float(np.sum(m * sign * v * lam))
        masks.add(tuple(m[:3]))
    assert len(masks) == 8


# methods/aid_gmres.py. Mutants: `RESTART = 21`; `aid_gmres(iters=1000)` -> 1001; the iteration
# counter (`count[0] - 1`, a callback that counts nothing); the convergence flag of a GMRES call
# (`info != 0`, `info == 1`) and `if last and done` (the remainder of the budget after the full
# restart cycles skipped or run after convergence); the record's label; `residual <= tol` -> `<`.
# The instance: H = XᵀX/n = diag(s²) with s geometric from 1 to 1e-2, λ = (1e-8, 1e-4): the
# paper's step gives q = 0.9996 and every coordinate is active at w, so (I - Aᵀ) has a spread
# spectrum in [1 - q, 1 + q] and restarted GMRES is far from converged after 40 iterations.

def _gmres_instance(p=30):
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    X = Q * np.geomspace(1.0, 1e-2, p) * np.sqrt(p)
    phi = ni.CompositeMap(SoftThreshold(), LeastSquaresStep(X, rng.standard_normal(p))).at(
        np.array([1e-8, 1e-4]))
    w, u = rng.standard_normal(p), rng.standard_normal(p)
    assert len(phi.selection(w).rows) == p
    return phi, w, u / np.linalg.norm(u)


def test_aid_gmres_budget_restarts_and_iteration_count():
    """The budget counts GMRES iterations: iters = 20, 21, 25, 40 run exactly that many (the
    count is the record's ``iterations``), the default budget is 1000 at an unreachable tol,
    and the restart length is 20: the 21-iteration value is GMRES(20) followed by one restarted
    step, computed here with SciPy directly (GMRES(21) without a restart gives a hypergradient
    that differs by 41 % in an entry)."""
    phi, w, u = _gmres_instance()
    for iters in (20, 21, 25, 40):
        r = ni.aid_gmres(phi, w, u, iters=iters, tol=1e-14)
        assert (r.method, r.iterations, r.converged) == ("aid-gmres", iters, False)
        assert r.residual > 1e-3
    r = ni.aid_gmres(phi, w, u, tol=1e-20)  # below float64's reach: the budget is spent
    assert (r.iterations, r.converged) == (1000, False)
    sel = phi.selection(w)
    op = spla.LinearOperator((30, 30), matvec=lambda v: v - sel.AT(v), dtype=np.float64)
    v, _ = spla.gmres(op, u, x0=np.zeros(30), rtol=1e-14, atol=0.0, restart=20, maxiter=1)
    v, _ = spla.gmres(op, u, x0=v, rtol=1e-14, atol=0.0, restart=1, maxiter=1)
    r21 = ni.aid_gmres(phi, w, u, iters=21, tol=1e-14)
    # the same SciPy calls on the same floats (u has unit norm: no rescaling); round-off only
    np.testing.assert_allclose(r21.value, sel.BT(v), rtol=1e-10, atol=1e-14)
    assert r21.residual == pytest.approx(np.linalg.norm(op.matvec(v) - u), rel=1e-8)


def test_aid_gmres_zero_rhs_is_solved_exactly_at_tol_zero():
    """u = 0: v = 0 with no GMRES call, residual exactly 0, so ``converged = residual <= tol``
    holds at tol = 0 (the ``<`` mutant reports False)."""
    phi, w, _ = _gmres_instance()
    r = ni.aid_gmres(phi, w, np.zeros(30), tol=0.0)
    assert (r.method, r.iterations, r.residual, r.converged) == ("aid-gmres", 0, 0.0, True)
    assert not np.any(r.value)


# kernels/minibatch.py. Mutants: `has_offset = offset.shape[0] > 1` (y ignored for a one-row
# dataset) and `has_weights = weights.shape[0] > 1` (the counts ignored for one distinct row);
# the weights of the last block of four rows read at `min(t + 1, b + 1)` (past the end: an
# IndexError in the Python kernels, an out-of-bounds read compiled), `min(t + 1, b - 2)` and
# `min(t + 3, b - 2)` (the neighbouring row's count); the empty "no offset"/"all outputs" slices
# taken as `X[1, :0]`, `batches[1, :0]` (IndexError in the Python kernels for one row, one
# batch); the early stop `tol > 0` -> `tol >= 0` and `step <= tol` -> `step < tol`.
# The kernels run compiled and as their Python source (``py_func``: the path of
# NS_IMPLICIT_PURE_PYTHON), on integer data with dyadic steps: sums are exact.

def _paths(kernel):
    """The compiled kernel and its Python source (one function when Numba is switched off)."""
    return [kernel] + ([kernel.py_func] if hasattr(kernel, "py_func") else [])


def test_minibatch_kernels_on_one_row_and_on_every_last_block():
    from ns_implicit.kernels import minibatch as mb

    X1, y1 = np.array([[1.0, 2.0, -1.0]]), np.array([3.0])
    w = np.array([1.0, 0.0, -1.0])
    one = np.array([0], dtype=np.int64)
    for grad in _paths(mb.minibatch_gradient):      # x (x·w - y) = -x
        out = np.empty(3)
        grad(X1, y1, one, w, out)
        np.testing.assert_array_equal(out, [-1.0, -2.0, 1.0])
    for hv in _paths(mb.minibatch_hessian_vector):  # x (x·w) = 2x
        out = np.empty(3)
        hv(X1, one, w, out)
        np.testing.assert_array_equal(out, [2.0, 4.0, -2.0])
    three = np.array([3], dtype=np.int64)            # one distinct row, counted 3 times: the mean
    for grad in _paths(mb.counted_gradient):
        out = np.empty(3)
        grad(X1, y1, one, three, w, out)
        np.testing.assert_array_equal(out, [-1.0, -2.0, 1.0])
    for hv in _paths(mb.counted_hessian_vector):
        out = np.empty(3)
        hv(X1, one, three, w, out)
        np.testing.assert_array_equal(out, [2.0, 4.0, -2.0])
    # 4, 5, 6 distinct rows with distinct counts: the last block of four holds 4, 1, 2 rows
    X = np.arange(1.0, 19.0).reshape(6, 3) % 5 - 2.0
    y = np.array([1.0, -2.0, 3.0, 0.0, 2.0, -1.0])
    for b in (4, 5, 6):
        rows = np.arange(b, dtype=np.int64)
        counts = np.arange(1, b + 1, dtype=np.int64)
        Xm, ym = np.repeat(X[:b], counts, axis=0), np.repeat(y[:b], counts)
        g_ref = Xm.T @ (Xm @ w - ym) / counts.sum()
        h_ref = Xm.T @ (Xm @ w) / counts.sum()
        for grad in _paths(mb.counted_gradient):
            out = np.empty(3)
            grad(X, y, rows, counts, w, out)
            np.testing.assert_allclose(out, g_ref, rtol=1e-15, atol=1e-15)  # integer sums
        for hv in _paths(mb.counted_hessian_vector):
            out = np.empty(3)
            hv(X, rows, counts, w, out)
            np.testing.assert_allclose(out, h_ref, rtol=1e-15, atol=1e-15)
        for product in _paths(mb._gram_product):  # Σ c_t (<x_t, w> - y_t) x_t, not averaged
            acc = np.zeros(3)
            product(X, rows, w, np.flatnonzero(w), y, counts, rows[:0], acc)
            np.testing.assert_array_equal(acc, Xm.T @ (Xm @ w - ym))


def test_stochastic_linear_system_one_row_one_batch_by_hand():
    """n = 1, one batch of one row, γ = ¼, λ2 = ½, τ = ½, η = ½, v_0 = (1, 1, 2),
    u = (½, ¼, −1). SID's selection at T̂(w) = (1.125, 0.5, −1.125) is m = (1, 0, 1) (a tie at
    coordinate 1, inactive); z = m ⊙ v_0 = (1, 0, 2), <x, z> = −1, so
    v_1 = ½ v_0 + ½ (z − ¼(−x + ½ z) + u) = (1.3125, 0.875, 1.25) and the step on m is
    ‖(0.3125, −0.75)‖ = 0.8125. NSID with the frozen m updates the active coordinates only."""
    from ns_implicit.kernels import minibatch as mb

    X, y = np.array([[1.0, 2.0, -1.0]]), np.array([3.0])
    w, u = np.array([1.0, 0.0, -1.0]), np.array([0.5, 0.25, -1.0])
    batches, etas = np.zeros((1, 1), dtype=np.int64), np.array([0.5])
    for kernel in _paths(mb.stochastic_linear_system):
        for sid, v_ref in ((True, [1.3125, 0.875, 1.25]), (False, [1.3125, 1.0, 1.25])):
            mask = np.array([1.0, 0.0, 1.0]) if not sid else np.zeros(3)
            v, record = np.array([1.0, 1.0, 2.0]), np.empty((1, 3))
            k, step = kernel(X, y, batches, w, mask, u, 0.25, 0.5, 0.5, False, sid, etas, 0.0,
                             v, record)
            assert (k, step) == (1, 0.8125)
            np.testing.assert_array_equal(v, v_ref)
            np.testing.assert_array_equal(record[0], v_ref)


def test_stochastic_linear_system_stopping_rule():
    """tol = 0 never stops early, even on exactly zero steps (an empty frozen mask); tol equal
    to the step of iteration k (read from a tol = 0 run: the same floats) stops exactly at k,
    for k = 2, 4, 6 where that step is below every earlier one (the steps alternate with the two
    batches; the ``<`` mutant goes on to the next smaller step)."""
    from ns_implicit.kernels import minibatch as mb

    X = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0], [2.0, -1.0]])
    y = np.array([1.0, 2.0, -1.0, 0.5])
    w, u = np.zeros(2), np.array([1.0, -0.5])
    batches = np.array([[0, 1], [2, 3]] * 5, dtype=np.int64)
    etas = np.full(10, 0.5)
    no_record = np.empty((0, 2))
    for kernel in _paths(mb.stochastic_linear_system):
        def run(mask, K, tol):
            v = np.zeros(2)
            k, step = kernel(X, y, batches[:K], w, mask, u, 0.125, 0.25, 0.0, False, False,
                             etas[:K], tol, v, no_record)
            return k, step
        assert run(np.zeros(2), 10, 0.0) == (10, 0.0)
        steps = [run(np.ones(2), K, 0.0)[1] for K in range(1, 11)]
        for K in (2, 4, 6):
            assert steps[K - 1] < min(steps[:K - 1])
            assert run(np.ones(2), 10, steps[K - 1]) == (K, steps[K - 1])
