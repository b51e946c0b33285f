"""Hypergradients of ``f(λ) = E(w(λ), λ)``, docs/theory.md §10 eq. (21).

``hypergradient(phi_map, outer, lam, method)`` solves the inner problem by fixed-point
iteration, then returns ``∇_2E(w_t, λ) + Jᵀ∇_1E(w_t, λ)`` with ``J`` from the chosen
method: ``exact`` (direct solve on the active set), ``aid-cg``, ``aid-fp``, ``aid-gmres``
(BAID), ``itd`` (reverse-mode BITD through the stored iterates) or ``itd-forward``.
"""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

import ns_implicit.methods as methods
from ns_implicit._validation import (check_positive_int, default_tol, describe,
                                     tolerance_floor)
from ns_implicit.methods._common import check_finite
from ns_implicit.solvers.fixed_point import SolveResult, fixed_point_iteration
from ns_implicit.solvers.inner import check_inner_solver, solve_inner

#: The deterministic methods (the registry's implicit and unrolled ones).
METHODS = methods.method_names(("implicit", "unrolled"))


class EarlyStopWarning(RuntimeWarning):
    """An iteration budget ran out before its tolerance was met."""


class UnreachableToleranceWarning(EarlyStopWarning):
    """``tol`` is below the round-off floor of the dtype (``5·eps``): every iteration will
    run its whole budget, and raising the budget cannot help."""


def check_tolerance(tol, dtype, budgets, stacklevel=3):
    """Warn up front (:class:`UnreachableToleranceWarning`) when ``tol`` cannot be reached."""
    floor = tolerance_floor(dtype)
    if tol < floor:
        asked = "tol=0 asks for an exact fixed point" if tol == 0 else (
            f"tol={tol:g} is below what {np.dtype(dtype).name} can reach (~{floor:.2g})")
        warnings.warn(f"{asked}: every iteration will run its whole budget ({budgets}); "
                      f"use tol >= {floor:.2g}.", UnreachableToleranceWarning,
                      stacklevel=stacklevel)


def _advice(tol, dtype, budget):
    """What can help when a budget ran out: a larger budget, or a reachable tol."""
    floor = tolerance_floor(dtype)
    if tol < floor:
        return (f"tol={tol:g} is below the round-off floor ~{floor:.2g} of "
                f"{np.dtype(dtype).name}, so raising {budget} cannot help: use tol >= {floor:.2g}")
    return f"raise {budget}"


@dataclass
class HypergradientResult:
    """``value`` = ``[∂f/∂λ_1, …]``; ``inner`` = the inner solve; ``linear`` = the method's record."""

    value: np.ndarray
    method: str
    inner: SolveResult
    linear: methods.MethodResult
    seconds: float
    history: list = field(default=None, repr=False)

    def __post_init__(self):
        check_finite(self.value, f"the {self.method} hypergradient")

    @property
    def converged(self):
        return bool(self.inner.converged and self.linear.converged)


def _extend_until_certified(phi, outer, inner, lin, w, u, tol, inner_iters, rounds=8):
    """Reverse ITD: unroll more steps of ``Φ`` until the adjoint tail certifies ``J_tᵀu``
    (``methods.itd``: ``error_bound <= tol``) or ``inner_iters`` is spent.

    The tail ``‖A_0ᵀ⋯A_{t-1}ᵀu‖/‖u‖`` decays geometrically; its observed rate since support
    identification, ``ρ = tail^{1/(t - t_id)}``, sets how many steps to add.
    """
    t = inner.iterations
    for _ in range(rounds):
        if lin.converged or tol == 0 or t >= inner_iters or lin.error_bound == 0:
            break
        steps_since = max(t - inner.support_identified_at, 1)
        rho = min(max(lin.residual, 1e-300) ** (1.0 / steps_since), 0.999999)
        need = np.log(tol / lin.error_bound) / np.log(rho)
        k = int(min(inner_iters - t, np.ceil(1.5 * need) + 10))
        more = fixed_point_iteration(phi, w, tol=0.0, max_iter=k, store_trajectory=True)
        inner.trajectory.extend(more.trajectory)
        identified = (t + more.support_identified_at if more.support_identified_at
                      else inner.support_identified_at)
        t += more.iterations
        w = more.w
        inner = SolveResult(w=w, iterations=t, residual=more.residual,
                            converged=inner.converged or more.residual <= tol,
                            support_identified_at=identified, trajectory=inner.trajectory)
        u = outer.grad_w(w, phi.lam)
        lin = methods.itd(phi, inner.trajectory, u, tol=tol)
    return inner, lin, w, u


def hypergradient(phi_map, outer, lam, method="exact", *, inner_iters=10_000, linsys_iters=10_000,
                  tol=None, w0=None, history=False, allow_empty_support=False,
                  inner_solver="auto"):
    """Hypergradient of ``E(w(λ), λ)`` for the fixed point of ``phi_map`` (docs/theory.md §10).

    Parameters
    ----------
    phi_map : a fixed-point map with ``.at(lam)`` (e.g. :class:`~ns_implicit.ElasticNetMap`).
    outer : outer loss with ``grad_w(w, lam)`` and ``grad_lam(w, lam)``.
    method : one of ``exact, aid-cg, aid-fp, aid-gmres, itd, itd-forward``.
    inner_iters, tol : budget and relative step tolerance of the inner solve (ITD: the
        number of unrolled steps ``t``); ``tol`` also stops the linear system. Default
        ``tol=None``: 1e-10 in float64, 1e-6 in float32 (whose round-off is 6e-8).
    linsys_iters : budget of the linear-system iterations (AID-FP ``k``, CG/GMRES steps).
    w0 : warm start of the inner solve (not allowed for ITD, whose ``w0`` must not depend on λ).
    history : record the estimate after each linear-system iteration (AID) or step (ITD forward).
    allow_empty_support : return 0 instead of raising when the inner solution is 0.
    inner_solver : ``"auto"``, ``"fixed-point"``, ``"cd"`` or ``"anderson"`` (docs/theory.md
        §16): how the implicit methods compute ``w(λ)``. ``auto``: coordinate descent for a
        least-squares step followed by (weighted, nonnegative) soft-thresholding, the
        iteration of ``Φ`` otherwise; ITD iterates ``Φ`` whatever is asked (only ``auto``
        and ``fixed-point`` are accepted there). ``result.inner.solver`` names the solver.

    Warns :class:`EarlyStopWarning` when a budget ran out before ``tol`` was met, and
    :class:`UnreachableToleranceWarning` up front when ``tol`` is below the dtype's round-off.
    Raises ``TypeError`` for a ``phi_map`` without ``.at`` and
    :class:`~ns_implicit.errors.NonFiniteError` when the computation overflows.
    """
    spec = methods.get_method(method, ("implicit", "unrolled"))
    if not hasattr(phi_map, "at"):
        raise TypeError(f"phi_map must be a map with .at(lam) (e.g. problem.map); got "
                        f"{type(phi_map).__name__}. (The methods themselves take map.at(lam).)")
    inner_iters = check_positive_int(inner_iters, "inner_iters", minimum=0)
    linsys_iters = check_positive_int(linsys_iters, "linsys_iters", minimum=0)
    dtype = getattr(phi_map, "dtype", np.float64)
    tol = default_tol(tol, dtype)
    if history and not spec.history:
        recorders = ", ".join(n for n in METHODS if methods.METHODS[n].history)
        raise ValueError(f"history is recorded by {recorders} only; "
                         f"method={method!r} has no iterates to record (use history=False).")
    if spec.kind == "unrolled" and w0 is not None:
        raise ValueError("w0 must be None for ITD: its starting point must not depend on lam.")
    check_inner_solver(inner_solver)
    if spec.kind == "unrolled" and inner_solver not in ("auto", "fixed-point"):
        raise ValueError(f"inner_solver={inner_solver!r} with method={method!r}: ITD "
                         "differentiates the iterations of Phi, so it must iterate Phi; use "
                         "inner_solver='auto' or 'fixed-point' (or an implicit method).")
    start = time.perf_counter()
    phi = phi_map.at(lam)
    check_tolerance(tol, phi.dtype, f"inner_iters={inner_iters}" + (
        "" if spec.kind == "unrolled" or method == "exact" else f", linsys_iters={linsys_iters}"))
    hist = [] if history else None
    inner_tol = tol
    if method == "itd-forward":
        def record(t, w_t, J_t):
            hist.append(outer.grad_lam(w_t, phi.lam) + J_t.T @ outer.grad_w(w_t, phi.lam))
        lin = methods.itd_forward(phi, iters=inner_iters, tol=tol,
                                  on_step=record if history else None)
        w = lin.w
        inner = SolveResult(w=w, iterations=lin.iterations, residual=lin.residual,
                            converged=lin.residual <= tol,
                            support_identified_at=lin.support_identified_at)
        value = outer.grad_lam(w, phi.lam) + lin.value.T @ outer.grad_w(w, phi.lam)
    else:
        if method == "itd":
            inner = fixed_point_iteration(phi, w0, tol=inner_tol, max_iter=inner_iters,
                                          store_trajectory=True)
        else:
            inner = solve_inner(phi, w0, tol=inner_tol, max_iter=inner_iters,
                                inner_solver=inner_solver)
        w = inner.w
        u = outer.grad_w(w, phi.lam)
        if method == "itd":
            lin = methods.itd(phi, inner.trajectory, u, tol=tol)
            inner, lin, w, u = _extend_until_certified(phi, outer, inner, lin, w, u, tol,
                                                       inner_iters)
        else:
            lin = spec.run(phi, w, u, iters=linsys_iters, tol=tol, history=history)
            if history:
                hist = [outer.grad_lam(w, phi.lam) + g for g in lin.history]
        value = outer.grad_lam(w, phi.lam) + lin.value
    if not np.any(w) and not allow_empty_support:
        if inner.iterations == 0:
            raise ValueError(
                f"inner_iters={inner_iters} ran no inner step, so w = w0 = 0 (empty support) and "
                "the hypergradient carries no information; use inner_iters >= 1 (or pass "
                "allow_empty_support=True).")
        raise ValueError(
            f"the inner solution is identically zero at lam={describe(phi.lam)} (empty support), "
            "so the hypergradient carries no information; lower lam1 (for the elastic net, "
            "below lam1_max = ||X^T y||_inf / n) or pass allow_empty_support=True.")
    result = HypergradientResult(np.asarray(value), method, inner, lin,
                                 time.perf_counter() - start, hist)
    if spec.kind == "unrolled":  # ITD's only budget is inner_iters: one warning
        if not (inner.converged and lin.converged):
            what = (f"relative step {inner.residual:.3g} > {inner_tol:.3g}" if not inner.converged
                    else f"certified Jacobian error bound {lin.error_bound:.3g} > tol={tol:g} "
                         f"(q = {float(phi.q):.6g}; docs/theory.md §7-§8)")
            fix = _advice(tol, phi.dtype, "inner_iters")
            if inner.converged:
                fix = ("raise inner_iters (ITD unrolls more steps until its Jacobian is "
                       "certified), or use an implicit method (exact, aid-cg)")
            warnings.warn(f"{method} stopped after {inner.iterations} "
                          f"unrolled steps with {what}; {fix}.", EarlyStopWarning, stacklevel=2)
        return result
    if not inner.converged:
        warnings.warn(f"inner solve stopped after {inner.iterations} iterations with relative "
                      f"step {inner.residual:.3g} > tol={tol:g}; "
                      f"{_advice(tol, phi.dtype, 'inner_iters')}.",
                      EarlyStopWarning, stacklevel=2)
    if not lin.converged:
        warnings.warn(f"{method} stopped after {lin.iterations} iterations with residual "
                      f"{lin.residual:.3g} > tol={tol:g}; "
                      f"{_advice(tol, phi.dtype, 'linsys_iters')}.",
                      EarlyStopWarning, stacklevel=2)
    return result
