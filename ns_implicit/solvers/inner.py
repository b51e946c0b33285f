"""The choice of the inner solver for the implicit methods, docs/theory.md §16.

The implicit methods (exact, AID-FP, AID-CG, GMRES) need only the fixed point ``w(λ)`` of
``Φ``, which any solver may compute; the selection is then taken at a point certified on
``Φ`` itself (its relative step). ITD differentiates the iterations of ``Φ`` and iterates
``Φ``.
"""

from ns_implicit.solvers.anderson import anderson_iteration
from ns_implicit.solvers.coordinate_descent import coordinate_descent, supports_cd
from ns_implicit.solvers.fixed_point import fixed_point_iteration

INNER_SOLVERS = ("auto", "fixed-point", "cd", "anderson")


def check_inner_solver(inner_solver):
    """``inner_solver`` must be one of :data:`INNER_SOLVERS` (a ValueError naming them)."""
    if not isinstance(inner_solver, str) or inner_solver not in INNER_SOLVERS:
        raise ValueError(f"inner_solver must be one of "
                         f"{', '.join(repr(s) for s in INNER_SOLVERS)}; got {inner_solver!r}.")
    return inner_solver


def resolve_inner_solver(phi, inner_solver):
    """The solver ``auto`` stands for at ``phi``: ``cd`` where it applies, else ``fixed-point``."""
    check_inner_solver(inner_solver)
    if inner_solver == "auto":
        return "cd" if supports_cd(phi) else "fixed-point"
    return inner_solver


def solve_inner(phi, w0=None, *, tol=None, max_iter=10_000, inner_solver="auto", **kwargs):
    """``w(λ)`` by the chosen solver; ``kwargs`` (``store_trajectory``, ``record_residuals``)
    are options of the fixed-point iteration, which they select under ``auto``."""
    name = "fixed-point" if (inner_solver == "auto" and any(kwargs.values())) else \
        resolve_inner_solver(phi, inner_solver)
    if name == "fixed-point":
        return fixed_point_iteration(phi, w0, tol=tol, max_iter=max_iter, **kwargs)
    if any(kwargs.values()):
        raise ValueError(f"{', '.join(k for k, v in kwargs.items() if v)} is recorded by the "
                         f"fixed-point iteration only; use inner_solver='fixed-point' "
                         f"(got {inner_solver!r}).")
    if name == "cd":
        return coordinate_descent(phi, w0, tol=tol, max_iter=max_iter)
    return anderson_iteration(phi, w0, tol=tol, max_iter=max_iter)
