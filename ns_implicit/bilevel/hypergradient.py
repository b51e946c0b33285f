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
from ns_implicit._validation import describe
from ns_implicit.solvers.fixed_point import SolveResult, fixed_point_iteration

#: The deterministic methods (the registry's implicit and unrolled ones).
METHODS = methods.method_names(("implicit", "unrolled"))


class EarlyStopWarning(RuntimeWarning):
    """An iteration budget ran out before its tolerance was met."""


@dataclass
class HypergradientResult:
    """``value`` = ``[∂f/∂λ_1, …]``; ``inner`` = the inner solve; ``linear`` = the method's record."""

    value: np.ndarray
    method: str
    inner: SolveResult
    linear: methods.MethodResult
    seconds: float
    history: list = field(default=None, repr=False)

    @property
    def converged(self):
        return bool(self.inner.converged and self.linear.converged)


def hypergradient(phi_map, outer, lam, method="exact", *, inner_iters=10_000, linsys_iters=10_000,
                  tol=1e-10, w0=None, history=False, allow_empty_support=False):
    """Hypergradient of ``E(w(λ), λ)`` for the fixed point of ``phi_map`` (docs/theory.md §10).

    Parameters
    ----------
    phi_map : a fixed-point map with ``.at(lam)`` (e.g. :class:`~ns_implicit.ElasticNetMap`).
    outer : outer loss with ``grad_w(w, lam)`` and ``grad_lam(w, lam)``.
    method : one of ``exact, aid-cg, aid-fp, aid-gmres, itd, itd-forward``.
    inner_iters, tol : budget and relative step tolerance of the inner solve (ITD: the
        number of unrolled steps ``t``).
    linsys_iters : budget of the linear-system iterations (AID-FP ``k``, CG/GMRES steps).
    w0 : warm start of the inner solve (not allowed for ITD, whose ``w0`` must not depend on λ).
    history : record the estimate after each linear-system iteration (AID) or step (ITD forward).
    allow_empty_support : return 0 instead of raising when the inner solution is 0.

    Warns :class:`EarlyStopWarning` when a budget ran out before ``tol`` was met.
    """
    spec = methods.get_method(method, ("implicit", "unrolled"))
    if history and not spec.history:
        recorders = ", ".join(n for n in METHODS if methods.METHODS[n].history)
        raise ValueError(f"history is recorded by {recorders} only; "
                         f"method={method!r} has no iterates to record (use history=False).")
    if spec.kind == "unrolled" and w0 is not None:
        raise ValueError("w0 must be None for ITD: its starting point must not depend on lam.")
    start = time.perf_counter()
    phi = phi_map.at(lam)
    hist = [] if history else None
    if method == "itd-forward":
        def record(t, w_t, J_t):
            hist.append(outer.grad_lam(w_t, phi.lam) + J_t.T @ outer.grad_w(w_t, phi.lam))
        lin = methods.itd_forward(phi, iters=inner_iters, tol=tol,
                                  on_step=record if history else None)
        w = lin.w
        inner = SolveResult(w=w, iterations=lin.iterations, residual=lin.residual,
                            converged=lin.converged,
                            support_identified_at=lin.support_identified_at)
        value = outer.grad_lam(w, phi.lam) + lin.value.T @ outer.grad_w(w, phi.lam)
    else:
        inner = fixed_point_iteration(phi, w0, tol=tol, max_iter=inner_iters,
                                      store_trajectory=(method == "itd"))
        w = inner.w
        u = outer.grad_w(w, phi.lam)
        if method == "itd":
            lin = methods.itd(phi, inner.trajectory, u)
        else:
            lin = spec.run(phi, w, u, iters=linsys_iters, tol=tol, history=history)
            if history:
                hist = [outer.grad_lam(w, phi.lam) + g for g in lin.history]
        value = outer.grad_lam(w, phi.lam) + lin.value
    if not np.any(w) and not allow_empty_support:
        raise ValueError(
            f"the inner solution is identically zero at lam={describe(phi.lam)} (empty support), "
            "so the hypergradient carries no information; lower lam1 (for the elastic net, "
            "below lam1_max = ||X^T y||_inf / n) or pass allow_empty_support=True.")
    result = HypergradientResult(np.asarray(value), method, inner, lin,
                                 time.perf_counter() - start, hist)
    if not inner.converged:
        warnings.warn(f"inner solve stopped after {inner.iterations} iterations with relative "
                      f"step {inner.residual:.3g} > tol={tol:g}; raise inner_iters.",
                      EarlyStopWarning, stacklevel=2)
    if not lin.converged and method != "itd-forward":  # its budget is the inner solve's (above)
        warnings.warn(f"{method} stopped after {lin.iterations} iterations with residual "
                      f"{lin.residual:.3g} > tol={tol:g}; raise linsys_iters.",
                      EarlyStopWarning, stacklevel=2)
    return result
