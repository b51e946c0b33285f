"""AID-FP: approximate implicit differentiation by fixed-point iterations, docs/theory.md §7 eq. (14).

Reverse mode: with one selection ``(A, B) ∈ D_Φ(w, λ)`` frozen at ``w``,

    v_0 = 0,   v_i = Aᵀ v_{i-1} + u   (i = 1..k),   ĝ = Bᵀ v_k,

so ``ĝ → Bᵀ(I - Aᵀ)⁻¹u`` at rate ``q`` (``q_S`` on the active block, §8 item 4).
Stops early when ``‖v_i - v_{i-1}‖ <= tol ‖u‖`` (that step is the residual of the linear
system at ``v_{i-1}``), or when the step stops decreasing at round-off level (see
:func:`aid_fp`). ``v0`` warm-starts the iteration (e.g. with ``result.v`` of a previous
call at a nearby point, as in an outer optimisation loop); the limit does not depend on it.
The iteration runs on ``u`` rescaled by a power of two (``max|u| ~ 1``), so data at scales
``1e-160`` or ``1e160`` neither underflow to a "converged" zero nor overflow.
"""

from math import isfinite

import numpy as np

from ns_implicit.methods._common import (check_method_args, check_warm_start, norm, unit_scale,
                                         unscale)
from ns_implicit.methods.result import MethodResult


def aid_fp(phi, w, u, *, iters=1000, tol=None, history=False, v0=None):
    """``Bᵀ v_k`` with ``v_i = Aᵀ v_{i-1} + u`` (docs/theory.md §7 eq. (14), reverse mode).

    ``v_0 = v0`` (default 0); the returned record carries ``v = v_k`` as ``result.v``.
    ``converged`` is ``residual <= tol`` with the overflow-safe relative residual
    ``‖v_k - v_{k-1}‖/‖u‖``.
    """
    w, u, iters, tol = check_method_args(phi, w, u, iters, tol, "aid_fp")
    sel = phi.selection(w)
    u, e = unit_scale(u)
    u_norm = norm(u)
    v = check_warm_start(v0 if u_norm > 0 else None, phi, e)  # u = 0 has the solution v = 0
    hist = [] if history else None
    residual, i = (1.0 if u_norm > 0 else 0.0), 0
    while i < iters and residual > tol:
        v_next = sel.AT(v) + u
        # u is unit-scaled, so the plain 2-norm neither overflows nor underflows here
        residual = float(np.linalg.norm(v_next - v)) / u_norm  # u_norm > 0 inside the loop
        v = v_next
        i += 1
        if hist is not None:
            hist.append(unscale(sel.BT(v), e))
        if not isfinite(residual):
            break  # reported by MethodResult as NonFiniteError
    result = MethodResult(unscale(sel.BT(v), e), "aid-fp", i, residual, residual <= tol, hist)
    result.v = unscale(v, e)
    return result


def aid_fp_forward(phi, w, *, iters=1000, tol=None):
    """Forward mode: ``J^(i) = A J^(i-1) + B``, ``J^(0) = 0``; returns the ``p × m`` Jacobian."""
    w, _, iters, tol = check_method_args(phi, w, np.zeros(getattr(phi, "dim", 0)), iters, tol,
                                         "aid_fp_forward")
    sel = phi.selection(w)
    eye = np.eye(phi.n_hyper, dtype=phi.dtype)
    Bmat = np.column_stack([sel.B(e) for e in eye])
    J = np.zeros_like(Bmat)
    B_norm = norm(Bmat)
    residual, i = (1.0 if B_norm > 0 else 0.0), 0
    while i < iters and residual > tol:
        J_next = np.column_stack([sel.A(J[:, j]) for j in range(J.shape[1])]) + Bmat
        residual = norm(J_next - J) / B_norm  # B_norm > 0 inside the loop
        J = J_next
        i += 1
        if not np.isfinite(residual):
            break
    return MethodResult(J, "aid-fp-forward", i, residual, residual <= tol)
