"""Soft-thresholding and its selection, THEORY.md §11.1.

``S_τ(u)_i = sign(u_i) max(|u_i| - τ, 0)``. The selection at ``u`` is the active mask
``m_i = 1[|u_i| > τ]`` (strict: a tie ``|u_i| = τ`` is inactive) or, with
``tie_active=True``, ``m_i = 1[|u_i| >= τ]`` (the other vertex of the conservative
set at a tie). ``∂S/∂u = diag(m)`` and ``∂S/∂τ = -sign(u) ⊙ m``.
"""

import numpy as np

from ns_implicit._jit import njit


@njit
def soft_threshold_selection(u, tau, tie_active, out, mask, sign):
    """Write ``S_τ(u)`` into ``out``, the active mask into ``mask`` (uint8) and
    ``sign(u)`` into ``sign``; return the number of ties ``|u_i| == τ``."""
    ties = 0
    for i in range(u.shape[0]):
        ui = u[i]
        a = abs(ui)
        if ui > 0:
            s = 1.0
        elif ui < 0:
            s = -1.0
        else:
            s = 0.0
        sign[i] = s
        if a > tau:
            out[i] = s * (a - tau)
            mask[i] = 1
        else:
            out[i] = 0.0
            mask[i] = 1 if (tie_active and a == tau) else 0
            if a == tau:
                ties += 1
    return ties


def soft_threshold(u, tau):
    """``S_τ(u)`` as a new array (convenience wrapper of the kernel)."""
    u = np.ascontiguousarray(u)
    out = np.empty_like(u)
    soft_threshold_selection(u, u.dtype.type(tau), False, out,
                             np.empty(u.shape[0], np.uint8), np.empty_like(u))
    return out
