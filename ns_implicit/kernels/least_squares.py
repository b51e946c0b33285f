"""Kernels of the least-squares gradient step, THEORY.md §11.2.

``u = w - γ (∇f(w) + λ2 w)`` with ``∇f(w) = H w - b`` (Gram form, ``H = XᵀX/n``,
``b = Xᵀy/n``) and its transpose product ``v - γ (H v + λ2 v)``.
"""

import numpy as np

from .._jit import njit


@njit
def gradient_step(w, grad, lam2, gamma, out):
    """``out = w - γ (grad + λ2 w)`` where ``grad = ∇f(w)``."""
    for i in range(w.shape[0]):
        out[i] = w[i] - gamma * (grad[i] + lam2 * w[i])


@njit
def gram_gradient(H, b, w):
    """``∇f(w) = H w - b``."""
    return np.dot(H, w) - b


@njit
def diff_norm(a, b):
    """``‖a - b‖₂`` accumulated in float64."""
    acc = 0.0
    for i in range(a.shape[0]):
        d = float(a[i]) - float(b[i])
        acc += d * d
    return np.sqrt(acc)


@njit
def support_equal(a, b):
    """True when ``a`` and ``b`` have the same nonzero pattern."""
    for i in range(a.shape[0]):
        if (a[i] != 0) != (b[i] != 0):
            return False
    return True


@njit
def prox_gradient_step(w, grad, lam2, gamma, tau, out):
    """One ISTA step ``out = S_τ(w - γ(grad + λ2 w))`` (THEORY §11.2).

    Returns ``(‖out - w‖₂, support_changed)`` so that a solver needs one call per
    iteration.
    """
    acc = 0.0
    changed = False
    for i in range(w.shape[0]):
        ui = w[i] - gamma * (grad[i] + lam2 * w[i])
        if ui > tau:
            new = ui - tau
        elif ui < -tau:
            new = ui + tau
        else:
            new = 0.0 * ui
        if (new != 0) != (w[i] != 0):
            changed = True
        d = float(new) - float(w[i])
        acc += d * d
        out[i] = new
    return np.sqrt(acc), changed
