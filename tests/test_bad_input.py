"""Bad input gets a clear error naming the argument (issue: core)."""

import warnings

import numpy as np
import pytest

import ns_implicit as ni
from conftest import make_problem


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((30, 5)), rng.standard_normal(30)


def test_shape_mismatch(data):
    X, y = data
    with pytest.raises(ValueError, match="y must have one entry per row of X"):
        ni.ElasticNetMap(X, y[:-1])
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        ni.ElasticNetMap(y, y)
    with pytest.raises(ValueError, match="X_val must have the same number of columns"):
        ni.ElasticNetProblem(X, y, X[:, :3], y)
    phi = ni.ElasticNetMap(X, y).at([0.1, 0.1])
    with pytest.raises(ValueError, match="w must have length p = 5"):
        ni.aid_fp(phi, np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="u must have length 5"):
        ni.aid_cg(phi, np.zeros(5), np.zeros(3))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite(data, bad):
    X, y = data
    Xb = X.copy()
    Xb[3, 2] = bad
    with pytest.raises(ValueError, match="X contains NaN or infinite"):
        ni.ElasticNetMap(Xb, y)
    yb = y.copy()
    yb[0] = bad
    with pytest.raises(ValueError, match="y contains NaN or infinite"):
        ni.ElasticNetMap(X, yb)
    with pytest.raises(ValueError, match="lam1 must be finite"):
        ni.ElasticNetMap(X, y).at([bad, 0.1])


def test_wrong_dtype(data):
    X, y = data
    with pytest.raises(TypeError, match="X must have dtype float32 or float64"):
        ni.ElasticNetMap(X.astype(np.complex128), y)


@pytest.mark.parametrize("lam,name", [([-0.1, 0.1], "lam1"), ([0.1, -1e-9], "lam2")])
def test_negative_regularisation(data, lam, name):
    with pytest.raises(ValueError, match=f"{name} must be >= 0"):
        ni.ElasticNetMap(*data).at(lam)


@pytest.mark.parametrize("lam", [["a", 0.1], [[0.1, 0.2], 0.1]])
def test_non_numeric_hyperparameters(data, lam):
    with pytest.raises(TypeError, match=r"lam must be 2 numbers \(lam1, lam2\)"):
        ni.ElasticNetMap(*data).at(lam)


def test_wrong_number_of_hyperparameters(data):
    with pytest.raises(ValueError, match="lam must be a 1-D array of length 2"):
        ni.ElasticNetMap(*data).at([0.1])


def test_non_contractive_step(data):
    emap = ni.ElasticNetMap(*data, step=100.0)
    with pytest.raises(ni.NotContractiveError, match="q = .* >= 1"):
        emap.at([0.1, 0.1])
    with pytest.raises(ValueError, match="step must be 'paper', 'lipschitz' or a positive float"):
        ni.ElasticNetMap(*data, step="large")
    with pytest.raises(ValueError, match="step must be finite and > 0"):
        ni.ElasticNetMap(*data, step=-1.0)


@pytest.mark.parametrize("step", ["paper", 0.1])
def test_zero_design_without_ridge(step):
    # X = 0, lam2 = 0: L + mu + 2 lam2 = 0 (the paper's step and the fixed step's bound 2/(L + lam2)
    # divided by zero); with lam2 > 0 the map is a contraction (q = |1 - step lam2| < 1 here).
    X, y = np.zeros((10, 3)), np.ones(10)
    with pytest.raises(ni.NotContractiveError, match="X is identically zero"):
        ni.ElasticNetMap(X, y, step=step).at([0.1, 0.0])
    assert ni.ElasticNetMap(X, y, step=step).at([0.1, 0.1]).q < 1


def test_synthetic_effective_rank():
    with pytest.raises(ValueError, match="effective_rank must be >= 1"):
        ni.make_sparse_regression(correlated=True, effective_rank=0)


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        make_problem().hypergradient([0.01, 0.01], method="backprop")


def test_budgets(data):
    problem = make_problem()
    with pytest.raises(ValueError, match="max_iter must be >= 0"):
        problem.solve([0.01, 0.01], max_iter=-1)
    with pytest.raises(ValueError, match="tol must be finite and >= 0"):
        problem.solve([0.01, 0.01], tol=np.nan)
    with pytest.warns(ni.EarlyStopWarning, match="raise inner_iters"):
        problem.hypergradient([0.01, 0.01], inner_iters=2)


@pytest.mark.parametrize("method", ["itd", "itd-forward"])
def test_itd_budget_warns_once_naming_inner_iters(method):
    # ITD's only budget is inner_iters (the unrolled steps); linsys_iters does not apply.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ni.EarlyStopWarning)
        make_problem().hypergradient([0.01, 0.01], method=method, inner_iters=2)
    messages = [str(w.message) for w in caught if issubclass(w.category, ni.EarlyStopWarning)]
    assert len(messages) == 1 and "raise inner_iters" in messages[0], messages


def test_itd_refuses_a_warm_start():
    with pytest.raises(ValueError, match="w0 must be None for ITD"):
        make_problem().hypergradient([0.01, 0.01], method="itd", w0=np.zeros(20))


def test_history_only_where_there_are_iterates():
    with pytest.raises(ValueError, match="history is recorded by aid-cg, aid-fp, itd-forward only"):
        make_problem().hypergradient([0.01, 0.01], method="exact", history=True)


@pytest.mark.parametrize("alpha,l1_ratio,match", [(-1.0, 0.5, "alpha must be"),
                                                  (1.0, 1.5, "l1_ratio must lie")])
def test_sklearn_conversion_checks(alpha, l1_ratio, match):
    with pytest.raises(ValueError, match=match):
        ni.from_sklearn(alpha, l1_ratio)
    lam = ni.from_sklearn(0.3, 0.25)
    assert ni.to_sklearn(lam) == pytest.approx((0.3, 0.25))


def test_to_sklearn_refuses_an_alpha_that_overflows():
    """Found by the fuzzer: (8.99e307, 8.99e307) gave alpha = inf (and l1_ratio = 0)."""
    with pytest.raises(ValueError, match="overflows float64"):
        ni.to_sklearn([8.988465674311579e307, 8.98846567431158e307])
