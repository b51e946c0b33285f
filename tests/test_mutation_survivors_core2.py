"""Tests that kill the non-equivalent survivors of the third mutmut 2 campaign over the
mathematical core (validation/mutation/REPORT.md, part 3: mutation IDs and diffs there).

The instances are tiny and exact in binary floating point (integer data, dyadic thresholds and
steps), so values, counts and flags are asserted as equalities. Kernels are called both
compiled (in float32 and float64) and as their Python source (``py_func``), against
expectations written with numpy or by hand, never with the kernel under test.
"""

import numpy as np
import pytest

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
