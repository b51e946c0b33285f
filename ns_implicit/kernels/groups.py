"""Compiled block soft-thresholding, docs/theory.md §15.4(d).

Groups are a partition of the coordinates stored as ``order`` (the coordinates listed group
by group) and ``ptr`` (group ``g`` is ``order[ptr[g]:ptr[g + 1]]``). :func:`group_active` is
THE tie rule of block soft-thresholding: every kernel here decides through it.
"""

import numpy as np

from ns_implicit._jit import njit
from ns_implicit.kernels.step_account import step_account


@njit
def group_active(r, tau, tie_active):
    """The tie rule: is a group with ``‖u_g‖ = r`` and threshold ``τ`` active?

    ``r > τ`` (``r >= τ`` with ``tie_active``); a group with ``τ = 0`` is always active (the
    operator is the identity on it, whatever ``u_g``)."""
    return r > tau or tau == 0.0 or (tie_active and r == tau)


@njit
def group_norm(u, order, start, stop):
    """``‖u_g‖₂`` for the group ``order[start:stop]``, scaled so that neither the squares
    underflow nor overflow."""
    peak = 0.0
    for k in range(start, stop):
        a = abs(float(u[order[k]]))
        if a > peak:
            peak = a
    if peak == 0.0 or not np.isfinite(peak):
        return peak
    acc = 0.0
    for k in range(start, stop):
        x = float(u[order[k]]) / peak
        acc += x * x
    return peak * np.sqrt(acc)


@njit
def block_soft_threshold_step(u, order, ptr, tau, w, out):
    """``out_g = max(1 - τ_g/‖u_g‖, 0) u_g`` per group (``out`` may be ``u``); returns
    ``(‖out - w‖₂, support_changed)``."""
    acc, changed = 0.0, False
    for g in range(ptr.shape[0] - 1):
        r = group_norm(u, order, ptr[g], ptr[g + 1])
        scale = 1.0 - float(tau[g]) / r if group_active(r, tau[g], False) and r > 0.0 else 0.0
        if tau[g] == 0.0:
            scale = 1.0
        for k in range(ptr[g], ptr[g + 1]):
            i = order[k]
            new = float(u[i]) * scale
            acc, changed = step_account(new, w[i], acc, changed)
            out[i] = new
    return np.sqrt(acc), changed


@njit
def block_soft_threshold_selection(u, order, ptr, tau, tie_active, active, scale, direction):
    """One selection at ``u`` by the tie rule: per group ``active[g] ∈ {0, 1}`` and
    ``scale[g] = 1 - τ_g/‖u_g‖`` (0 when inactive); ``direction = u_g/‖u_g‖`` on active groups
    (0 elsewhere, and on a group with ``u_g = 0``). Returns the number of exact ties
    ``‖u_g‖ = τ_g > 0``."""
    ties = 0
    for g in range(ptr.shape[0] - 1):
        r = group_norm(u, order, ptr[g], ptr[g + 1])
        on = group_active(r, tau[g], tie_active)
        if r == tau[g] and tau[g] > 0.0:
            ties += 1
        active[g] = 1.0 if on else 0.0
        if not on:
            scale[g] = 0.0
        elif tau[g] == 0.0:
            scale[g] = 1.0
        else:
            scale[g] = 1.0 - float(tau[g]) / r
        for k in range(ptr[g], ptr[g + 1]):
            i = order[k]
            direction[i] = float(u[i]) / r if (on and r > 0.0) else 0.0
    return ties


@njit
def block_matvec(x, order, ptr, active, scale, direction, root, out):
    """``out = A_G x`` (``root=False``) or ``A_G^{1/2} x`` (``root=True``, the symmetric
    reformulation of docs/theory.md §15.3): on an active group ``c x_g + (1 - c) d_g (d_gᵀ x_g)``
    with ``c = scale[g]`` (eq. (26)), resp. ``√scale[g]``; zero on inactive groups. Both are
    symmetric: this is also the transpose's product."""
    for g in range(ptr.shape[0] - 1):
        c = np.sqrt(scale[g]) if root else scale[g]
        dot = 0.0
        for k in range(ptr[g], ptr[g + 1]):
            i = order[k]
            dot += float(direction[i]) * float(x[i])
        for k in range(ptr[g], ptr[g + 1]):
            i = order[k]
            out[i] = active[g] * (c * float(x[i]) + (1.0 - c) * dot * float(direction[i]))


@njit
def group_dots(v, order, ptr, direction, out):
    """``out[g] = d_gᵀ v_g`` (the per-group factor of ``∂G/∂τ_g = -d_g``)."""
    for g in range(ptr.shape[0] - 1):
        dot = 0.0
        for k in range(ptr[g], ptr[g + 1]):
            i = order[k]
            dot += float(direction[i]) * float(v[i])
        out[g] = dot
