"""Elastic-net hyperparameter optimisation as one bilevel problem, docs/theory.md §11.2.

Inner: ``min_w ‖Xw - y‖²/(2n) + λ1‖w‖₁ + (λ2/2)‖w‖²`` solved as the fixed point of ISTA.
Outer: ``E(w) = ‖X_val w - y_val‖²/(2 n_val)``.

scikit-learn's ``ElasticNet(alpha, l1_ratio)`` minimises
``‖Xw - y‖²/(2n) + alpha·l1_ratio‖w‖₁ + (alpha(1 - l1_ratio)/2)‖w‖²``, so
``λ1 = alpha·l1_ratio`` and ``λ2 = alpha(1 - l1_ratio)``; conversely
``alpha = λ1 + λ2`` and ``l1_ratio = λ1 / (λ1 + λ2)`` (see :func:`to_sklearn`).
"""

import numpy as np

from ns_implicit.bilevel.hypergradient import hypergradient
from ns_implicit.maps.elastic_net import ElasticNetMap
from ns_implicit.bilevel.outer import ValidationMSE
from ns_implicit.solvers.fixed_point import fixed_point_iteration
from ns_implicit.data.synthetic import make_sparse_regression


def from_sklearn(alpha, l1_ratio):
    """``(λ1, λ2)`` for scikit-learn's ``ElasticNet(alpha, l1_ratio)``."""
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be finite and >= 0; got {alpha}.")
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must lie in [0, 1]; got {l1_ratio}.")
    return np.array([alpha * l1_ratio, alpha * (1.0 - l1_ratio)])


def to_sklearn(lam):
    """``(alpha, l1_ratio)`` for ``λ = (λ1, λ2)``; ``l1_ratio = 0`` when both are zero."""
    lam1, lam2 = float(lam[0]), float(lam[1])
    alpha = lam1 + lam2
    return alpha, (lam1 / alpha if alpha > 0 else 0.0)


class ElasticNetProblem:
    """Training data, validation data and the ISTA map, bundled.

    Parameters
    ----------
    X, y : training split; X_val, y_val : validation split.
    step, gram, tie_active : passed to :class:`~ns_implicit.maps.elastic_net.ElasticNetMap`.
    """

    def __init__(self, X, y, X_val, y_val, *, step="paper", gram="auto", tie_active=False):
        self.map = ElasticNetMap(X, y, step=step, gram=gram, tie_active=tie_active)
        self.outer = ValidationMSE(X_val, y_val, n_hyper=2, dtype=self.map.dtype)
        if self.outer.X_val.shape[1] != self.map.dim:
            raise ValueError(f"X_val must have the same number of columns as X: "
                             f"{self.outer.X_val.shape[1]} != {self.map.dim}.")

    @classmethod
    def synthetic(cls, seed=3, dtype=np.float64, **kwargs):
        """The paper's Figure-1 data (docs/theory.md §12.2) or any :func:`make_sparse_regression` setting."""
        data = make_sparse_regression(seed=seed, dtype=dtype, **kwargs)
        return cls(data.X, data.y, data.X_val, data.y_val)

    @property
    def lam1_max(self):
        return self.map.lam1_max

    def solve(self, lam, **kwargs):
        """Fixed-point iteration for ``w(λ)`` (see :func:`~ns_implicit.solvers.fixed_point.fixed_point_iteration`)."""
        return fixed_point_iteration(self.map.at(lam), **kwargs)

    def outer_value(self, lam, *, tol=1e-13, max_iter=200_000):
        """``f(λ) = E(w(λ))`` with a tightly solved inner problem (for finite differences)."""
        return self.outer.value(self.solve(lam, tol=tol, max_iter=max_iter).w)

    def hypergradient(self, lam, method="exact", **kwargs):
        """``[∂f/∂λ1, ∂f/∂λ2]`` (see :func:`~ns_implicit.bilevel.hypergradient.hypergradient`)."""
        return hypergradient(self.map, self.outer, lam, method, **kwargs)
