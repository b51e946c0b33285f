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
