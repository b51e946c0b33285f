"""scikit-learn estimators whose regularisation is tuned by hypergradients on k-fold
cross-validation (docs/theory.md §10; scikit-learn is an optional extra: ``pip install
ns_implicit[sklearn]``).

``fit(X, y)`` tunes ``λ`` with :func:`~ns_implicit.tuning.tune` on ``KFold(cv)`` (no shuffle,
as scikit-learn's CV estimators), then solves the problem on all rows at the tuned ``λ``;
``coef_``, ``intercept_``, ``n_iter_`` (outer evaluations) and ``history_`` (one
``{"seconds", "lam", "value"}`` per evaluation) describe the fit. The conventions of the
fitted hyperparameters follow scikit-learn's (``alpha_``, ``l1_ratio_``).
"""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ns_implicit.problems.elastic_net import ElasticNetProblem, LassoProblem, to_sklearn
from ns_implicit.problems.weighted_lasso import WeightedLassoProblem
from ns_implicit.tuning.tune import cross_validation_problems, tune


class _HypergradientCV(RegressorMixin, BaseEstimator):
    """Shared ``fit`` / ``predict`` (subclasses set ``_problem`` and ``_fitted``)."""

    def __init__(self, cv=5, optimizer="lbfgs", fit_intercept=True, max_outer=100,
                 max_seconds=None, tol=1e-10):
        self.cv = cv
        self.optimizer = optimizer
        self.fit_intercept = fit_intercept
        self.max_outer = max_outer
        self.max_seconds = max_seconds
        self.tol = tol

    def _make(self, X, y, X_val, y_val):
        return self._problem(X, y, X_val, y_val, fit_intercept=self.fit_intercept)

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        n = X.shape[0]
        if not isinstance(self.cv, (int, np.integer)) or isinstance(self.cv, bool) or \
                not 2 <= self.cv <= n:
            raise ValueError(f"Cannot have number of splits n_splits={self.cv} greater than "
                             f"the number of samples: n_samples={n} (cv must be an integer "
                             "in [2, n_samples]).")
        full = self._make(X, y, X, y)
        lam = None
        if full.lam1_max > 0:
            folds = cross_validation_problems(self._make, X, y, self.cv)
            if min(f.lam1_max for f in folds) > 0:
                res = tune(None, folds=folds, optimizer=self.optimizer, tol=self.tol,
                           max_outer=self.max_outer, max_seconds=self.max_seconds)
                lam, self.n_iter_, self.history_ = res.lam, res.n_outer, res.history
                self.converged_, self.message_ = res.converged, res.message
        if lam is None:  # y constant (after centring) or X zero: the solution is 0 for any λ
            lam = np.full(full.map.n_hyper, 1.0)
            self.n_iter_, self.history_, self.converged_ = 0, [], True
            self.message_ = "the data determine no coefficient (lam1_max = 0)"
        w = full.solve(lam, tol=self.tol, max_iter=1_000_000).w
        self.coef_, self.intercept_ = w, full.intercept(w)
        self._fitted(lam)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_


class LassoHO(_HypergradientCV):
    """The lasso with ``alpha`` tuned by hypergradients on k-fold CV (module docstring);
    ``alpha_`` is scikit-learn's ``Lasso(alpha)``."""

    _problem = LassoProblem

    def _fitted(self, lam):
        self.alpha_ = float(lam[0])


class ElasticNetHO(_HypergradientCV):
    """The elastic net with ``(λ1, λ2)`` tuned by hypergradients on k-fold CV; ``alpha_`` and
    ``l1_ratio_`` are scikit-learn's ``ElasticNet(alpha, l1_ratio)``."""

    _problem = ElasticNetProblem

    def _fitted(self, lam):
        self.lam_ = np.asarray(lam, dtype=np.float64)
        self.alpha_, self.l1_ratio_ = (float(v) for v in to_sklearn(lam))


class WeightedLassoHO(_HypergradientCV):
    """The weighted lasso with one weight per feature tuned by hypergradients on k-fold CV;
    ``alphas_`` (length ``n_features``) are the weights of ``Σ_j alphas_j |w_j|``."""

    _problem = WeightedLassoProblem

    def _fitted(self, lam):
        self.alphas_ = np.asarray(lam, dtype=np.float64)
