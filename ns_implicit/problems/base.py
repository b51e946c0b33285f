"""What every problem bundle shares: a map, an outer loss, and the three calls on them."""

from ns_implicit.bilevel.hypergradient import hypergradient
from ns_implicit.solvers.inner import solve_inner


class BilevelProblem:
    """A fixed-point map ``self.map`` (with ``.at(λ)``) and an outer loss ``self.outer``
    (``value``, ``grad_w``, ``grad_lam``), set by the subclass."""

    def solve(self, lam, *, inner_solver="fixed-point", **kwargs):
        """``w(λ)`` by ``inner_solver`` (docs/theory.md §16): by default the iteration of ``Φ``
        (:func:`~ns_implicit.solvers.fixed_point.fixed_point_iteration`, whose
        ``support_identified_at`` and trajectory describe ITD's iterates); ``"auto"``:
        coordinate descent where it applies; ``"cd"``, ``"anderson"``. ``kwargs``: ``w0``,
        ``tol``, ``max_iter``, and the fixed-point iteration's ``store_trajectory`` /
        ``record_residuals``."""
        return solve_inner(self.map.at(lam), inner_solver=inner_solver, **kwargs)

    def outer_value(self, lam, *, tol=1e-13, max_iter=200_000):
        """``f(λ) = E(w(λ))`` with a tightly solved inner problem (for finite differences;
        the fastest certified solver, ``inner_solver="auto"``)."""
        return self.outer.value(self.solve(lam, tol=tol, max_iter=max_iter,
                                           inner_solver="auto").w)

    def hypergradient(self, lam, method="exact", **kwargs):
        """``∇f(λ)`` in the order of ``λ`` (see :func:`~ns_implicit.bilevel.hypergradient.hypergradient`)."""
        return hypergradient(self.map, self.outer, lam, method, **kwargs)
