"""What every problem bundle shares: a map, an outer loss, and the three calls on them."""

from ns_implicit.bilevel.hypergradient import hypergradient
from ns_implicit.solvers.fixed_point import fixed_point_iteration


class BilevelProblem:
    """A fixed-point map ``self.map`` (with ``.at(λ)``) and an outer loss ``self.outer``
    (``value``, ``grad_w``, ``grad_lam``), set by the subclass."""

    def solve(self, lam, **kwargs):
        """Fixed-point iteration for ``w(λ)`` (see :func:`~ns_implicit.solvers.fixed_point.fixed_point_iteration`)."""
        return fixed_point_iteration(self.map.at(lam), **kwargs)

    def outer_value(self, lam, *, tol=1e-13, max_iter=200_000):
        """``f(λ) = E(w(λ))`` with a tightly solved inner problem (for finite differences)."""
        return self.outer.value(self.solve(lam, tol=tol, max_iter=max_iter).w)

    def hypergradient(self, lam, method="exact", **kwargs):
        """``∇f(λ)`` in the order of ``λ`` (see :func:`~ns_implicit.bilevel.hypergradient.hypergradient`)."""
        return hypergradient(self.map, self.outer, lam, method, **kwargs)
