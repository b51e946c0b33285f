"""Compiled soft-thresholding, docs/theory.md §11.1 and §15.4(a).

``S_τ(u)_i = sign(u_i) max(|u_i| - τ, 0)``. :func:`soft_threshold_active` is **the** tie
rule of soft-thresholding — the only place in the library that decides whether a coordinate
is active: ``|u_i| > τ`` (strict: a tie ``|u_i| = τ`` is inactive) or, with
``tie_active=True``, ``|u_i| >= τ`` (the other vertex of the conservative set at a tie).
Every kernel and every Python path that needs the selection calls it (directly or through
:func:`soft_threshold_selection`).
"""

import numpy as np

from ns_implicit._jit import njit
from ns_implicit.kernels.step_account import step_account


@njit
def soft_threshold_active(a, tau, tie_active):
    """The tie rule: is a coordinate with ``|u_i| = a`` active at threshold ``τ``?"""
    return a > tau or (tie_active and a == tau)


@njit
def soft_threshold_value(ui, tau):
    """``S_τ`` of one coordinate."""
    if ui > tau:
        return ui - tau
    if ui < -tau:
        return ui + tau
    return 0.0 * ui


@njit
def soft_threshold_entry(ui, tau, tie_active):
    """``(m_i, m_i sign(u_i), tie?)`` of one coordinate, by the tie rule."""
    a = abs(ui)
    m = 1.0 if soft_threshold_active(a, tau, tie_active) else 0.0
    return m, (m if ui > 0 else (-m if ui < 0 else 0.0)), a == tau


@njit
def soft_threshold_selection(u, tau, tie_active, out, mask, sign):
    """Write ``S_τ(u)`` into ``out``, the active mask into ``mask`` (uint8) and
    ``sign(u)`` into ``sign``; return the number of ties ``|u_i| == τ``."""
    ties = 0
    for i in range(u.shape[0]):
        ui = u[i]
        m, _, tie = soft_threshold_entry(ui, tau, tie_active)
        sign[i] = 1.0 if ui > 0 else (-1.0 if ui < 0 else 0.0)
        out[i] = soft_threshold_value(ui, tau)
        mask[i] = 1 if m else 0
        ties += tie
    return ties


@njit
def soft_threshold_masks(u, tau, tie_active, mask, signed):
    """The selection at ``u`` as float arrays: ``mask = m`` and ``signed = m ⊙ sign(u)``;
    returns the number of ties ``|u_i| == τ``."""
    ties = 0
    for i in range(u.shape[0]):
        mask[i], signed[i], tie = soft_threshold_entry(u[i], tau, tie_active)
        ties += tie
    return ties


@njit
def soft_threshold_step(u, tau, w, out):
    """``out = S_τ(u)`` (``out`` may be ``u``); returns ``(‖out - w‖₂, support_changed)``,
    what a fixed-point solver needs from one step ``w ↦ S_τ(u(w))``."""
    acc, changed = 0.0, False
    for i in range(u.shape[0]):
        new = soft_threshold_value(u[i], tau)
        acc, changed = step_account(new, w[i], acc, changed)
        out[i] = new
    return np.sqrt(acc), changed


def soft_threshold(u, tau):
    """``S_τ(u)`` as a new array (convenience wrapper of the kernel)."""
    u = np.ascontiguousarray(u)
    out = np.empty_like(u)
    soft_threshold_selection(u, u.dtype.type(tau), False, out,
                             np.empty(u.shape[0], np.uint8), np.empty_like(u))
    return out


@njit
def weighted_soft_threshold_masks(u, tau, tie_active, mask, signed):
    """:func:`soft_threshold_masks` with one threshold per coordinate, ``τ_i``."""
    ties = 0
    for i in range(u.shape[0]):
        mask[i], signed[i], tie = soft_threshold_entry(u[i], tau[i], tie_active)
        ties += tie
    return ties


@njit
def weighted_soft_threshold_step(u, tau, w, out):
    """:func:`soft_threshold_step` with one threshold per coordinate, ``τ_i``."""
    acc, changed = 0.0, False
    for i in range(u.shape[0]):
        new = soft_threshold_value(u[i], tau[i])
        acc, changed = step_account(new, w[i], acc, changed)
        out[i] = new
    return np.sqrt(acc), changed
