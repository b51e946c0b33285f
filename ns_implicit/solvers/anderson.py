"""Anderson-accelerated iteration of ``Φ`` with a safeguard, docs/theory.md §16.4.

Type-II Anderson mixing with memory ``m``: with the residuals ``f_k = Φ(x_k) - x_k`` and
``g_k = Φ(x_k)``, the next point is ``x_{k+1} = g_k - ΔG_k c_k``, ``c_k`` the least-squares
solution of ``ΔF_k c ≈ f_k`` (``ΔF``, ``ΔG`` the last ``m`` differences). Safeguard: when the
extrapolated point has a larger residual than ``x_k``, the plain step ``x_{k+1} = g_k`` is
taken instead and the memory is cleared, so the method never does worse than a restart of
the fixed-point iteration. The result is ``w = Φ(x)`` with the stopping test of
:func:`~ns_implicit.solvers.fixed_point.fixed_point_iteration`:
``‖Φ(x) - x‖ <= tol ‖Φ(x)‖``.
"""

import numpy as np

from ns_implicit._validation import check_map_at, check_positive_int, default_tol
from ns_implicit.errors import NonFiniteError
from ns_implicit.solvers.fixed_point import SolveResult


def _norm(v):
    return float(np.sqrt(v.dot(v)))


def anderson_iteration(phi, w0=None, *, tol=None, max_iter=10_000, memory=5):
    """The fixed point of ``phi`` by safeguarded Anderson acceleration (docs/theory.md §16.4).

    ``max_iter`` counts evaluations of ``Φ``; ``memory`` is ``m >= 1``. Returns a
    :class:`~ns_implicit.solvers.fixed_point.SolveResult` with ``solver="anderson"``.
    """
    check_map_at(phi, "anderson_iteration")
    tol = default_tol(tol, phi.dtype)
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    memory = check_positive_int(memory, "memory", minimum=1)
    x = np.zeros(phi.dim, dtype=phi.dtype) if w0 is None else phi.check_point(w0, "w0").copy()
    if max_iter == 0:
        return SolveResult(w=x, iterations=0, residual=np.inf, converged=False,
                           support_identified_at=0, solver="anderson",
                           certificate="relative step of Phi")
    g = np.empty_like(x)
    phi.advance(x, g)
    f = g - x
    evals, last_change = 1, 1
    dF, dG = [], []

    def relative(f, g):
        nf, ng = _norm(f), _norm(g)
        if not (np.isfinite(nf) and np.isfinite(ng)):
            raise NonFiniteError("the Anderson iteration overflowed (iterate not finite); "
                                 "rescale (standardise) the data or use inner_solver='fixed-point'.")
        return nf / ng if ng > 0 else nf

    res = relative(f, g)
    while res > tol and evals < max_iter:
        if dF:
            F = np.stack(dF, axis=1).astype(np.float64)
            coef = np.linalg.lstsq(F, f.astype(np.float64), rcond=None)[0]
            x_new = (g - np.stack(dG, axis=1) @ coef).astype(phi.dtype)
        else:
            x_new = g.copy()
        g_new = np.empty_like(x)
        phi.advance(x_new, g_new)
        evals += 1
        f_new = g_new - x_new
        if dF and _norm(f_new) > _norm(f) and evals < max_iter:  # safeguard: plain step
            x_new = g
            g_new = np.empty_like(x)
            phi.advance(x_new, g_new)
            evals += 1
            f_new = g_new - x_new
            dF.clear()
            dG.clear()
        else:
            dF.append(f_new - f)
            dG.append(g_new - g)
            if len(dF) > memory:
                dF.pop(0)
                dG.pop(0)
        if np.any((g_new != 0) != (g != 0)):
            last_change = evals
        x, g, f = x_new, g_new, f_new
        res = relative(f, g)
    return SolveResult(w=g, iterations=evals, residual=float(res), converged=res <= tol,
                       support_identified_at=last_change, solver="anderson",
                       certificate="relative step of Phi")
