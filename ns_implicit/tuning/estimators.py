"""scikit-learn estimators whose regularisation is tuned by hypergradients on k-fold
cross-validation (docs/theory.md §10; scikit-learn is an optional extra: ``pip install
ns_implicit[sklearn]``).

``fit(X, y)`` tunes ``λ`` with :func:`~ns_implicit.tuning.tune` on ``KFold(cv)`` (no shuffle,
as scikit-learn's CV estimators), then solves the problem on all rows at the tuned ``λ``;
``coef_``, ``intercept_``, ``n_iter_`` (outer evaluations) and ``history_`` (one
``{"seconds", "lam", "value"}`` per evaluation) describe the fit. The conventions of the
fitted hyperparameters follow scikit-learn's (``alpha_``, ``l1_ratio_``).

:class:`SparseLogisticRegressionHO` is the binary classifier: as scikit-learn's classifiers it
splits by ``StratifiedKFold(cv)`` (no shuffle), and its inner work is bounded (module of the
class).
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ns_implicit.problems.elastic_net import ElasticNetProblem, LassoProblem, to_sklearn
from ns_implicit.problems.sparse_logreg import SparseLogisticProblem
from ns_implicit.problems.weighted_lasso import WeightedLassoProblem
from ns_implicit.tuning.objective import InnerSolveError
from ns_implicit.tuning.tune import cross_validation_problems, tune


def _check_cv(cv, n):
    if not isinstance(cv, (int, np.integer)) or isinstance(cv, bool) or not 2 <= cv <= n:
        raise ValueError(f"Cannot have number of splits n_splits={cv} greater than the number "
                         f"of samples: n_samples={n} (cv must be an integer in [2, n_samples]).")


class _HypergradientCV(RegressorMixin, BaseEstimator):
    """Shared ``fit`` / ``predict`` (subclasses set ``_problem`` and ``_fitted``)."""

    def __init__(self, cv=5, optimizer="lbfgs", fit_intercept=True, max_outer=100,
                 max_seconds=None, tol=1e-10, inner_iters=100_000):
        self.cv = cv
        self.optimizer = optimizer
        self.fit_intercept = fit_intercept
        self.max_outer = max_outer
        self.max_seconds = max_seconds
        self.tol = tol
        self.inner_iters = inner_iters

    def _make(self, X, y, X_val, y_val, gram="auto"):
        return self._problem(X, y, X_val, y_val, fit_intercept=self.fit_intercept, gram=gram)

    def fit(self, X, y):
        """Tune on ``KFold(cv)``, then solve on all rows. An inner solve out of its budget
        (``inner_iters``) stops the tuning at the best ``λ`` evaluated before (the start,
        ``0.1 λ1_max``, when it is the first) with a ``ConvergenceWarning``; so does a final
        solve that does not converge."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        _check_cv(self.cv, X.shape[0])
        full = self._make(X, y, X, y)
        folds = cross_validation_problems(self._make, X, y, self.cv) if full.lam1_max > 0 else []
        if folds and min(f.lam1_max for f in folds) > 0:
            lam = np.full(full.map.n_hyper, 0.1 * float(np.mean([f.lam1_max for f in folds])))
            self.n_iter_, self.history_ = 0, []
            try:
                res = tune(None, lam, folds=folds, optimizer=self.optimizer, tol=self.tol,
                           max_outer=self.max_outer, max_seconds=self.max_seconds,
                           inner_iters=self.inner_iters)
            except InnerSolveError as err:
                self.converged_, self.message_ = False, f"stopped at the start: {err}"
            else:
                lam, self.n_iter_, self.history_ = res.lam, res.n_outer, res.history
                self.converged_, self.message_ = res.converged, res.message
            if not self.converged_ and "did not converge" in self.message_:
                warnings.warn(self.message_, ConvergenceWarning, stacklevel=2)
        else:  # y constant (after centring) or X zero: the solution is 0 for any λ
            lam = np.full(full.map.n_hyper, 1.0)
            self.n_iter_, self.history_, self.converged_ = 0, [], True
            self.message_ = "the data determine no coefficient (lam1_max = 0)"
        sol = full.solve(lam, tol=self.tol, max_iter=self.inner_iters)
        if not sol.converged:
            warnings.warn(f"the final solve did not converge within inner_iters="
                          f"{self.inner_iters} (relative step {sol.residual:.3g} > tol="
                          f"{self.tol:g}); raise inner_iters.", ConvergenceWarning, stacklevel=2)
        self.coef_, self.intercept_ = sol.w, full.intercept(sol.w)
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


class SparseLogisticRegressionHO(ClassifierMixin, BaseEstimator):
    """Binary l1-penalised logistic regression with ``λ1`` tuned by hypergradients on
    ``StratifiedKFold(cv)`` (the held-out log-loss); ``alpha_`` is the tuned ``λ1`` of
    ``(1/n) Σ log(1 + exp(-y(xᵀw + b))) + λ1‖w‖₁ + (lam2/2)‖w‖²``
    (scikit-learn's ``LogisticRegression(l1, C)`` has ``C = 1/(n λ1)`` when ``lam2 = 0``).

    The inner work is bounded: ``lam2 > 0`` (default 1e-4) makes the map a strict contraction
    (separable data have no minimiser without it), each solve is seeded by FISTA with restarts
    and stopped at ``inner_iters``. An inner solve that cannot converge within that budget
    stops the outer loop: the fit keeps the best ``λ1`` evaluated before (or the start,
    ``0.1 λ1_max``) and warns with a :class:`~sklearn.exceptions.ConvergenceWarning` naming
    the budget; ``converged_`` and ``message_`` say why the tuning stopped.
    """

    def __init__(self, cv=5, optimizer="lbfgs", fit_intercept=True, lam2=1e-4, max_outer=100,
                 max_seconds=None, tol=1e-8, inner_iters=10_000):
        self.cv = cv
        self.optimizer = optimizer
        self.fit_intercept = fit_intercept
        self.lam2 = lam2
        self.max_outer = max_outer
        self.max_seconds = max_seconds
        self.tol = tol
        self.inner_iters = inner_iters

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _make(self, X, y, X_val, y_val):
        return SparseLogisticProblem(X, y, X_val, y_val, lam2=self.lam2,
                                     fit_intercept=self.fit_intercept)

    def fit(self, X, y):
        from sklearn.model_selection import StratifiedKFold

        from ns_implicit.tuning.accelerated import accelerated_solve

        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if type_of_target(y) == "multiclass" or len(self.classes_) > 2:
            raise ValueError(f"Only binary classification is supported. y holds "
                             f"{len(self.classes_)} classes (one-vs-rest: fit one per class).")
        if len(self.classes_) < 2:
            raise ValueError(f"y holds one class only ({self.classes_.tolist()}): a classifier "
                             "needs samples of 2 classes.")
        _check_cv(self.cv, X.shape[0])
        if not (isinstance(self.lam2, (int, float, np.floating)) and np.isfinite(self.lam2)
                and self.lam2 >= 0):
            raise ValueError(f"lam2 must be a finite number >= 0; got {self.lam2!r}.")
        signs = np.where(y == self.classes_[1], 1.0, -1.0)
        full = self._make(X, signs, X, signs)
        lam, self.n_iter_, self.history_ = None, 0, []
        self.converged_, self.message_ = True, "the data determine no coefficient (lam1_max = 0)"
        if full.lam1_max > 0:
            with warnings.catch_warnings():  # fewer members than folds: scikit-learn warns
                warnings.simplefilter("ignore", UserWarning)
                splits = list(StratifiedKFold(self.cv).split(X, signs))
            if any(np.unique(signs[tr]).size < 2 for tr, _ in splits):
                raise ValueError(f"cv={self.cv} leaves a training fold with one class only; "
                                 "lower cv (StratifiedKFold needs cv <= the smaller class's "
                                 "count).")
            folds = [self._make(X[tr], signs[tr], X[va], signs[va]) for tr, va in splits]
            lam = np.full(1, 0.1 * float(np.mean([f.lam1_max for f in folds])))
            try:
                res = tune(None, lam, folds=folds, optimizer=self.optimizer, tol=self.tol,
                           max_outer=self.max_outer, max_seconds=self.max_seconds,
                           inner_iters=self.inner_iters, accelerate=True, progress=False)
            except InnerSolveError as err:
                self.converged_, self.message_ = False, f"stopped at the start: {err}"
            else:
                lam, self.n_iter_, self.history_ = res.lam, res.n_outer, res.history
                self.converged_, self.message_ = res.converged, res.message
            if not self.converged_ and "did not converge" in self.message_:
                warnings.warn(self.message_, ConvergenceWarning, stacklevel=2)
        else:
            lam = np.full(1, 1.0)
        phi = full.map.at(lam)
        w, _, _ = accelerated_solve(phi, tol=self.tol, max_iter=self.inner_iters)
        sol = full.solve(lam, w0=w, tol=self.tol, max_iter=self.inner_iters)
        if not sol.converged:
            warnings.warn(f"the final solve at alpha={float(lam[0]):.6g} did not converge within "
                          f"inner_iters={self.inner_iters} (relative step {sol.residual:.3g} > "
                          f"tol={self.tol:g}); raise inner_iters or lam2.", ConvergenceWarning,
                          stacklevel=2)
        self.coef_, self.intercept_ = full.coef(sol.w), full.intercept(sol.w)
        self.alpha_ = float(lam[0])
        return self

    def decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_

    def predict(self, X):
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def predict_proba(self, X):
        p = 0.5 * (1.0 + np.tanh(0.5 * self.decision_function(X)))  # σ without overflow
        return np.column_stack([1.0 - p, p])
