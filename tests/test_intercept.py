"""An unpenalised intercept (``fit_intercept=True``) on real data: the solution matches
scikit-learn's ``Lasso``/``ElasticNet`` (coefficients and intercept) at the same
regularisation, and the validation loss is the one of the model with its intercept."""

import numpy as np
import pytest

import ns_implicit as ni

sklearn_datasets = pytest.importorskip("sklearn.datasets")
sklearn_linear = pytest.importorskip("sklearn.linear_model")


@pytest.fixture(scope="module")
def diabetes():
    X, y = sklearn_datasets.load_diabetes(return_X_y=True)
    return X[:300], y[:300], X[300:], y[300:]


def _fit(problem, lam):
    return problem.solve(lam, tol=1e-15, max_iter=2_000_000).w


@pytest.mark.parametrize("alpha, l1_ratio", [(0.05, 1.0), (0.01, 0.7), (0.002, 0.5)])
def test_solution_and_intercept_match_scikit_learn(diabetes, alpha, l1_ratio):
    X, y, X_val, y_val = diabetes
    if l1_ratio == 1.0:
        problem, lam = ni.LassoProblem(X, y, X_val, y_val, fit_intercept=True), [alpha]
        ref = sklearn_linear.Lasso(alpha=alpha, tol=1e-14, max_iter=10**6)
    else:
        problem = ni.ElasticNetProblem(X, y, X_val, y_val, fit_intercept=True)
        lam = ni.from_sklearn(alpha, l1_ratio)
        ref = sklearn_linear.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14,
                                        max_iter=10**6)
    ref.fit(X, y)
    w = _fit(problem, lam)
    scale = np.abs(ref.coef_).max()
    # both solvers converged to 1e-14-level criteria on a problem with cond(XᵀX) ~ 1e2-1e3
    assert np.abs(w - ref.coef_).max() <= 1e-6 * scale
    assert abs(problem.intercept(w) - ref.intercept_) <= 1e-6 * abs(ref.intercept_)
    assert np.array_equal(w != 0, ref.coef_ != 0)


def test_validation_loss_is_the_models_with_its_intercept(diabetes):
    X, y, X_val, y_val = diabetes
    problem = ni.ElasticNetProblem(X, y, X_val, y_val, fit_intercept=True)
    w = _fit(problem, ni.from_sklearn(0.01, 0.7))
    b0 = problem.intercept(w)
    by_hand = 0.5 * np.mean((X_val @ w + b0 - y_val) ** 2)
    assert problem.outer.value(w) == pytest.approx(by_hand, rel=1e-12)  # float64 round-off
    plain = ni.ElasticNetProblem(X, y, X_val, y_val)  # without: a ~10x larger loss here
    w0 = _fit(plain, ni.from_sklearn(0.01, 0.7))
    assert plain.intercept(w0) == 0.0
    assert plain.outer.value(w0) > 5 * problem.outer.value(w)


def test_hypergradient_with_an_intercept_equals_central_differences(diabetes):
    X, y, X_val, y_val = diabetes
    problem = ni.LassoProblem(X, y, X_val, y_val, fit_intercept=True)
    lam1, h = 0.05, 1e-4
    ws = [_fit(problem, [lam1 + d]) for d in (-h, 0.0, h)]
    # certified: one support and sign pattern on [λ1 - h, λ1 + h]: E(w(λ1)) is quadratic there
    assert all(np.array_equal(np.sign(w), np.sign(ws[1])) for w in ws)
    fd = (problem.outer.value(ws[2]) - problem.outer.value(ws[0])) / (2 * h)
    g = problem.hypergradient([lam1], method="exact", tol=1e-14, inner_iters=2_000_000).value[0]
    assert abs(g - fd) <= 1e-6 * abs(g)  # round-off of E (~1e-16·E/h ~ 1e-9 relative) + solves


def test_fit_intercept_refuses_sparse_designs_and_non_booleans(diabetes):
    import scipy.sparse as sp

    X, y, X_val, y_val = diabetes
    with pytest.raises(ValueError, match="dense X"):
        ni.ElasticNetProblem(sp.csr_matrix(X), y, X_val, y_val, fit_intercept=True)
    with pytest.raises(TypeError, match="fit_intercept"):
        ni.ElasticNetProblem(X, y, X_val, y_val, fit_intercept="yes")
