"""Least squares over a set of radius ``r``, with ``r`` the hyperparameter (docs/theory.md
§15.4(e), §15.11).

Inner: ``min ‖Xw - y‖²/(2n) (+ (λ2/2)‖w‖²)`` over the simplex ``{w >= 0, Σw = r}``
(:class:`SimplexLeastSquaresProblem`) or the ℓ1 ball ``{‖w‖₁ <= r}``
(:class:`L1BallLeastSquaresProblem`), as the fixed point of the projection after the
least-squares step ``γ = 1/(L + λ2)`` (projected gradient; ``p > n`` accepted with ``q = 1``,
§15.6). Outer: the validation mean squared error. Hyperparameters: ``λ = (r,)``, or
``(r, λ2)`` with ``lam2=None``.
"""

import numpy as np

from ns_implicit.operators.l1_ball import L1BallProjection
from ns_implicit.operators.simplex import SimplexProjection
from ns_implicit.problems.elastic_net import LeastSquaresCompositeProblem


class SimplexLeastSquaresProblem(LeastSquaresCompositeProblem):
    """Training data, validation data and projected gradient onto the simplex of radius ``r``.

    Parameters
    ----------
    X, y, X_val, y_val : the splits.
    lam2 : float >= 0 (a fixed ridge weight; default 0) or None (a hyperparameter, last).
    gram, tie_active, fit_intercept : as for
        :class:`~ns_implicit.problems.elastic_net.ElasticNetProblem` (the intercept is
        unconstrained).
    """

    def _operator(self, dim, tie_active):
        return SimplexProjection(tie_active=tie_active)


class L1BallLeastSquaresProblem(LeastSquaresCompositeProblem):
    """Training data, validation data and projected gradient onto the ℓ1 ball of radius ``r``
    (parameters as for :class:`SimplexLeastSquaresProblem`)."""

    def _operator(self, dim, tie_active):
        return L1BallProjection(tie_active=tie_active)

    @property
    def radius_max(self):
        """``‖w_ls‖₁`` of the least-squares solution of minimum norm: a radius at or above it
        leaves the constraint inactive (when ``λ2 = 0``)."""
        T = self.map.T
        w = np.linalg.lstsq(np.asarray(T.X, dtype=np.float64) if not hasattr(T.X, "toarray")
                            else T.X.toarray(), np.asarray(T.y, dtype=np.float64), rcond=None)[0]
        return float(np.abs(w).sum())
