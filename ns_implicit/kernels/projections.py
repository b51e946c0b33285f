"""Compiled nonnegative thresholding and box projection, docs/theory.md §15.4(b)–(c).

Each operator's tie rule is one function here: :func:`nonnegative_active` (``u_i > τ``, or
``>=`` with ``tie_active``) and :func:`box_free` (``0 < u_i < C``, or ``<=`` at both ends with
``tie_active``).
"""

import numpy as np

from ns_implicit._jit import njit
from ns_implicit.kernels.step_account import step_account


@njit
def nonnegative_active(x, tau, tie_active):
    """The tie rule of ``max(u - τ, 0)``: is a coordinate with ``u_i = x`` active?"""
    return x > tau or (tie_active and x == tau)


@njit
def nonnegative_masks(u, tau, tie_active, mask):
    """``mask = 1[u_i > τ]`` (the rule above); returns the number of ties ``u_i == τ``."""
    ties = 0
    for i in range(u.shape[0]):
        mask[i] = 1.0 if nonnegative_active(u[i], tau, tie_active) else 0.0
        if u[i] == tau:
            ties += 1
    return ties


@njit
def nonnegative_step(u, tau, w, out):
    """``out = max(u - τ, 0)`` (``out`` may be ``u``); returns ``(‖out - w‖₂, support_changed)``."""
    acc, changed = 0.0, False
    for i in range(u.shape[0]):
        new = u[i] - tau if u[i] > tau else 0.0 * u[i]
        acc, changed = step_account(new, w[i], acc, changed)
        out[i] = new
    return np.sqrt(acc), changed


@njit
def box_free(x, C, tie_active):
    """The tie rule of the projection onto ``[0, C]``: is ``u_i = x`` free (strictly inside)?"""
    if tie_active:
        return 0.0 <= x <= C
    return 0.0 < x < C


@njit
def box_masks(u, C, tie_active, free, upper):
    """``free = 1[0 < u_i < C]`` (the rule above), ``upper = 1`` where the projection sits at ``C``
    and is not free; returns the number of ties ``u_i ∈ {0, C}``."""
    ties = 0
    for i in range(u.shape[0]):
        f = box_free(u[i], C, tie_active)
        free[i] = 1.0 if f else 0.0
        upper[i] = 1.0 if (not f and u[i] >= C) else 0.0
        if u[i] == 0.0 or u[i] == C:
            ties += 1
    return ties


@njit
def box_step(u, C, w, out):
    """``out = min(max(u, 0), C)`` (``out`` may be ``u``); returns ``(‖out - w‖₂, support_changed)``."""
    acc, changed = 0.0, False
    for i in range(u.shape[0]):
        x = u[i]
        new = C if x > C else (x if x > 0 else 0.0 * x)
        acc, changed = step_account(new, w[i], acc, changed)
        out[i] = new
    return np.sqrt(acc), changed
