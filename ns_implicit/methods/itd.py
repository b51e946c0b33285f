"""ITD: iterative differentiation through the solver, docs/theory.md §7 eq. (13).

Forward mode: ``J_0 = 0``, ``J_t = A_{t-1} J_{t-1} + B_{t-1}`` with
``(A_s, B_s) ∈ D_Φ(w_s, λ)``. Reverse mode (the experiments' mode) walks the stored
trajectory backwards:

    α = u, g = 0;  for s = t-1 … 0:  g += B_sᵀ α,  α = A_sᵀ α;   return g  (= J_tᵀ u).

What ``converged`` certifies
----------------------------
A small inner step ``‖w_t - w_{t-1}‖`` certifies ``w_t``, not ``J_t``: ITD's error also
carries the unrolled tail (docs/theory.md §8, Theorem 4.1, the term ``L_Φ q^t/(1 - q)``).
Reverse ITD returns ``Bᵀ v_t`` with ``v_t = Σ_s (A_{t-1}ᵀ⋯A_{s+1}ᵀ) u`` weighted by the ``B_s``;
while the selection is constant (after support identification) ``v_t`` is the AID-FP iterate
``Σ_{i<t} (Aᵀ)^i u`` of §7 eq. (14), ``v* - v_t = (I - Aᵀ)⁻¹ (Aᵀ)^t u`` and the final ``α``
is ``(Aᵀ)^t u``. With ``‖A‖ <= q`` this gives

    ‖v_t - v*‖ / ‖v*‖ <= (‖α‖/‖u‖) (1 + q)/(1 - q)          (‖v*‖ >= ‖u‖/(1 + q)),

the ``error_bound`` of the result; ``converged`` means ``error_bound <= tol``: the adjoint
vector is accurate to ``tol`` (relative), assuming the selection did not change over the
unrolled tail (``support_identified_at`` before the tail). Forward ITD certifies likewise with
the last Jacobian increment: ``‖J_t - J*‖ <= q/(1 - q) ‖J_t - J_{t-1}‖``.

A map that is only nonexpansive (``q = 1``: the lasso with ``p > n``, docs/theory.md §15.6)
certifies with ``q_S = ‖A[R, R]‖₂`` of the last iterate's selection instead, the contraction
on the identified support; ``q_S >= 1`` (a singular restricted system) certifies nothing.
"""

from math import isfinite

import numpy as np

from ns_implicit._validation import (as_float_array, check_map_at, check_positive_int,
                                     default_tol)
from ns_implicit.methods._common import norm, unit_scale, unscale
from ns_implicit.methods.result import MethodResult
from ns_implicit.solvers.fixed_point import Trajectory


def certified_q(phi, w):
    """The contraction factor the certificate uses: ``q`` when ``q < 1``, else ``q_S`` of the
    selection at ``w`` (module docstring)."""
    q = float(phi.q)
    return q if q < 1.0 else phi.selection(w).active_block_norm()


def tail_factor(q):
    """``(1 + q)/(1 - q)``: unrolled tail → relative adjoint error (module docstring); ``inf``
    when ``q >= 1``."""
    return (1.0 + q) / (1.0 - q) if q < 1.0 else np.inf


def itd(phi, trajectory, u, *, tol=None):
    """Reverse-mode ITD: ``J_tᵀ u`` through the stored iterates ``w_0, …, w_t``.

    Each stored iterate is validated (length ``dim``, dtype, finite). ``residual`` is the
    relative unrolled tail ``‖A_0ᵀ⋯A_{t-1}ᵀ u‖/‖u‖``, ``result.error_bound`` the certified
    relative error of the adjoint and ``converged`` means ``error_bound <= tol`` (module
    docstring: what this certifies).
    """
    check_map_at(phi, "itd")
    u = as_float_array(u, "u", ndim=1, dtype=phi.dtype)
    if u.shape[0] != phi.dim:
        raise ValueError(f"u must have length {phi.dim}; got {u.shape[0]}.")
    tol = default_tol(tol, phi.dtype)  # None: 1e-10 in float64, 1e-6 in float32
    if trajectory is None or len(trajectory) == 0:
        raise ValueError("trajectory is empty: solve with store_trajectory=True first.")
    t = len(trajectory) - 1
    # a solver's Trajectory holds finite iterates of the right length and dtype by construction
    trusted = (isinstance(trajectory, Trajectory) and trajectory.dim == phi.dim
               and trajectory.dtype == phi.dtype)
    u, e = unit_scale(u)
    u_norm = norm(u)
    alpha = u.copy()
    g = np.zeros(phi.n_hyper, dtype=phi.dtype)
    for s in range(t - 1, -1, -1):
        w_s = trajectory[s]
        if not trusted:
            w_s = phi.check_point(w_s, f"trajectory[{s}]")
        alpha, g_s = phi.vjp(w_s, alpha)  # (A_sᵀ α, B_sᵀ α)
        g += g_s
    residual = norm(alpha) / u_norm if u_norm > 0 else 0.0
    q = float(phi.q)
    if residual > 0 and not q < 1.0:  # the tail decays at the last selection's q_S
        q = certified_q(phi, phi.check_point(trajectory[max(t - 1, 0)], "trajectory[-2]"))
    bound = residual * tail_factor(q) if residual > 0 else 0.0
    result = MethodResult(unscale(g, e), "itd", t, residual, bound <= tol)
    result.error_bound = bound
    return result


def itd_forward(phi, w0=None, *, iters=1000, tol=None, on_step=None):
    """Forward-mode ITD: ``t`` steps of ``(w_{s+1}, J_{s+1}) = (Φ(w_s), A_s J_s + B_s)``.

    Stops after ``iters`` steps or when ``‖w_{s+1} - w_s‖ <= tol ‖w_{s+1}‖`` (``tol=0``: exactly
    ``iters`` steps, since ``J_t`` keeps converging after ``w_t`` has stopped moving). Returns the
    ``p × m`` Jacobian ``J_t`` as ``value``, with ``result.w = w_t`` and
    ``result.support_identified_at`` as in :class:`~ns_implicit.solvers.fixed_point.SolveResult`.
    ``residual`` is the relative inner step; ``result.jacobian_step`` the last relative
    increment ``‖J_t - J_{t-1}‖/‖J_t‖`` and ``result.error_bound = q/(1 - q)·jacobian_step``;
    it keeps stepping until ``residual <= tol`` and ``error_bound <= tol``, which is what
    ``converged`` certifies (module docstring).
    ``on_step(t, w_t, J_t)`` is called after each step (e.g. to record ``J_tᵀ ∇E(w_t)``).
    Raises :class:`~ns_implicit.errors.NonFiniteError` when an iterate overflows.
    """
    from ns_implicit.errors import NonFiniteError

    check_map_at(phi, "itd_forward")
    iters = check_positive_int(iters, "iters", minimum=0)
    tol = default_tol(tol, phi.dtype)  # None: 1e-10 in float64, 1e-6 in float32
    w = np.zeros(phi.dim, dtype=phi.dtype) if w0 is None else phi.check_point(w0, "w0").copy()
    J = np.zeros((phi.dim, phi.n_hyper), dtype=phi.dtype)
    w_next = np.empty_like(w)
    residual, jac_step, t, last_change = np.inf, np.inf, 0, 0
    jac_factor = _forward_factor(float(phi.q))
    while t < iters and not (tol > 0 and residual <= tol and jac_step * jac_factor <= tol):
        J_next = phi.jvp(w, J)  # A_s J_s + B_s
        step, changed = phi.advance(w, w_next)
        w, w_next = w_next, w
        t += 1
        last_change = t if changed else last_change
        if (changed or t == 1) and not phi.q < 1.0:  # q_S of the new support (module docstring)
            jac_factor = _forward_factor(certified_q(phi, w))
        w_norm = norm(w)
        residual = float(step) / w_norm if w_norm > 0 else float(step)
        J_norm = norm(J_next)
        jac_step = norm(J_next - J) / J_norm if J_norm > 0 else norm(J_next - J)
        J = J_next
        if not (isfinite(residual) and isfinite(jac_step)):
            raise NonFiniteError(
                f"itd-forward: step {t} is not finite (float overflow in {phi.dtype}); rescale "
                "(standardise) X and y, or compute in float64.")
        if on_step is not None:
            on_step(t, w, J)
    if t == 0:  # no step taken: nothing is certified (residual 1 as for the AID methods)
        residual, jac_step = 1.0, 1.0
    converged = bool(residual <= tol and jac_step * jac_factor <= tol)
    result = MethodResult(J, "itd-forward", t, float(residual), converged)
    result.error_bound = float(jac_step * jac_factor)
    result.w = w
    result.jacobian_step = float(jac_step)
    result.support_identified_at = last_change
    return result


def _forward_factor(q):
    """``q/(1 - q)``: last Jacobian increment → error of ``J_t``; ``inf`` when ``q >= 1``."""
    return q / (1.0 - q) if q < 1.0 else np.inf
