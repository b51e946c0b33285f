"""Tests that kill the non-equivalent survivors of the fourth mutmut 2 campaign over the
mathematical core (validation/mutation/REPORT.md, part 4: mutation IDs and diffs there).

The instances are tiny and exact in binary floating point (integer data, dyadic thresholds and
steps), so values, counts and flags are asserted as equalities.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import ns_implicit as ni
from ns_implicit.errors import NotContractiveError
from ns_implicit.operators import SoftThreshold, WeightedSoftThreshold
from ns_implicit.steps import LeastSquaresStep
from ns_implicit.steps import least_squares as ls


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


# steps/least_squares.py. The certified Lanczos bound (`lanczos_top`, `certified_upper_bound`),
# the rigorous cap, the spectrum paths of `_extreme_eigenvalues`, `gram_pays`, `checked_gram`'s
# tolerance, the `spectrum="auto"` and `gram="auto"` defaults, and the step's derivatives on the
# matrix-free and sparse paths (mutant IDs in REPORT.md part 4).


def _krylov_top(H, q0, k):
    """The top Ritz value of H on span{q0, H q0, …, H^{k-1} q0} (QR of the Krylov matrix)."""
    K = np.empty((len(q0), k))
    x = q0.copy()
    for j in range(k):
        K[:, j] = x
        x = H @ x
    Q, _ = np.linalg.qr(K)
    return np.linalg.eigvalsh(Q.T @ H @ Q)[-1]


def _starts(seed, runs, dim):
    """The documented starts: uniformly random unit vectors, one row per run."""
    q = np.random.default_rng(seed).standard_normal((runs, dim))
    return q / np.linalg.norm(q, axis=1)[:, None]


def test_lanczos_top_is_the_largest_top_ritz_value_of_the_krylov_spaces():
    """θ = the largest, over the runs, top eigenvalue of H on each run's Krylov space
    (computed here by QR, 5 steps: rtol 1e-12 is round-off); exhausted with m = dim after dim
    steps (θ = 12 exactly up to round-off) and after 2 steps on a matrix with two eigenvalues;
    scale invariance at 2⁻⁸⁰ (the invariance test is relative to |α|); the default is one run."""
    H = np.diag(np.arange(1.0, 13.0))
    for seed in range(4):
        for runs in (1, 2, 3):
            for scale in (1.0, 2.0 ** -80):
                th, ex, m = ls.lanczos_top(lambda V: scale * H @ V, 12, 5,
                                           np.random.default_rng(seed), runs)
                per_run = [_krylov_top(H, q, 5) for q in _starts(seed, runs, 12)]
                assert (ex, m) == (False, 5)
                assert th == pytest.approx(scale * max(per_run), rel=1e-12)
        th, ex, m = ls.lanczos_top(lambda V: H @ V, 12, 5, np.random.default_rng(seed))
        assert th == pytest.approx(_krylov_top(H, _starts(seed, 1, 12)[0], 5), rel=1e-12)
    th, ex, m = ls.lanczos_top(lambda V: H @ V, 12, 30, np.random.default_rng(0), 2)
    assert (ex, m) == (True, 12) and th == pytest.approx(12.0, rel=1e-12)
    H2 = np.diag([1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0, 3.0])
    for runs in (1, 2):
        th, ex, m = ls.lanczos_top(lambda V: H2 @ V, 8, 6, np.random.default_rng(1), runs)
        assert (ex, m) == (True, 2) and th == pytest.approx(3.0, rel=1e-12)


def _bound_by_hand(theta, k, dim, cap, runs=1, delta=1e-6):
    """docs/theory.md §16.1: ε from 1.648 √d e^{-√ε (2k - 1)} = δ^{1/runs}."""
    root_eps = (np.log(1.648 * np.sqrt(dim)) + np.log(1.0 / delta) / runs) / (2 * k - 1)
    return cap if root_eps >= 1.0 else min(cap, theta / (1.0 - root_eps ** 2))


def test_certified_upper_bound_by_hand():
    """L̂ = min(cap, θ/(1 − ε²)) with the documented defaults (20 steps, one run, δ = 1e-6,
    seed 0), on the smaller side of X (XᵀX/n for n >= p, XXᵀ/n for n < p) or on a given H
    (cap: its largest absolute column sum); ε >= 1 gives the cap; an exhausted Krylov space
    gives θ(1 + 1e-10·d) + 1e-300; X = 0 gives exactly 0."""
    rng = np.random.default_rng(3)
    for n, p in ((100, 50), (50, 50), (30, 60)):
        X = rng.standard_normal((n, p))
        if n >= p:
            dim, mv = p, (lambda V: X.T @ (X @ V) / n)
        else:
            dim, mv = n, (lambda V: X @ (X.T @ V) / n)
        theta, ex, k = ls.lanczos_top(mv, dim, 20, np.random.default_rng(0), 1)
        assert not ex and k == 20
        cap = ls.rigorous_cap(X)
        L_hat, th = ls.certified_upper_bound(X, None)
        assert th == theta and L_hat == _bound_by_hand(theta, 20, dim, cap)
        assert L_hat < cap                                    # the Lanczos term decides
        for kw in (dict(runs=2), dict(delta=1e-3), dict(seed=4)):
            r = np.random.default_rng(kw.get("seed", 0))
            theta, _, k = ls.lanczos_top(mv, dim, 20, r, kw.get("runs", 1))
            L_hat, th = ls.certified_upper_bound(X, None, **kw)
            assert L_hat == _bound_by_hand(theta, k, dim, cap, kw.get("runs", 1),
                                           kw.get("delta", 1e-6))
        # 6 steps: √ε = 16.3/11 in [1, 2): the cap
        theta, _, _ = ls.lanczos_top(mv, dim, 6, np.random.default_rng(0), 1)
        assert ls.certified_upper_bound(X, None, steps=6) == (cap, theta)
    X = rng.standard_normal((100, 50))
    H = X.T @ X / 100
    theta, _, k = ls.lanczos_top(lambda V: H @ V, 50, 20, np.random.default_rng(0), 1)
    cap = float(np.max(np.abs(H).sum(axis=0)))
    assert ls.certified_upper_bound(X, H) == (_bound_by_hand(theta, k, 50, cap), theta)
    X = rng.standard_normal((40, 5))                      # exhausted after 5 steps
    theta, ex, k = ls.lanczos_top(lambda V: X.T @ (X @ V) / 40, 5, 20,
                                  np.random.default_rng(0), 1)
    assert ex and k == 5
    assert ls.certified_upper_bound(X, None) == (theta * (1.0 + 1e-10 * 5) + 1e-300, theta)
    assert ls.certified_upper_bound(np.zeros((4, 3)), None) == (0.0, 0.0)


def test_rigorous_cap_by_hand():
    """X = [[1, −2], [3, 0], [0, 4]]: ‖X‖_F² = 30, ‖X‖_1 = 6, ‖X‖_∞ = 4, so the cap is
    min(30, 24)(1 + 1e-6)/3, dense and sparse; Xᵀ (n = 2, the norms swapped) gives
    24(1 + 1e-6)/2."""
    X = np.array([[1.0, -2.0], [3.0, 0.0], [0.0, 4.0]])
    want = 24.0 * (1.0 + 1e-6) / 3
    assert ls.rigorous_cap(X) == want
    assert ls.rigorous_cap(sp.csr_matrix(X)) == want
    assert ls.rigorous_cap(sp.csc_matrix(X.T)) == 24.0 * (1 + 1e-6) / 2
    # one row of ones: ‖X‖_F² = 4 = ‖X‖_1‖X‖_∞ (the first row's sum decides)
    assert ls.rigorous_cap(sp.csr_matrix(np.ones((1, 4)))) == 4.0 * (1 + 1e-6)


def test_gram_pays_truth_table():
    assert ls.gram_pays(10, 10, False, "exact") and not ls.gram_pays(10, 11, False, "exact")
    assert ls.gram_pays(10, 5, False, "bound") and not ls.gram_pays(10, 6, False, "bound")
    assert not ls.gram_pays(10, 1, True, "exact") and not ls.gram_pays(10, 1, True, "bound")


def test_exact_spectrum_paths(monkeypatch):
    """spectrum="exact" without a Gram matrix: a dense eigen-decomposition up to
    min(n, p) = 3000 (μ exact when n >= p), Lanczos (eigsh, μ = 0) above. A sparse diagonal
    3001 × 3001 design (diag 2, 1, 1, …: L = 4/n) takes the eigsh path at its default
    threshold; with the threshold lowered to 4, a 4 × 4 design still takes the dense path
    (μ = min eigenvalue > 0) and a 5 × 5 one eigsh."""
    n = 3001
    d = np.ones(n)
    d[0] = 2.0
    X = sp.diags(d).tocsr()
    L, mu = ls._extreme_eigenvalues(X, None)
    assert mu == 0.0 and L == pytest.approx(4.0 / n, rel=1e-10)
    monkeypatch.setattr(ls, "_DENSE_SPECTRUM_MAX", 4)
    for size in (4, 5):
        X = np.diag(np.arange(1.0, size + 1.0))
        L, mu = ls._extreme_eigenvalues(X, None)
        assert L == pytest.approx(size ** 2 / size, rel=1e-10)
        assert mu == (pytest.approx(1.0 / size, rel=1e-10) if size == 4 else 0.0)


def test_checked_gram_tolerance_is_eight_gamma_n():
    """H = XᵀX/n + cI (symmetric: unchanged by the symmetrisation) differs on any probe v by
    c‖v‖ plus round-off; the allowance is 8 γ_n ‖X‖_F² ‖v‖/n, so c = 7.5 γ_n‖X‖_F²/n passes and
    8.5 fails (the round-off is below 0.1 of that unit here, checked). A list is refused with
    the ValueError."""
    rng = np.random.default_rng(0)
    n, p = 20, 6
    X = rng.standard_normal((n, p))
    eps = np.finfo(np.float64).eps
    unit = n * eps / (1 - n * eps) * np.sum(X * X) / n
    H = X.T @ X / n
    v = np.random.default_rng(0).standard_normal(p)
    assert np.linalg.norm(H @ v - X.T @ (X @ v) / n) < 0.1 * unit * np.linalg.norm(v)
    ls.checked_gram(X, H + 7.5 * unit * np.eye(p), n)
    with pytest.raises(ValueError, match="random probe"):
        ls.checked_gram(X, H + 8.5 * unit * np.eye(p), n)
    with pytest.raises(ValueError, match="gram must be"):
        ls.checked_gram(X, H.tolist(), n)


def test_auto_defaults_of_the_step():
    """spectrum="auto": exact up to p = 128, bound from 129; gram="auto" forms H only when it
    pays (no H for a dense X with p > n)."""
    rng = np.random.default_rng(0)
    for p, rule in ((128, "exact"), (129, "bound")):
        s = LeastSquaresStep(rng.standard_normal((4, p)), np.ones(4))
        assert (s.spectrum, s.spectrum_exact) == (rule, rule == "exact")
    X = rng.standard_normal((5, 6))
    assert LeastSquaresStep(X, np.ones(5)).H is None
    assert LeastSquaresStep(X, np.ones(5), gram="auto").H is None


def _derivatives_by_hand(X, y, w, lam2, gamma, dgamma, S):
    n = X.shape[0]
    H = X.T @ X / n
    grad = X.T @ (X @ w - y) / n + lam2 * w
    return (w - gamma * grad, -gamma * w - dgamma * grad,
            np.eye(len(S)) - gamma * (H[np.ix_(S, S)] + lam2 * np.eye(len(S))), grad - lam2 * w)


def test_step_derivatives_on_every_path():
    """T(w), ∂_λ2T = −γw − (dγ/dλ2)(∇f + λ2w), (∂_wT)[S, S] = I − γ(H_SS + λ2 I) and ∇f on the
    Gram path, the matrix-free dense path and the sparse path, for the paper step (dγ/dλ2 =
    −γ²) and the Lipschitz step γ = 1/(L + λ2), through the step's own ``linearize`` and the
    ``at`` step's (rtol 1e-12: products in another order)."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((12, 5)), rng.standard_normal(12)
    w, lam2, S = rng.standard_normal(5), 0.5, np.array([0, 2, 3], dtype=np.intp)
    for Xs, gram in ((X, True), (X, False), (sp.csr_matrix(X), False)):
        for rule in ("paper", "lipschitz"):
            step = LeastSquaresStep(Xs, y, step=rule, gram=gram)
            L, mu = step.L, step.mu
            gamma = 2.0 / (L + mu + 2 * lam2) if rule == "paper" else 1.0 / (L + lam2)
            assert step.step_size(lam2) == pytest.approx((gamma, -gamma * gamma), rel=1e-15)
            value, dT, block, grad = _derivatives_by_hand(X, y, w, lam2, gamma, -gamma ** 2, S)
            np.testing.assert_allclose(step.gradient(w), grad, rtol=1e-12, atol=1e-14)
            for lin in (step.linearize(w, np.array([lam2])),
                        step.at(np.array([lam2])).linearize(w)):
                np.testing.assert_allclose(lin.value, value, rtol=1e-12, atol=1e-14)
                np.testing.assert_allclose(lin.dT_dlam2, dT, rtol=1e-12, atol=1e-14)
                np.testing.assert_allclose(lin.jac_w_block(S), block, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(step.hessian_block(S), (X.T @ X / 12)[np.ix_(S, S)],
                                       rtol=1e-12, atol=1e-14)


def test_fixed_step_contraction_and_message():
    """A fixed step is accepted iff γ(L + λ2) < 2 when q >= 1: with L = 1, μ = 0 (X = [[1, 0]],
    H = diag(1, 0)) and λ2 = 0, γ = 2 gives γL = 2 (refused) and 1.5 (averaged, q = 1); at
    λ2 = ¼, γ = 2 gives γ(L + λ2) = 2.5 (refused although γ(L − λ2) = 1.5 < 2). The message
    names the longest step 2/(L + λ2)."""
    X, y = np.array([[1.0, 0.0]]), np.array([1.0])
    assert LeastSquaresStep(X, y, step=1.5, lam2=0.0).at(np.zeros(0)).q == 1.0
    with pytest.raises(NotContractiveError, match=r"\(0, 2\)"):
        LeastSquaresStep(X, y, step=2.0, lam2=0.0).at(np.zeros(0))
    with pytest.raises(NotContractiveError, match=r"\(0, 1\.6\)"):
        LeastSquaresStep(X, y, step=2.0, lam2=0.25).at(np.zeros(0))
    with pytest.raises(NotContractiveError, match=r"\(0, 1\.6\)"):
        LeastSquaresStep(X, y, step=2.0).at(np.array([0.25]))


# operators/group_soft_threshold.py. Mutants: `group_structure`'s checks (`shape[0] == 1`:
# one feature refused; `or` -> `and`: a 2-D or empty array accepted), integral float labels
# (`kind != "f"`, `"XXfXX"`, `groups = None`); `dim`, `n_params`, `param_names` -> None; the
# near-tie rule `<`, `tie_tol / tau`; ties at τ_g = 0 (`tau >= 0`).

def test_group_structure_and_the_operators_attributes():
    from ns_implicit.operators.group_soft_threshold import GroupSoftThreshold, group_structure

    order, ptr, group_of, labels = group_structure(np.array([2.0, 0.0, 2.0, 1.0]))
    np.testing.assert_array_equal(order, [1, 3, 0, 2])
    np.testing.assert_array_equal(ptr, [0, 1, 2, 4])
    np.testing.assert_array_equal(group_of, [2, 0, 2, 1])
    np.testing.assert_array_equal(labels, [0, 1, 2])
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(group_structure([7])[1], [0, 1])     # one feature
    for bad in (np.zeros((2, 2), dtype=int), np.zeros(0, dtype=int)):
        with pytest.raises(ValueError, match="non-empty 1-D"):
            group_structure(bad)
    for bad in ([0.5, 1.0], [0.0, np.nan]):
        with pytest.raises(ValueError, match="integer group labels"):
            group_structure(bad)
    op = GroupSoftThreshold([0, 0, 1, 1, 1])
    assert (op.dim, op.n_groups, op.n_params, op.param_names) == (5, 2, 1, ("lam1",))
    op = GroupSoftThreshold([3, 3, 5, 5, 5], per_group=True)
    assert (op.dim, op.n_params, op.param_names) == (5, 2, ("lam[3]", "lam[5]"))


def test_group_ties_by_hand():
    """Groups {0, 1}, {2, 3}, {4} with weights (1, 4, 0), λ = 1, γ = ½: τ = (½, 2, 0).
    u = (0.3, 0.4, 1.5, 2, 0): ‖u_0‖ = ½ (an exact tie), ‖u_1‖ = 2.5 (|2.5 − 2| = ¼·2: on the
    boundary of tie_tol = ¼), and the zero-weight group at u_2 = 0 is never a tie."""
    from ns_implicit.operators.group_soft_threshold import GroupSoftThreshold

    op = GroupSoftThreshold([0, 0, 1, 1, 2], weights=[1.0, 4.0, 0.0])
    u, lam = np.array([0.3, 0.4, 1.5, 2.0, 0.0]), np.array([1.0])
    assert op.group_norms(u)[0] == 0.5 and op.group_norms(u)[1] == 2.5
    np.testing.assert_array_equal(op.ties(u, lam, 0.5), [0])
    np.testing.assert_array_equal(op.ties(u, lam, 0.5, tie_tol=0.25), [0, 1])
    np.testing.assert_array_equal(op.ties(u, lam, 0.5, tie_tol=0.125), [0])


# kernels/groups.py: every output of the group kernels by hand (mutant IDs in REPORT.md part 4),
# compiled and as Python. Groups {0, 1}, {2, 3}, {4}; u = (3, 4, 0.375, 0.5, 0) has norms
# (5, 0.625, 0) and τ = (2.5, 0.625, 0): group 0 active with c = ½, group 1 an exact tie,
# group 2 has τ = 0 (always active, c = 1) and u_g = 0 (direction 0).

def test_group_kernels_by_hand():
    from ns_implicit.kernels import groups as kg

    order, ptr = np.arange(5, dtype=np.int64), np.array([0, 2, 4, 5], dtype=np.int64)
    u = np.array([3.0, 4.0, 0.375, 0.5, 0.0])
    tau = np.array([2.5, 0.625, 0.0])
    d0, d1 = np.array([0.6, 0.8]), u[2:4] / 0.625
    for norm in _paths(kg.group_norm):
        assert [norm(u, order, a, b) for a, b in ((0, 2), (2, 4), (4, 5))] == [5.0, 0.625, 0.0]
        assert norm(u * 2.0 ** -600, order, 0, 2) == 5.0 * 2.0 ** -600   # no underflow
        assert norm(u * 2.0 ** 600, order, 0, 2) == 5.0 * 2.0 ** 600     # no overflow
    for select in _paths(kg.block_soft_threshold_selection):
        for tie_active in (False, True):
            active, scale, direction = np.full(3, 7.0), np.full(3, 7.0), np.full(5, 7.0)
            assert select(u, order, ptr, tau, tie_active, active, scale, direction) == 1
            np.testing.assert_array_equal(active, [1.0, float(tie_active), 1.0])
            np.testing.assert_array_equal(scale, [0.5, 0.0, 1.0])
            np.testing.assert_array_equal(direction[:2], d0)
            np.testing.assert_array_equal(direction[2:4], d1 if tie_active else [0.0, 0.0])
            assert direction[4] == 0.0
        buffers = np.empty(3), np.empty(3), np.empty(5)
        assert select(u, order, ptr, np.array([5.0, 0.625, 0.0]), False, *buffers) == 2
        assert select(u, order, ptr, np.array([1.0, 1.0, 0.0]), False, *buffers) == 0
    want = np.array([1.5, 2.0, 0.0, 0.0, 0.0])
    for step in _paths(kg.block_soft_threshold_step):
        out = np.empty(5)
        assert step(u, order, ptr, tau, want.copy(), out) == (0.0, False)
        np.testing.assert_array_equal(out, want)
        assert step(u, order, ptr, tau, np.zeros(5), out) == (2.5, True)


# kernels/simplex.py: every kernel by hand (mutant IDs in REPORT.md part 4), compiled and as
# Python. u = (3, 1, ½, −1), r = 2: θ = 1 (Σ max(u − 1, 0) = 2), an exact tie at u_1 = θ.

def test_simplex_kernels_by_hand():
    from ns_implicit.kernels import simplex as ks

    u = np.array([3.0, 1.0, 0.5, -1.0])
    for f in _paths(ks.simplex_active):
        assert f(2.0, 1.0, False) and not f(1.0, 1.0, False) and f(1.0, 1.0, True)
        assert not f(0.5, 1.0, True)
    for f in _paths(ks.l1_ball_inside):
        assert f(1.0, 2.0, False) and not f(2.0, 2.0, False) and f(2.0, 2.0, True)
        assert not f(3.0, 2.0, True)
    for f in _paths(ks.simplex_threshold):
        assert f(u, 2.0) == 1.0 and f(u, 1.0) == 2.0 and f(u, 8.0) == -1.125
    for f in _paths(ks.l1_norm):
        assert f(u) == 5.5
    for f in _paths(ks.projection_support):
        for tie_active in (False, True):
            support = np.full(4, 7.0)
            assert f(u, 1.0, tie_active, support) == 1
            np.testing.assert_array_equal(support, [1.0, float(tie_active), 0.0, 0.0])
        assert f(u, 0.75, False, support) == 0
        assert f(np.array([1.0, 3.0, 1.0, 0.0]), 1.0, False, support) == 2
    for step in _paths(ks.simplex_step):
        out = np.empty(4)
        assert step(u, 2.0, np.array([2.0, 0.0, 0.0, 0.0]), out) == (0.0, False)
        np.testing.assert_array_equal(out, [2.0, 0.0, 0.0, 0.0])
        assert step(u, 2.0, np.zeros(4), out) == (2.0, True)
    for step in _paths(ks.l1_ball_step):
        out = np.empty(4)
        v = np.array([3.0, -1.0, 0.5, 0.0])                      # ‖v‖₁ = 4.5 > 2: θ = 1
        assert step(v, 2.0, np.zeros(4), out) == (2.0, True)
        np.testing.assert_array_equal(out, [2.0, 0.0, 0.0, 0.0])
        v = np.array([-3.0, 1.0, 0.5, 0.0])
        step(v, 2.0, np.zeros(4), out)
        np.testing.assert_array_equal(out, [-2.0, 0.0, 0.0, 0.0])
        for v in (np.array([0.5, -0.25, 0.0, 0.0]), np.array([1.5, -0.5, 0.0, 0.0])):
            assert step(v, 2.0, v.copy(), out) == (0.0, False)      # inside, and on the sphere
            np.testing.assert_array_equal(out, v)


# operators/simplex.py: a fixed radius (`fixed = None`, `n_params = 1`, `param_names` swapped or
# renamed, `B` with `1.0` for the absent y_r), the radius check (`>= 0`, `lam_G[1]` in the
# message) and the near-tie rule (`<`, `tie_tol / r`).

def test_simplex_operator_radius_and_ties():
    from ns_implicit.operators.simplex import SimplexProjection

    op = SimplexProjection()
    assert (op.n_params, op.param_names, op.fixed) == (1, ("radius",), None)
    with pytest.raises(ValueError, match=r"got 0\.0"):
        op.check_params(np.array([0.0]))
    fixed = SimplexProjection(2.0)
    assert (fixed.n_params, fixed.param_names, fixed.fixed) == (0, (), 2.0)
    u = np.array([3.0, 1.5, 0.5, -1.0])            # r = 2: θ = 1.25, |1.5 − 1.25| = ⅛·2
    assert fixed.theta(u, np.zeros(0)) == 1.25
    np.testing.assert_array_equal(fixed.select(u, np.zeros(0), 1.0).B(np.zeros(0), 0.0), 0.0)
    np.testing.assert_array_equal(fixed.ties(u, np.zeros(0), 1.0), [])
    np.testing.assert_array_equal(fixed.ties(u, np.zeros(0), 1.0, tie_tol=0.125), [1])
    np.testing.assert_array_equal(fixed.ties(u, np.zeros(0), 1.0, tie_tol=0.0625), [])
