"""Compiled projections onto the simplex and the ℓ1 ball, docs/theory.md §15.4(e).

Two tie rules live here, each in one function: :func:`simplex_active` (an entry above the
threshold ``θ`` is in the support: ``x > θ``, or ``>=`` with ``tie_active``) and
:func:`l1_ball_inside` (the ball's interior branch: ``‖u‖₁ < r``, or ``<=`` with
``tie_active``).
"""

import numpy as np

from ns_implicit._jit import njit
from ns_implicit.kernels.step_account import step_account


@njit
def simplex_active(x, theta, tie_active):
    """The tie rule of the projection: is an entry ``x`` (``u_i``, or ``|u_i|`` for the ball)
    in the support at threshold ``θ``?"""
    return x > theta or (tie_active and x == theta)


@njit
def l1_ball_inside(s, r, tie_active):
    """The tie rule of the ℓ1 ball: with ``s = ‖u‖₁``, is ``u`` on the interior branch
    (``G = identity``)? At ``s = r`` the reference rule takes the boundary branch."""
    return s < r or (tie_active and s == r)


@njit
def simplex_threshold(a, r):
    """``θ`` with ``Σ max(a_i - θ, 0) = r`` (``r > 0``): sort ``a`` decreasingly as ``z``,
    ``ρ = max{k : z_k - (Σ_{j<=k} z_j - r)/k > 0}``, ``θ = (Σ_{j<=ρ} z_j - r)/ρ``."""
    z = np.sort(a.astype(np.float64))[::-1]
    csum, theta = 0.0, 0.0
    for k in range(z.shape[0]):
        csum += z[k]
        t = (csum - r) / (k + 1)
        if z[k] - t > 0.0:
            theta = t
        else:
            break
    return theta


@njit
def l1_norm(u):
    acc = 0.0
    for i in range(u.shape[0]):
        acc += abs(float(u[i]))
    return acc


@njit
def simplex_step(u, r, w, out):
    """``out = max(u - θ, 0)``, the projection onto ``{x >= 0, Σx = r}`` (``out`` may be
    ``u``); returns ``(‖out - w‖₂, support_changed)``."""
    theta = simplex_threshold(u, r)
    acc, changed = 0.0, False
    for i in range(u.shape[0]):
        x = float(u[i]) - theta
        new = x if x > 0.0 else 0.0
        acc, changed = step_account(new, w[i], acc, changed)
        out[i] = new
    return np.sqrt(acc), changed


@njit
def l1_ball_step(u, r, w, out):
    """``out`` = the projection of ``u`` onto ``{‖x‖₁ <= r}`` (``out`` may be ``u``): ``u``
    itself inside, ``sign(u) max(|u| - θ, 0)`` outside; returns ``(‖out - w‖₂, changed)``."""
    theta = 0.0 if l1_norm(u) <= r else simplex_threshold(np.abs(u), r)  # same value at = r
    acc, changed = 0.0, False
    for i in range(u.shape[0]):
        a = abs(float(u[i])) - theta
        new = 0.0 * u[i]
        if a > 0.0:
            new = a if u[i] > 0 else -a
        acc, changed = step_account(new, w[i], acc, changed)
        out[i] = new
    return np.sqrt(acc), changed


@njit
def projection_support(a, theta, tie_active, support):
    """``support_i = 1`` when ``a_i`` is in the support at ``θ`` (the rule above); returns the
    number of exact ties ``a_i == θ``."""
    ties = 0
    for i in range(a.shape[0]):
        support[i] = 1.0 if simplex_active(a[i], theta, tie_active) else 0.0
        if a[i] == theta:
            ties += 1
    return ties
