"""Soft-thresholding and its selection (docs/theory.md §11.1) against finite differences and the
enumerated selections at ties."""

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from ns_implicit.operators.soft_threshold import soft_threshold_with_selection, tie_masks
from ns_implicit.errors import SelectionCapError
import pytest

finite = st.floats(-10, 10, allow_nan=False, width=64)


@settings(max_examples=60, deadline=None)
@given(u=arrays(np.float64, st.integers(1, 12), elements=finite),
       tau=st.floats(0, 5), direction_seed=st.integers(0, 2**31))
def test_selection_matches_finite_differences_away_from_ties(u, tau, direction_seed):
    margin = np.min(np.abs(np.abs(u) - tau))
    if margin < 1e-3:
        u = u + 2e-3 * np.where(np.abs(u) >= tau, np.sign(u) + (u == 0), -np.sign(u))
        margin = np.min(np.abs(np.abs(u) - tau))
    if margin < 1e-4:
        return
    rng = np.random.default_rng(direction_seed)
    d = rng.standard_normal(u.shape)
    d /= np.linalg.norm(d)
    h = 0.25 * margin  # stays inside one linear piece of every coordinate
    val, mask, sign, ties = soft_threshold_with_selection(u, tau)
    assert ties == 0
    plus, *_ = soft_threshold_with_selection(u + h * d, tau)
    minus, *_ = soft_threshold_with_selection(u - h * d, tau)
    # S is affine on the piece, so the central difference is exact up to round-off
    # (|u| <= 12, h >= 2.5e-5: error <= ~1e-15 * 12 / 2.5e-5 ≈ 1e-9).
    np.testing.assert_allclose((plus - minus) / (2 * h), mask * d, atol=1e-9)
    dt = 0.25 * margin
    tp, *_ = soft_threshold_with_selection(u, tau + dt)
    tm, *_ = soft_threshold_with_selection(u, max(tau - dt, 0.0))
    if tau - dt >= 0:
        np.testing.assert_allclose((tp - tm) / (2 * dt), -sign * mask, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(base=arrays(np.float64, st.integers(1, 8), elements=finite),
       tau=st.floats(0.1, 5), tie_pattern=st.lists(st.integers(-1, 1), min_size=8, max_size=8),
       tie_active=st.booleans())
def test_selection_at_ties_is_an_enumerated_vertex(base, tau, tie_pattern, tie_active):
    u = base.copy()
    for i in range(len(u)):
        if tie_pattern[i] != 0:
            u[i] = tie_pattern[i] * tau  # exact ties ±τ
    _, mask, _, ties = soft_threshold_with_selection(u, tau, tie_active)
    assert ties == np.count_nonzero(np.abs(u) == tau)
    masks = tie_masks(u, tau)
    assert len(masks) == 2 ** ties
    assert any(np.array_equal(mask, m) for m in masks)
    tied = np.abs(u) == tau
    assert np.all(mask[tied] == (1 if tie_active else 0))


def test_tie_enumeration_is_capped():
    u = np.ones(20)
    with pytest.raises(SelectionCapError, match="cap"):
        tie_masks(u, 1.0, cap=1000)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    u = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=dtype)
    val, mask, sign, _ = soft_threshold_with_selection(u, 1.0)
    assert val.dtype == dtype and sign.dtype == dtype
    np.testing.assert_array_equal(val, np.array([-1, 0, 0, 0, 1], dtype=dtype))
    np.testing.assert_array_equal(mask, [1, 0, 0, 0, 1])
