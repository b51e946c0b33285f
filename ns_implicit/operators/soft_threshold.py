"""The outer map ``G`` = soft-thresholding, and its selections (THEORY.md §4, §11.1).

The reference tie rule is strict: coordinate ``i`` is active when ``|u_i| > τ``.
``tie_active=True`` picks the other vertex (``|u_i| >= τ``). At ties every 0/1 choice of
the tied coordinates is a selection; :func:`tie_masks` enumerates them (the vertices of
the conservative set of THEORY §11.1).
"""

import itertools

import numpy as np

from ns_implicit.errors import SelectionCapError
from ns_implicit.kernels.soft_threshold import soft_threshold_selection

#: Default cap on the number of enumerated selections (2**ties).
MAX_SELECTIONS = 4096


def soft_threshold_with_selection(u, tau, tie_active=False):
    """Return ``(S_τ(u), mask, sign, n_ties)``; ``mask`` is uint8 (1 = active)."""
    u = np.ascontiguousarray(u)
    out = np.empty_like(u)
    mask = np.empty(u.shape[0], dtype=np.uint8)
    sign = np.empty_like(u)
    ties = soft_threshold_selection(u, u.dtype.type(tau), bool(tie_active), out, mask, sign)
    return out, mask, sign, ties


def tie_masks(u, tau, cap=MAX_SELECTIONS):
    """All selection masks of ``S_τ`` at ``u``: every 0/1 assignment of the tied coordinates.

    Raises :class:`SelectionCapError` when ``2**ties > cap``.
    """
    u = np.asarray(u)
    ties = np.flatnonzero(np.abs(u) == tau)
    if 2 ** len(ties) > cap:
        raise SelectionCapError(
            f"{len(ties)} coordinates of u are exactly at the threshold, giving "
            f"2**{len(ties)} selections, more than cap={cap}; raise cap or perturb lam.")
    base = (np.abs(u) > tau).astype(np.uint8)
    masks = []
    for bits in itertools.product((0, 1), repeat=len(ties)):
        m = base.copy()
        m[ties] = bits
        masks.append(m)
    return masks
