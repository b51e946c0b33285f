"""Problems of the benchmark: an elastic net ``(X, y, X_val, y_val, λ)`` in the project's
convention, or any ns_implicit map with an outer loss (the poisoning problem).

Inner ``min_w ‖Xw − y‖²/(2n) + λ1‖w‖₁ + (λ2/2)‖w‖²``, outer ``E(w) = ‖X_val w − y_val‖²/(2 n_val)``
(docs/theory.md §11.2); the hypergradient is ``∇E(λ) = D_w(λ)ᵀ ∇_wE(w(λ))`` (§10). The
reference is ns_implicit's ``exact`` at a fixed point solved to ``tol = 1e-15`` (1e-12 for
the poisoning problem, whose ``q ≈ 0.996`` makes that 2.5e-10 relative to ``w*``).
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Bundle:
    """One benchmark problem. ``kind``: ``"elastic-net"`` (the peers can run it: they get
    the arrays) or ``"map"`` (ns_implicit only). ``map``/``outer``: ns_implicit objects."""

    name: str
    kind: str
    map: object
    outer: object
    lam: np.ndarray
    arrays: dict = field(default_factory=dict)  # X, y, X_val, y_val for kind "elastic-net"
    #: relative step at which the reference fixed point stops: ‖w − w*‖ ≤ tol·‖w‖/(1 − q)
    ref_tol: float = 1e-15


def elastic_net(name, X, y, X_val, y_val, lam):
    from ns_implicit.problems.elastic_net import ElasticNetProblem
    problem = ElasticNetProblem(X, y, X_val, y_val)
    return Bundle(name, "elastic-net", problem.map, problem.outer, np.asarray(lam, float),
                  {"X": X, "y": y, "X_val": X_val, "y_val": y_val})


def lam1_max(X, y):
    """The smallest λ1 with ``w(λ) = 0`` at ``λ2 = 0``: ``‖Xᵀy‖∞ / n``."""
    return float(np.max(np.abs(X.T @ y))) / X.shape[0]


def reference(bundle):
    """``(w*, g*)``: the fixed point to ``bundle.ref_tol`` and the exact hypergradient there."""
    from ns_implicit.methods import exact
    from ns_implicit.solvers.fixed_point import fixed_point_iteration
    phi = bundle.map.at(bundle.lam)
    w = fixed_point_iteration(phi, tol=bundle.ref_tol, max_iter=2_000_000).w
    g = exact(phi, w, bundle.outer.grad_w(w, bundle.lam)).value
    return w, np.asarray(g, dtype=float) + bundle.outer.grad_lam(w, bundle.lam)
