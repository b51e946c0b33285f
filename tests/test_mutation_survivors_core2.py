"""Tests that kill the non-equivalent survivors of the third mutmut 2 campaign over the
mathematical core (validation/mutation/REPORT.md, part 3: mutation IDs and diffs there).

The instances are tiny and exact in binary floating point (integer data, dyadic thresholds and
steps), so values, counts and flags are asserted as equalities. Kernels are called both
compiled (in float32 and float64) and as their Python source (``py_func``), against
expectations written with numpy or by hand, never with the kernel under test.
"""

import warnings

import numpy as np
import pytest

from ns_implicit import fixed_point_iteration
from ns_implicit.kernels import soft_threshold as kst

DTYPES = [np.float32, np.float64]


def _paths(kernel):
    """The compiled kernel and its Python source (one function when Numba is switched off)."""
    return [kernel] + ([kernel.py_func] if hasattr(kernel, "py_func") else [])


# kernels/soft_threshold.py. Mutants: sign(u) written by soft_threshold_selection (`1.0`/`-1.0`
# -> `2.0`/`+1.0`/`-2.0`/None, `ui > 0` -> `>= 0`/`> 1`, `ui < 0` -> `<= 0`/`< 1`, `else 0.0` ->
# `1.0`), the signed mask of soft_threshold_entry at u_i = 0 (`ui > 0` -> `>= 0`, `ui < 0` ->
# `<= 0`/`< 1`, `else 0.0` -> `1.0`), and the tie counts returned by the two mask kernels
# (`ties = 1`, `ties = tie`, `ties -= tie`). u holds both signs, exact ties ±τ, 0 and values in
# (0, 1); with τ = 0 and the active tie rule, u_i = 0 is active and its signed mask is 0.

U = [3.0, -3.0, 2.0, -2.0, 0.0, 0.5, -0.5, 1.5]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tie_active", [False, True])
def test_soft_threshold_selection_and_masks_by_hand(dtype, tie_active):
    u = np.array(U, dtype=dtype)
    tau = dtype(2.0)
    mask_ref = (np.abs(u) > tau) | (tie_active & (np.abs(u) == tau))
    for kernel in _paths(kst.soft_threshold_selection):
        out, mask, sign = np.empty_like(u), np.empty(8, np.uint8), np.empty_like(u)
        assert kernel(u, tau, tie_active, out, mask, sign) == 2
        np.testing.assert_array_equal(out, [1, -1, 0, 0, 0, 0, 0, 0])
        np.testing.assert_array_equal(mask, mask_ref)
        np.testing.assert_array_equal(sign, np.sign(u))
    for kernel in _paths(kst.soft_threshold_masks):
        mask, signed = np.empty_like(u), np.empty_like(u)
        assert kernel(u, tau, tie_active, mask, signed) == 2
        np.testing.assert_array_equal(mask, mask_ref)
        np.testing.assert_array_equal(signed, mask_ref * np.sign(u))
    # one threshold per coordinate: ties at 2 (τ = 2), 5 and 6 (τ = ½)
    taus = np.array([2, 4, 2, 1, 1, 0.5, 0.5, 1], dtype=dtype)
    mask_ref = (np.abs(u) > taus) | (tie_active & (np.abs(u) == taus))
    for kernel in _paths(kst.weighted_soft_threshold_masks):
        mask, signed = np.empty_like(u), np.empty_like(u)
        assert kernel(u, taus, tie_active, mask, signed) == 3
        np.testing.assert_array_equal(mask, mask_ref)
        np.testing.assert_array_equal(signed, mask_ref * np.sign(u))


@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_threshold_masks_at_a_zero_threshold(dtype):
    u = np.array([0.0, 0.5, -0.5], dtype=dtype)
    for kernel in _paths(kst.soft_threshold_masks):
        mask, signed = np.empty_like(u), np.empty_like(u)
        assert kernel(u, dtype(0.0), True, mask, signed) == 1     # |u_0| = τ = 0: a tie, active
        np.testing.assert_array_equal(mask, [1, 1, 1])
        np.testing.assert_array_equal(signed, [0, 1, -1])         # m ⊙ sign(u), sign(0) = 0


# Mutants in the steps: initial `acc = 1.0` (the step never below 1: the solver then spent
# its budget, a timeout of the runner) and initial `changed = True` (every step reported as a
# support change, so support identification never happens); soft_threshold_step's 3-4-5 step.

@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_threshold_steps_by_hand(dtype):
    u = np.array([3.0, -3.0, 1.0, 0.0], dtype=dtype)    # S_2(u) = (1, -1, 0, 0)
    same = np.array([1.0, -1.0, 0.0, 0.0], dtype=dtype)
    other = np.array([4.0, -1.0, 0.0, 4.0], dtype=dtype)  # S_2(u) - other = (-3, 0, 0, -4)
    cases = [(kst.soft_threshold_step, dtype(2.0)),
             (kst.weighted_soft_threshold_step, np.full(4, 2.0, dtype=dtype))]
    for step, tau in cases:
        for kernel in _paths(step):
            out = np.empty_like(u)
            assert kernel(u, tau, same, out) == (0.0, False)
            np.testing.assert_array_equal(out, same)
            assert kernel(u, tau, other, out) == (5.0, True)
            inplace = u.copy()                          # ``out`` may be ``u``
            assert kernel(inplace, tau, same, inplace) == (0.0, False)
            np.testing.assert_array_equal(inplace, same)


# Mutants in the convenience wrapper soft_threshold(): `u = None`, `out = None`,
# `np.empty(u.shape[1], …)` (every call raised).

@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_threshold_wrapper(dtype):
    u = np.array(U, dtype=dtype)
    out = kst.soft_threshold(u, 2.0)
    assert out.dtype == dtype and out is not u
    np.testing.assert_array_equal(out, [1, -1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(u, U)                 # the input is not overwritten


# kernels/least_squares.py. Mutants in gather_block's index check (`S[a] < 0` -> `<= 0`/`< 1`:
# index 0 refused; `>= p` -> `> p` and `or` -> `and`: an index outside [0, p) read past H; the
# returns `False` -> `True` / `True` -> `False`). The caller falls back to numpy's indexing on
# False, so only the kernel's documented flag (and the out-of-range read) tells them apart.
# Every gram kernel is also checked here against numpy, compiled in float32 and float64 and as
# Python: integer X with n = 4 and γ = 1/8, λ2 = 1/2, dγ/dλ2 = -γ² make every value dyadic, so
# sums in any order are exact; τ = |T(w)_0| is an exact tie.

from ns_implicit.kernels import least_squares as kls


def _gram_instance(dtype):
    X = np.array([[1, 2, 0], [0, 1, -1], [2, 0, 1], [1, -1, 1]], dtype=np.float64)
    y = np.array([1, -2, 3, 0], dtype=np.float64)
    H, b = (X.T @ X / 4).astype(dtype), (X.T @ y / 4).astype(dtype)
    w = np.array([1, 0, -2], dtype=dtype)                 # a zero entry: gram_matvec skips it
    return H, b, w, dtype(0.5), dtype(0.125), dtype(-1.0 / 64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_block_flags_indices_outside_the_matrix(dtype):
    H = np.arange(16, dtype=dtype).reshape(4, 4)
    H = H + H.T
    for kernel in _paths(kls.gather_block):
        S = np.array([3, 0, 2], dtype=np.int64)                # unsorted, including 0 and p - 1
        out = np.zeros((3, 3), dtype=dtype)
        assert kernel(H, S, out) is True
        np.testing.assert_array_equal(out, H[np.ix_(S, S)])
        for bad in ([0, 4], [-1, 2]):
            assert kernel(H, np.array(bad, dtype=np.int64), np.zeros((2, 2), dtype)) is False


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tie_active", [False, True])
def test_gram_kernels_by_hand(dtype, tie_active):
    H, b, w, lam2, gamma, dgamma = _gram_instance(dtype)
    Hw = H @ w
    g = Hw - b + lam2 * w
    u = w - gamma * g                                    # T(w) = (1.15625, -0.15625, -1.625)
    dT = -gamma * w - dgamma * g
    tau = dtype(abs(u[0]))
    m = (np.abs(u) > tau) | (tie_active & (np.abs(u) == tau))
    np.testing.assert_array_equal(m, [tie_active, False, True])
    v = np.array([2, -1, 4], dtype=dtype)
    J = np.array([[1, 0], [2, -1], [0, 4]], dtype=dtype)
    z = m * v
    for kernel in _paths(kls.gram_matvec):
        out = np.full(3, 7, dtype=dtype)                 # stale values must be overwritten
        kernel(H, w, out)
        np.testing.assert_array_equal(out, Hw)
    for kernel in _paths(kls.gram_step_jvp):
        out = np.empty_like(w)
        kernel(H, v, lam2, gamma, out)
        np.testing.assert_array_equal(out, v - gamma * (H @ v + lam2 * v))
    for kernel in _paths(kls.gram_step_value):
        out = np.empty_like(w)
        kernel(H, b, w, lam2, gamma, out)
        np.testing.assert_array_equal(out, u)
    for kernel in _paths(kls.gram_linearize):
        value, d = np.empty_like(w), np.empty_like(w)
        kernel(H, b, w, lam2, gamma, dgamma, value, d)
        np.testing.assert_array_equal(value, u)
        np.testing.assert_array_equal(d, dT)
    for kernel in _paths(kls.gram_soft_threshold_step):
        out = np.empty_like(w)
        step, changed = kernel(H, b, w, lam2, gamma, tau, out)
        new = np.sign(u) * np.maximum(np.abs(u) - tau, 0)
        np.testing.assert_array_equal(out, new)           # (0, 0, -0.46875): support {0,2} -> {2}
        assert bool(changed) is True                     # a numpy bool when not compiled
        # rel: one float64 square root of an exact sum of squares
        assert step == pytest.approx(float(np.linalg.norm((new - w).astype(np.float64))),
                                     rel=1e-15)
    for kernel in _paths(kls.gram_soft_threshold_vjp):
        out = np.empty_like(w)
        c_sign, c_T = kernel(H, b, w, lam2, gamma, dgamma, tau, tie_active, v, out)
        np.testing.assert_array_equal(out, z - gamma * (H @ z + lam2 * z))
        assert (c_sign, c_T) == (float(np.sum(m * np.sign(u) * v)), float(np.sum(dT * z)))
    for kernel in _paths(kls.gram_soft_threshold_jvp):
        out, signed, d = np.empty_like(J), np.empty_like(w), np.empty_like(w)
        kernel(H, b, w, lam2, gamma, dgamma, tau, tie_active, J, out, signed, d)
        np.testing.assert_array_equal(out, m[:, None] * (J - gamma * (H @ J + lam2 * J)))
        np.testing.assert_array_equal(signed, m * np.sign(u))
        np.testing.assert_array_equal(d, m * dT)
    for kernel in _paths(kls.support_equal):
        assert kernel(w, np.array([3, 0, 1], dtype=dtype)) is True
        assert kernel(w, np.array([3, 1, 1], dtype=dtype)) is False
        assert kernel(w, np.array([0, 0, 1], dtype=dtype)) is False


# methods/nsid.py. Mutants in step_sizes: `K` validated with minimum 1 (K = 0 refused; the
# public function returns no steps), q's range `0 <= q < 1` -> `0 < q` (q = 0 refused),
# `q <= 1` (q = 1 divides by zero), `q < 2` (q = 1.5 gives negative steps), γ's check
# `gamma < 0` -> `< 1` (a valid γ = ½ refused) and `or` -> `and` (γ = -1 or ∞ accepted), and
# Lemma D.2's test `β(1 - q²) <= 1 + 1e-12` (round-off allowance) -> `<`, `<= 1 + 2e-12`, the
# values it reports (`β/(1 - q²)`, `β(2 - q²)`, `β(1 + q²)`, `β(1 - q/q)`; the bound
# `1/(1 - q²)` as `2/…`, `1·(…)`, `1/(2 - q²)`, `1/(1 + q²)`), η_0 reported as `β·γ`, and the warning's
# `stacklevel=3` -> 4 (the StepSizeWarning must point at the caller's line).
# q = 0 makes the base 2/(1 - q²) = 2: η_k = 2/(2 + k); q = ½, β = 1 give β(1 - q²) = 0.75.

def test_step_sizes_range_of_q_empty_budget_and_warning_location():
    from ns_implicit.methods.nsid import StepSizeWarning, step_sizes
    empty = step_sizes(0, 0.5)
    assert empty.dtype == np.float64 and empty.shape == (0,)
    np.testing.assert_array_equal(step_sizes(3, 0.0), [2 / 2, 2 / 3, 2 / 4])
    np.testing.assert_array_equal(step_sizes(2, 0.0, "const"), [1.0, 1.0])
    np.testing.assert_array_equal(step_sizes(2, 0.0, "const", beta=0.25, gamma=0.5), [0.5, 0.5])
    for gamma in (-1.0, np.inf):
        with pytest.raises(ValueError, match="gamma must be finite and >= 0"):
            step_sizes(2, 0.5, gamma=gamma)
    for q in (1.0, 1.5, -0.5):
        with pytest.raises(ValueError, match=r"q must lie in \[0, 1\)"):
            step_sizes(2, q)
    with pytest.warns(StepSizeWarning, match=r"beta\*\(1 - q\^2\) = 0.75 <= 1 violates .*"
                                             r"use beta > 1/\(1 - q\^2\) = 1.33333 \("):
        step_sizes(1, 0.5, beta=1.0)
    with pytest.warns(StepSizeWarning, match="Lemma D.2"):
        step_sizes(1, 0.0, beta=1.0 + 1e-12)              # on the allowance: still a violation
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step_sizes(1, 0.0, beta=1.0 + 2e-12)              # past it: no warning
    with pytest.warns(StepSizeWarning, match=r"eta_0 = beta/gamma = 2 > 1"):
        step_sizes(1, 0.0, "const", beta=1.0, gamma=0.5)
    with pytest.warns(StepSizeWarning) as record:
        step_sizes(2, 0.5, beta_mult=0.25)
    assert [r.filename for r in record] == [__file__]


# solvers/fixed_point.py. Mutant: the overflow check after the scaled norm,
# `not (isfinite(norm) and isfinite(residual))` -> `not (… or …)` (raise only when both are
# infinite). Φ(w) = -w at w = 10³⁰⁸: the iterate is finite (its scaled norm is 10³⁰⁸) but the
# step w_1 - w_0 = -2·10³⁰⁸ overflows, so the solver must raise instead of iterating on an
# infinite residual.

class _FlipMap:
    """A one-coordinate map at fixed λ, Φ(w) = -w, reporting its step as the fused kernels do."""

    dim, dtype, q = 1, np.dtype(np.float64), 1.0

    def check_point(self, w, name):
        return np.asarray(w, dtype=np.float64)

    def selection(self, w):
        raise NotImplementedError

    def advance(self, w, out):
        out[:] = -w
        with np.errstate(over="ignore"):
            return float(np.sqrt(np.sum((out - w) ** 2))), False


def test_fixed_point_iteration_raises_when_only_the_step_overflows():
    from ns_implicit import fixed_point_iteration
    from ns_implicit.errors import NonFiniteError
    with pytest.raises(NonFiniteError, match="overflowed at step 1"):
        fixed_point_iteration(_FlipMap(), [1e308], tol=1e-10, max_iter=3)
    r = fixed_point_iteration(_FlipMap(), [1.0], tol=0.0, max_iter=2)   # the same map at w = 1
    assert (r.iterations, r.residual, float(r.w[0])) == (2, 2.0, 1.0)    # relative step 2/1


# methods/nsid.py, the generic loop: `rows = None` (the early stop's step measured on every row
# of v instead of the selection's rows R, the only ones that enter ĝ), and `converged` true
# whenever the K steps ran (`tol == 0 or k == K`) although tol was not met. The compiled loop
# measures it on R (the protocol: it must give the generic loop's v_k[R]); both stop at the same
# k with the same residual (same batches; the products differ in summation order only).

def _nsid_instance(lam1):
    import ns_implicit as ni
    data = ni.make_sparse_regression(n_samples=200, n_features=10, n_informative=5, seed=0)
    F = ni.StochasticElasticNetMap(data.X, data.y, 20).at([lam1, 0.01])
    w = fixed_point_iteration(F.phi, tol=1e-12).w
    return F, w, np.random.default_rng(0).standard_normal(F.dim)


def test_nsid_generic_loop_stops_on_the_selected_rows():
    import ns_implicit as ni
    F, w, u = _nsid_instance(0.05)
    for method in (ni.nsid, ni.sid):
        fast = method(F, w, u, 5000, rng=3, tol=1e-3, compiled=True)
        slow = method(F, w, u, 5000, rng=3, tol=1e-3, compiled=False)
        assert fast.iterations == slow.iterations < 5000
        # rel: float64 round-off of products summed in another order over ~10² steps
        assert slow.residual == pytest.approx(fast.residual, rel=1e-8)
        short = method(F, w, u, 5, rng=3, tol=1e-3, compiled=False)   # budget spent first
        assert (short.iterations, short.converged) == (5, False)
    # sid's frozen=False -> True (SID computing NSID): on the same batches SID's per-sample
    # selections move ĝ by ~26% here (measured); 10% leaves room for other seeds' noise
    g_nsid, g_sid = ni.nsid(F, w, u, 300, rng=3).value, ni.sid(F, w, u, 300, rng=3).value
    assert np.linalg.norm(g_sid - g_nsid) > 0.1 * np.linalg.norm(g_nsid)


# The generic loop's early-stop guard `tol > 0 and step <= tol` -> `tol >= 0`: without a tol (or
# with tol = 0, which `strict=True` would refuse) it must run all K steps even when the step is
# exactly 0. λ1 = 10³ empties every selection (|T(w)| ≪ γλ1), so R = ∅, every step (measured
# on R) is 0 and ĝ = 0 exactly. Also nsid's StepSizeWarning `stacklevel=4` -> 5 (location),
# the record's label (`"XXnsidXX"`, `"XXsidXX"`), the default `history=False` -> True, and the
# residual at u = 0 (`u_norm >= 0`: 0/0).

def test_nsid_runs_all_K_steps_without_tol_on_an_empty_selection():
    import ns_implicit as ni
    F, w, u = _nsid_instance(1e3)
    for method in (ni.nsid, ni.sid):
        for compiled in (True, False):
            for tol in (None, 0.0):
                r = method(F, w, u, 5, rng=0, compiled=compiled, tol=tol)
                assert (r.iterations, r.converged, r.support_size) == (5, True, 0)
                assert r.method == method.__name__ and r.history is None   # not asked for
                np.testing.assert_array_equal(r.value, 0.0)
        r = method(F, w, np.zeros(F.dim), 3, rng=0)        # u = 0: the absolute step, 0
        assert (r.iterations, r.residual, r.converged) == (3, 0.0, True)
    from ns_implicit.methods.nsid import StepSizeWarning
    with pytest.warns(StepSizeWarning) as record:
        ni.nsid(F, w, u, 2, rng=0, beta_mult=0.25)
    assert [r.filename for r in record] == [__file__]


# _check_bounded (Lemma D.3(a): ‖v_∞‖ <= ‖u‖/(1 - q); warn past twice that): the bound
# `‖u‖/(1 - q)` -> `‖u‖(1 - q)`, `/(2 - q)`, `/(1 + q)`; the test `norm > 2·bound` -> `>=`,
# `3·bound`, `2/bound`. With ‖u‖ = 1 and q = ½ the bound is 2: ‖v[R]‖ = 3 and 4 (the boundary)
# are quiet, 4 + 2⁻⁴⁰ warns; a NaN in R raises, one outside R does not.

class _Bounded:
    batch_size, q = 5, 0.5


def test_nsid_divergence_check_by_hand():
    from ns_implicit.errors import NotContractiveError
    from ns_implicit.methods.nsid import DivergenceWarning, _check_bounded
    rows = np.array([1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for quiet in (3.0, 4.0):
            _check_bounded(np.array([np.nan, quiet]), rows, 1.0, _Bounded())
    with pytest.warns(DivergenceWarning, match="Lemma D.3"):
        _check_bounded(np.array([0.0, 4.0 + 2.0 ** -40]), rows, 1.0, _Bounded())
    with pytest.raises(NotContractiveError, match="non-finite"):
        _check_bounded(np.array([0.0, np.inf]), rows, 1.0, _Bounded())


# The generic loop's early stop `step <= tol` -> `<` (equality), and the DivergenceWarning's
# `stacklevel=4` -> 5 (it must point at the caller of nsid). ‖u‖ = ½: tol·‖u‖ is exact, so a run
# given tol = its own residual after k steps (a new minimum of the step; the runs share their
# batches and step sizes, so the first k steps are the same) stops at exactly k.

def test_nsid_stops_when_the_step_equals_the_tolerance():
    import ns_implicit as ni
    F, w, _ = _nsid_instance(0.05)
    u = np.zeros(F.dim)
    u[0] = 0.5
    steps = [ni.nsid(F, w, u, k, J=10, rng=5, compiled=False).residual for k in range(1, 13)]
    k = 1 + max(i for i in range(12) if steps[i] < min(steps[:i], default=np.inf))
    assert k > 2
    # the generic loop (the compiled one sums in another order: its k-th step differs by round-off)
    r = ni.nsid(F, w, u, 1000, J=10, rng=5, tol=steps[k - 1], compiled=False)
    assert (r.iterations, r.residual, r.converged) == (k, steps[k - 1], True)


def test_nsid_divergence_warning_points_at_the_caller():
    import ns_implicit as ni
    from ns_implicit.methods.nsid import DivergenceWarning
    d = ni.make_sparse_regression(n_samples=500, n_features=100, seed=3)
    F = ni.StochasticElasticNetMap(d.X, d.y, 1).at([0.02, 0.002])   # expanding minibatch maps
    w = np.zeros(F.dim)
    u = np.ones(F.dim)
    with pytest.warns(DivergenceWarning) as record:
        ni.nsid(F, w, u, 30, rng=0, steps="const", beta=1.0, gamma=1.0)
    assert [r.filename for r in record if r.category is DivergenceWarning] == [__file__]
