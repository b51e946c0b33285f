"""Cross-validation folds share their Gram matrices (docs/theory.md §16.5): a precomputed
``gram=`` is checked against the design by a random probe, centred for an intercept (or formed
again when centring would cancel), and the shared fold Gram matrices give the folds the same
``H`` (to round-off) and the same cross-validated hypergradient as folds that form their own."""

import numpy as np
import pytest
import scipy.sparse as sp

import ns_implicit as ni
from conftest import shifted_regression
from ns_implicit.steps.least_squares import LeastSquaresStep, checked_gram
from ns_implicit.tuning import cross_validation_problems, tune
from ns_implicit.tuning.folds import rotated_training_rows
from ns_implicit.tuning.objective import CrossValidatedObjective, Objective, kfold


def _data(n=90, p=7, seed=0, offset=0.0):
    return shifted_regression(n, p, seed, offset)


def _round_off(X):
    """Entrywise bound of two float64 Gram computations of ``X``: ``2 γ_n ‖X‖_F² / n``."""
    n = X.shape[0]
    eps = np.finfo(np.float64).eps
    return 2 * n * eps / (1 - n * eps) * float(np.sum(X * X)) / n


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
def test_the_true_gram_is_accepted_and_kept(dtype, sparse):
    X, y = _data()
    X = X.astype(dtype)
    H = X.astype(np.float64).T @ X.astype(np.float64) / X.shape[0]
    design = sp.csr_matrix(X) if sparse else X
    step = LeastSquaresStep(design, y.astype(dtype), gram=H)
    assert step.H.dtype == dtype
    np.testing.assert_array_equal(step.H, step.H.T)
    np.testing.assert_allclose(step.H, H.astype(dtype), rtol=0, atol=4 * np.finfo(dtype).eps
                               * np.abs(H).max())


def test_a_gram_of_other_rows_is_refused_by_name():
    X, y = _data()
    other = X[10:].T @ X[10:] / (X.shape[0] - 10)          # another fold's rows
    with pytest.raises(ValueError, match="gram is not X\\^T X / n of this X"):
        LeastSquaresStep(X, y, gram=other)
    uncentred = X.T @ X / X.shape[0]                       # right rows, centring forgotten
    Xc = X - X.mean(axis=0)
    with pytest.raises(ValueError, match="gram is not"):
        checked_gram(Xc + 0.0, uncentred + np.outer(np.ones(7), np.ones(7)), X.shape[0])
    with pytest.raises(ValueError, match=r"gram must be .*\(7, 7\)"):
        LeastSquaresStep(X, y, gram=np.eye(6))
    bad = X.T @ X / X.shape[0]
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="gram must be a finite"):
        LeastSquaresStep(X, y, gram=bad)


def test_a_perturbation_above_round_off_is_refused():
    """The probe's threshold is the round-off bound: a symmetric perturbation of 1e-9 relative
    (far above float64 products of 90 rows, ~2e-14) is caught."""
    X, y = _data()
    H = X.T @ X / X.shape[0]
    E = np.zeros_like(H)
    E[1, 2] = E[2, 1] = 1e-9 * np.abs(H).max()
    checked_gram(X, H, X.shape[0])
    with pytest.raises(ValueError, match="gram is not"):
        checked_gram(X, H + E, X.shape[0])


def _lasso(*split, gram="auto", fit_intercept=True):
    return ni.LassoProblem(*split, fit_intercept=fit_intercept, gram=gram)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_shared_fold_grams_equal_the_folds_own(fit_intercept):
    X, y = _data(n=120, p=9, seed=1, offset=0.3)
    shared = cross_validation_problems(
        lambda *a, gram="auto": _lasso(*a, gram=gram, fit_intercept=fit_intercept), X, y, 4)
    own = cross_validation_problems(lambda *a: _lasso(*a, fit_intercept=fit_intercept), X, y, 4)
    for (train, _), a, b in zip(kfold(X.shape[0], 4), shared, own):
        assert a.map.T.H is not b.map.T.H
        # each side within two bounds of its fold's raw rows (the block sums, or the product of
        # the centred rows), the centring x̄x̄ᵀ (‖x̄‖² <= trace) adding at most as much again
        np.testing.assert_allclose(a.map.T.H, b.map.T.H, rtol=0, atol=4 * _round_off(X[train]))
    lam = np.array([0.05 * np.mean([f.lam1_max for f in own])])
    g = [CrossValidatedObjective([Objective(f, "exact", tol=1e-12) for f in folds])(lam)
         for folds in (shared, own)]
    # both solved to a relative step of 1e-12 on H that differ by round-off (~1e-15): the loss
    # agrees to 1e-10 and the hypergradient (through a restricted solve) to 1e-8, with margin
    assert abs(g[0][0] - g[1][0]) <= 1e-10 * abs(g[1][0])
    np.testing.assert_allclose(g[0][1], g[1][1], rtol=1e-8)


def test_centring_that_would_cancel_forms_the_gram_again():
    """Features with a mean 1e4 times their spread: ``XᵀX/n - x̄x̄ᵀ`` would keep ~8 fewer
    digits, so the bundle forms ``H`` from its centred rows, identical to the unshared fold's."""
    X, y = _data(n=120, p=6, seed=2, offset=1e4)
    shared = cross_validation_problems(lambda *a, gram="auto": _lasso(*a, gram=gram), X, y, 3)
    splits = kfold(X.shape[0], 3)
    # the shared folds' training rows come in the rotated block order: the same rows, formed
    # in that order, give the same bits
    own = [_lasso(X_tr, y_tr, X[va], y[va])
           for (X_tr, y_tr), (_, va) in zip(rotated_training_rows(X, y, splits), splits)]
    for a, b in zip(shared, own):
        np.testing.assert_array_equal(a.map.T.H, b.map.T.H)


def test_folds_share_only_when_the_factory_takes_gram_and_the_design_is_tall():
    calls = []

    def factory(*a, gram="auto"):
        calls.append(gram)
        return _lasso(*a, gram=gram)

    X, y = _data(n=120, p=5, seed=3)
    cross_validation_problems(factory, X, y, 3)
    assert len(calls) == 3 and all(isinstance(g, np.ndarray) and g.shape == (5, 5) for g in calls)
    calls.clear()
    X, y = _data(n=40, p=16, seed=3)   # 2p > n_train = 30: the folds decide for themselves
    cross_validation_problems(factory, X, y, 4)
    assert calls == ["auto"] * 4
    calls.clear()
    def sparse_factory(*a, gram="auto"):
        calls.append(gram)
        return _lasso(*a, gram=gram, fit_intercept=False)

    cross_validation_problems(sparse_factory, sp.csr_matrix(_data()[0]), _data()[1], 3)
    assert calls == ["auto"] * 3
    assert all(f.map.T.H is not None  # a class with a gram parameter shares too
               for f in cross_validation_problems(ni.LassoProblem, *_data(n=120, p=5), 3))


def test_tuning_on_shared_folds_reaches_the_same_lambda():
    X, y = _data(n=150, p=8, seed=4)
    runs = [tune(None, folds=cross_validation_problems(make, X, y, 5), progress=False)
            for make in (lambda *a, gram="auto": _lasso(*a, gram=gram), lambda *a: _lasso(*a))]
    # the same path of L-BFGS-B steps; the loss is only resolved to tune's rtol = 1e-6
    np.testing.assert_allclose(runs[0].lam, runs[1].lam, rtol=1e-6)
    assert runs[0].n_outer == runs[1].n_outer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided", "sparse"])
def test_gram_matrix_is_exactly_symmetric_and_equals_the_product(dtype, layout):
    """``gram_matrix`` (BLAS syrk: one triangle, mirrored) against numpy's general product,
    within the round-off bound of two Gram computations."""
    from ns_implicit.steps.least_squares import gram_matrix

    X = np.random.default_rng(5).standard_normal((80, 12)).astype(dtype)
    ref = X.astype(np.float64).T @ X.astype(np.float64)
    design = {"C": X, "F": np.asfortranarray(X), "strided": np.repeat(X, 2, axis=1)[:, ::2],
              "sparse": sp.csc_matrix(X)}[layout]
    G = gram_matrix(design)
    assert G.shape == (12, 12) and G.dtype == dtype
    np.testing.assert_array_equal(G, G.T)
    eps = np.finfo(dtype).eps
    bound = 2 * 80 * eps / (1 - 80 * eps) * float(np.sum(X.astype(np.float64) ** 2))
    assert np.abs(G - ref).max() <= bound
