"""Tests that kill the non-equivalent survivors of the fourth mutmut 2 campaign over the
mathematical core (validation/mutation/REPORT.md, part 4: mutation IDs and diffs there).

The instances are tiny and exact in binary floating point (integer data, dyadic thresholds and
steps), so values, counts and flags are asserted as equalities.
"""

import numpy as np

from ns_implicit.operators import WeightedSoftThreshold


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
