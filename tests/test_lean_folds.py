"""The lean fold set-up (docs/theory.md §16.5, §10.1): a step centred by ``offset=`` equals the
step on the centred copy and forms no copy on the Gram path; the folds' training rows are views
of one rotated buffer; the validation loss reads a sparse ``w``'s columns only; L-BFGS-B on
``log f`` reaches the same λ as on ``f``."""

import numpy as np
import pytest
import scipy.sparse as sp

import ns_implicit as ni
from conftest import shifted_regression
from ns_implicit.bilevel.outer import ValidationMSE
from ns_implicit.steps.least_squares import LeastSquaresStep, checked_gram
from ns_implicit.tuning import cross_validation_problems, tune
from ns_implicit.tuning.folds import rotated_training_rows
from ns_implicit.tuning.objective import kfold
from ns_implicit.tuning.optimizers import lbfgs


def _data(n=120, p=9, seed=0, offset=0.5):
    return shifted_regression(n, p, seed, offset)


def _bound(X):
    """Entrywise round-off of a Gram matrix of ``X`` (float64): ``γ_n ‖X‖_F² / n``."""
    n, eps = X.shape[0], np.finfo(np.float64).eps
    return n * eps / (1 - n * eps) * float(np.sum(X * X)) / n


@pytest.mark.parametrize("gram", ["given", True, False])
def test_a_step_centred_by_offset_equals_the_step_on_the_centred_copy(gram):
    X, y = _data()
    xbar = X.mean(axis=0)
    Xc = X - xbar
    given = X.T @ X / X.shape[0]
    y = y + 3.0  # any y, centred or not: b = X_cᵀy / n
    step = LeastSquaresStep(X, y, gram=given if gram == "given" else gram, offset=xbar)
    ref = LeastSquaresStep(Xc, y, gram=Xc.T @ Xc / X.shape[0] if gram == "given" else gram)
    # b: X^T y - x̄ (1^T y) against X_c^T y, sums of n products each (|x̄||1ᵀy| <= |X|ᵀ|y|)
    np.testing.assert_allclose(step.b, ref.b, rtol=0, atol=8 * X.shape[0] * np.finfo(float).eps
                               * float(np.max(np.abs(X).T @ np.abs(y))) / X.shape[0])
    if gram is False:
        assert step.H is None and ref.H is None
    else:  # the raw product centred against the centred product: twice the raw round-off
        np.testing.assert_allclose(step.H, ref.H, rtol=0, atol=4 * _bound(X))
        np.testing.assert_array_equal(step.H, step.H.T)
    np.testing.assert_array_equal(step.X, Xc)  # the rows, formed on demand, are X - 1x̄ᵀ
    w = np.random.default_rng(1).standard_normal(X.shape[1])
    np.testing.assert_allclose(step.gradient(w), ref.gradient(w), rtol=1e-12, atol=1e-12)


def test_a_step_on_a_given_gram_forms_no_copy_of_the_design():
    """The fold path's memory: solving and differentiating on the Gram path never reads the
    centred rows, so the step keeps only the design as given (a view in the folds)."""
    X, y = _data(n=200, p=8)
    folds = cross_validation_problems(
        lambda *a, gram="auto": ni.LassoProblem(*a, fit_intercept=True, gram=gram), X, y, 4)
    tune(None, folds=folds, max_outer=5, progress=False)
    for f in folds:
        assert f.map.T.H is not None and f.map.T._centred is None
        assert f.map.T._rows.base is folds[0].map.T._rows.base  # views of one buffer
    f.map.T.X  # a path that reads the rows forms them once
    assert f.map.T._centred is not None


def test_offset_is_validated_by_name():
    X, y = _data()
    with pytest.raises(ValueError, match="offset needs a dense X"):
        LeastSquaresStep(sp.csr_matrix(X), y, offset=X.mean(axis=0))
    with pytest.raises(ValueError, match="offset must hold one entry per column of X \\(9\\)"):
        LeastSquaresStep(X, y, offset=np.zeros(8))
    with pytest.raises(ValueError, match="offset contains NaN"):
        LeastSquaresStep(X, y, offset=np.full(9, np.nan))


def test_the_offset_probe_refuses_a_gram_centred_twice_or_not_of_these_rows():
    X, y = _data(offset=2.0)
    xbar, n = X.mean(axis=0), X.shape[0]
    Xc = X - xbar
    checked_gram(X, X.T @ X / n, n, xbar)                        # the raw product: accepted
    with pytest.raises(ValueError, match="gram is not X\\^T X / n of this X"):
        checked_gram(X, Xc.T @ Xc / n, n, xbar)                  # already centred: twice
    with pytest.raises(ValueError, match="gram is not"):
        checked_gram(X, X[5:].T @ X[5:] / (n - 5), n, xbar)      # other rows
    bad = X.T @ X / n
    bad[2, 5] = np.inf                                           # off the diagonal, one side
    with pytest.raises(ValueError, match="gram must be a finite"):
        checked_gram(X, bad, n, xbar)


@pytest.mark.parametrize("cv", [2, 3, 5])
def test_rotated_training_rows_are_the_kfold_rows_as_views_of_one_buffer(cv):
    X, y = _data(n=53, p=4)
    splits = kfold(X.shape[0], cv)
    views = list(rotated_training_rows(X, y, splits))
    for (train, _), (X_tr, y_tr) in zip(splits, views):
        assert X_tr.shape == (len(train), 4) and X_tr.flags.c_contiguous
        # the same rows, in the rotated block order: equal as sets of rows, paired with y
        order = np.lexsort(X_tr.T[::-1])
        ref = np.lexsort(X[train].T[::-1])
        np.testing.assert_array_equal(X_tr[order], X[train][ref])
        np.testing.assert_array_equal(y_tr[order], y[train][ref])
        assert X_tr.base is not None and X_tr.base is views[0][0].base


def test_the_validation_loss_on_a_sparse_w_reads_its_support_and_agrees():
    rng = np.random.default_rng(2)
    X_val, y_val = rng.standard_normal((40, 30)), rng.standard_normal(40)
    loss = ValidationMSE(X_val, y_val)
    assert loss.X_val.flags.f_contiguous
    for nnz in (0, 3, 7, 8, 30):  # 7 <= 30/4 < 8: the support path, then the full product
        w = np.zeros(30)
        w[rng.choice(30, nnz, replace=False)] = rng.standard_normal(nnz)
        r = X_val @ w - y_val
        # two float64 sums of at most 30 products each
        np.testing.assert_allclose(loss.residual(w), r, rtol=0, atol=1e-13)
        np.testing.assert_allclose(loss.value(w), r @ r / 80, rtol=1e-13)
        np.testing.assert_allclose(loss.grad_w(w), X_val.T @ r / 40, rtol=0, atol=1e-13)


def test_lbfgs_on_log_f_reaches_the_minimiser_of_f():
    """A loss falling over decades, ``f = (e^θ - 1)² + 1e-3`` in ``θ = log λ``: on ``log f``
    and on ``f`` L-BFGS-B stops at the same ``θ = 0`` (to the relative decrease 1e-12), and
    ``f = 0`` stops the log-scale run where it is reached."""
    def evaluate(t):
        e = np.exp(t)
        return float((e[0] - 1.0) ** 2 + 1e-3), np.array([2.0 * (e[0] - 1.0) * e[0]])

    def stop(f_prev, f, g):
        return abs(f_prev - f) <= 1e-12 * abs(f_prev)

    for log_loss in (False, True):
        theta = lbfgs(evaluate, np.array([3.0]), stop, log_loss=log_loss)
        assert abs(theta[0]) < 1e-4
    seen = []

    def zero_at_start(t):
        seen.append(t.copy())
        return 0.0, np.array([1.0])

    theta = lbfgs(zero_at_start, np.array([0.7]), stop, log_loss=True)
    assert theta[0] == 0.7 and len(seen) == 1


def test_lbfgs_hands_scipy_log_f_and_its_gradient(monkeypatch):
    import scipy.optimize

    seen = {}

    def first_call(fun, x0, jac, **kwargs):
        seen["value"], seen["grad"] = fun(x0)
        return scipy.optimize.OptimizeResult(x=x0)

    monkeypatch.setattr(scipy.optimize, "minimize", first_call)
    evaluate = lambda t: (4.0, np.array([2.0]))  # noqa: E731
    lbfgs(evaluate, np.array([0.0]), lambda *a: False, log_loss=True)
    assert seen["value"] == np.log(4.0) and seen["grad"].tolist() == [0.5]
    lbfgs(evaluate, np.array([0.0]), lambda *a: False)
    assert seen["value"] == 4.0 and seen["grad"].tolist() == [2.0]


def test_tune_uses_log_f_only_for_one_hyperparameter_and_a_squared_error(monkeypatch):
    import importlib

    tune_module = importlib.import_module("ns_implicit.tuning.tune")
    used = []
    real = tune_module.lbfgs

    def spy(*args, **kwargs):
        used.append(kwargs.get("log_loss", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(tune_module, "lbfgs", spy)
    X, y = _data(n=150, p=6)
    problem = ni.LassoProblem(X[:100], y[:100], X[100:], y[100:])
    tune(problem, max_outer=4, progress=False)

    class Signed:  # an outer loss that may be negative: no `squared_error` flag
        def __init__(self, outer):
            self.outer, self.n_hyper = outer, outer.n_hyper

        def value(self, w, lam=None):
            return self.outer.value(w, lam) - 1e6

        def grad_w(self, w, lam=None):
            return self.outer.grad_w(w, lam)

        def grad_lam(self, w, lam=None):
            return self.outer.grad_lam(w, lam)

    problem.outer = Signed(problem.outer)
    tune(problem, max_outer=4, progress=False)
    # two hyperparameters: on f (log f overshot on the elastic net, docs/theory.md §10.1)
    tune(ni.ElasticNetProblem(X[:100], y[:100], X[100:], y[100:]), max_outer=4, progress=False)
    # one λ and a log-loss: on f (log f overshot on MNIST 4 vs 9, docs/theory.md §10.1)
    labels = np.where(y > np.median(y), 1.0, -1.0)
    logistic = ni.SparseLogisticProblem(X[:100], labels[:100], X[100:], labels[100:], lam2=1e-2)
    assert logistic.map.n_hyper == 1
    tune(logistic, max_outer=3, progress=False)
    assert used == [True, False, False, False]
