"""scikit-learn estimators tuned by hypergradients (ns_implicit.tuning.estimators): on diabetes
they reproduce a plain ``tune`` on the same folds, their refit equals scikit-learn's own solver
at the tuned regularisation, and they pass ``check_estimator`` (``-m slow``: ~25 s, and ~1 min
for ``SparseLogisticRegressionHO``, whose fast test is in tests/test_tuning_product.py)."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

import ns_implicit as ni  # noqa: E402
from ns_implicit.tuning import cross_validation_problems, tune  # noqa: E402
from ns_implicit.tuning.estimators import (ElasticNetHO, LassoHO,  # noqa: E402
                                           SparseLogisticRegressionHO, WeightedLassoHO)


@pytest.fixture(scope="module")
def diabetes():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def test_lasso_ho_reproduces_tune_and_scikit_learns_refit(diabetes):
    from sklearn.linear_model import Lasso

    X, y = diabetes
    est = LassoHO(cv=5).fit(X, y)
    folds = cross_validation_problems(
        lambda *a, gram="auto": ni.LassoProblem(*a, fit_intercept=True, gram=gram), X, y, 5)
    plain = tune(None, folds=folds)
    assert est.alpha_ == plain.lam[0] and est.n_iter_ == plain.n_outer  # the same computation
    ref = Lasso(alpha=est.alpha_, tol=1e-14, max_iter=10**6).fit(X, y)
    scale = np.abs(ref.coef_).max()
    assert np.abs(est.coef_ - ref.coef_).max() <= 1e-6 * scale  # both solvers at 1e-10-level
    assert abs(est.intercept_ - ref.intercept_) <= 1e-6 * abs(ref.intercept_)
    assert est.converged_ and len(est.history_) == est.n_iter_
    np.testing.assert_allclose(est.predict(X), X @ est.coef_ + est.intercept_)


def test_elastic_net_ho_uses_scikit_learns_conventions(diabetes):
    from sklearn.linear_model import ElasticNet

    X, y = diabetes
    est = ElasticNetHO(cv=3).fit(X, y)
    assert 0 < est.l1_ratio_ <= 1 and est.alpha_ > 0
    np.testing.assert_allclose(ni.from_sklearn(est.alpha_, est.l1_ratio_), est.lam_, rtol=1e-12)
    ref = ElasticNet(alpha=est.alpha_, l1_ratio=est.l1_ratio_, tol=1e-14,
                     max_iter=10**6).fit(X, y)
    assert np.abs(est.coef_ - ref.coef_).max() <= 1e-6 * np.abs(ref.coef_).max()


def test_weighted_lasso_ho_has_one_weight_per_feature(diabetes):
    X, y = diabetes
    est = WeightedLassoHO(cv=3, max_outer=30).fit(X, y)
    assert est.alphas_.shape == (X.shape[1],) and np.all(est.alphas_ > 0)
    assert est.score(X, y) > 0.4  # R² of a linear model on diabetes (~0.5)


def test_bad_cv_is_named(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="n_splits=1000 greater than the number of samples"):
        LassoHO(cv=1000).fit(X, y)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", [LassoHO(), ElasticNetHO(), WeightedLassoHO(),
                                       SparseLogisticRegressionHO()],
                         ids=lambda e: type(e).__name__)
def test_check_estimator(estimator):
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:300]) for r in results
              if r["status"] == "failed"]
    assert not failed, failed


@pytest.mark.parametrize("Est", [LassoHO, ElasticNetHO])
def test_regressors_stop_on_an_inner_solve_out_of_budget(diabetes, Est):
    """``inner_iters=2``: no evaluation converges, so the tuning stops at the start
    (``0.1 λ1_max``) with a ConvergenceWarning naming the budget, and the final solve warns
    too; the fitted model stays finite. (Mutant: dropping either warning fails this.)"""
    from sklearn.exceptions import ConvergenceWarning

    X, y = diabetes
    with pytest.warns(ConvergenceWarning) as record:
        est = Est(cv=3, inner_iters=2).fit(X, y)
    messages = [str(r.message) for r in record if r.category is ConvergenceWarning]
    assert any(m.startswith("stopped at the start") and "inner_iters=2" in m for m in messages)
    assert any("final solve" in m for m in messages)
    assert not est.converged_ and est.message_.startswith("stopped at the start")
    assert est.n_iter_ == 0 and np.all(np.isfinite(est.coef_))
    start = 0.1 * np.mean([f.lam1_max for f in cross_validation_problems(
        lambda *a: Est._problem(*a, fit_intercept=True), X, y, 3)])
    assert np.allclose(est.alpha_, start) if Est is LassoHO else np.allclose(est.lam_, start)
