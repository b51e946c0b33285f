"""Hyperparameter tuning by hypergradients (ns_implicit.tuning): every optimiser reaches the
best validation loss a fine grid finds, k-fold cross-validation is the mean of its folds (and
its gradient the derivative of that mean), budgets and flat regions stop honestly."""

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.tuning import (OPTIMIZERS, CrossValidatedObjective, Objective,
                                cross_validation_problems, kfold, tune)

datasets = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def diabetes():
    X, y = datasets.load_diabetes(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y


@pytest.fixture(scope="module")
def lasso(diabetes):
    X, y = diabetes
    return ni.LassoProblem(X[:300], y[:300], X[300:], y[300:], fit_intercept=True)


@pytest.fixture(scope="module")
def grid_best(lasso):
    """The best validation loss over 200 log-spaced λ1 in [1e-3, 1] λ1_max, warm-started
    along the path from the largest (each solve to tol 1e-13)."""
    best, w = np.inf, None
    for g in np.geomspace(1.0, 1e-3, 200) * lasso.lam1_max:
        w = lasso.solve([g], w0=w, tol=1e-13, max_iter=200_000).w
        best = min(best, lasso.outer.value(w))
    return best


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_reaches_the_grids_best_loss(lasso, grid_best, optimizer):
    best = grid_best
    res = tune(lasso, optimizer=optimizer)
    assert res.converged, res.message
    # within 0.1% of the grid's best (the issue asks for 1%); the loss is not convex in λ1,
    # and this grid's best lies in another basin 0.05% lower than the one reached here
    assert res.value <= best * (1 + 1e-3)
    assert res.n_outer == len(res.history)
    assert res.value <= min(h["value"] for h in res.history) * (1 + 1e-6)  # schedule's tol 1e-6
    assert res.value == pytest.approx(lasso.outer_value(res.lam), rel=1e-8)  # tol 1e-10 solves


def test_elastic_net_two_hyperparameters(diabetes):
    X, y = diabetes
    enet = ni.ElasticNetProblem(X[:300], y[:300], X[300:], y[300:], fit_intercept=True)
    best = np.inf
    for b in np.geomspace(1e-3, 10.0, 12):
        w = None
        for a in np.geomspace(1.0, 1e-3, 40) * enet.lam1_max:  # warm-started path in λ1
            w = enet.solve([a, b], w0=w, tol=1e-13, max_iter=200_000).w
            best = min(best, enet.outer.value(w))
    res = tune(enet, optimizer="lbfgs")
    assert res.converged and res.lam.shape == (2,)
    assert res.value <= best * (1 + 1e-3)


def test_kfold_is_scikit_learns_unshuffled_kfold():
    model_selection = pytest.importorskip("sklearn.model_selection")
    for n, k in ((10, 3), (442, 5), (7, 7)):
        ours = kfold(n, k)
        theirs = list(model_selection.KFold(k).split(np.zeros(n)))
        assert all(np.array_equal(a, c) and np.array_equal(b, d)
                   for (a, b), (c, d) in zip(ours, theirs))
    with pytest.raises(ValueError, match="cv must be an integer in"):
        kfold(5, 6)


def test_cross_validation_is_the_mean_of_its_folds(diabetes):
    X, y = diabetes
    folds = cross_validation_problems(
        lambda *a: ni.LassoProblem(*a, fit_intercept=True), X, y, 4)
    objective = CrossValidatedObjective([Objective(f, tol=1e-12, tol_start=1e-12) for f in folds])
    lam = np.array([0.05 * folds[0].lam1_max])
    value, grad = objective(lam)
    assert value == pytest.approx(np.mean([f.outer_value(lam, tol=1e-13) for f in folds]),
                                  rel=1e-9)
    h = 1e-4 * lam[0]
    sols = [[f.solve(lam + d, tol=1e-14, max_iter=1_000_000).w for f in folds] for d in (-h, h)]
    mid = [f.solve(lam, tol=1e-14, max_iter=1_000_000).w for f in folds]
    # certified: every fold keeps its sign pattern on [λ - h, λ + h] (E quadratic there)
    assert all(np.array_equal(np.sign(a), np.sign(m)) for s in sols for a, m in zip(s, mid))
    fd = (np.mean([f.outer.value(w) for f, w in zip(folds, sols[1])])
          - np.mean([f.outer.value(w) for f, w in zip(folds, sols[0])])) / (2 * h)
    assert abs(grad[0] - fd) <= 1e-7 * abs(grad[0])  # round-off of E/h and of the solves
    res = tune(None, folds=folds, optimizer="lbfgs")
    assert res.converged and res.lam.shape == (1,)


def test_same_inputs_same_bits(lasso):
    a, b = tune(lasso, optimizer="adam"), tune(lasso, optimizer="adam")
    assert np.array_equal(a.lam, b.lam) and a.value == b.value and a.n_outer == b.n_outer


def test_budgets_and_flat_regions_are_not_called_converged(lasso):
    res = tune(lasso, optimizer="gd", max_outer=3)
    assert not res.converged and res.n_outer == 3 and "max_outer=3" in res.message
    flat = tune(lasso, lam0=[2.0 * lasso.lam1_max], optimizer="gd")
    assert not flat.converged and "flat" in flat.message


def test_bad_arguments_name_the_fix(lasso, diabetes):
    with pytest.raises(ValueError, match="optimizer must be one of gd, adam, lbfgs"):
        tune(lasso, optimizer="sgd")
    with pytest.raises(ValueError, match="lam0 must hold 1 positive"):
        tune(lasso, lam0=[-1.0])
    X, y = diabetes
    svm = ni.LinearSVMProblem(X[:100], np.sign(y[:100] - 140), X[100:200],
                              np.sign(y[100:200] - 140))
    with pytest.raises(ValueError, match="lam0 is needed for LinearSVMProblem"):
        tune(svm)
    with pytest.raises(ValueError, match="method must be one of exact, aid-cg, aid-fp, aid-gmres"):
        Objective(lasso, method="itd")


def test_cli_tune_is_the_api_on_the_same_arrays(diabetes, tmp_path, capsys):
    import json

    from ns_implicit.cli import main

    X, y = diabetes
    path = tmp_path / "d.npz"
    np.savez(path, X=X[:300], y=y[:300], X_val=X[300:], y_val=y[300:])
    assert main(["tune", "--problem", "lasso", "--data", str(path), "--fit-intercept",
                 "--optimizer", "gd", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    api = tune(ni.LassoProblem(X[:300], y[:300], X[300:], y[300:], fit_intercept=True),
               optimizer="gd")
    assert out["lam"] == api.lam.tolist() and out["validation_loss"] == api.value
    assert out["n_outer"] == len(out["history"]) == api.n_outer and out["converged"]
    np.savez(path, X=X, y=y)  # --cv: X and y only
    assert main(["tune", "--problem", "lasso", "--data", str(path), "--cv", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cv"] == 3
    for argv, words in ((["--problem", "lasso", "--C", "1"], "--C does not apply"),
                        (["--problem", "lasso", "--data", str(path), "--cv", "1000"],
                         "cv must be an integer in [2, n] = [2, 442]"),
                        (["--problem", "lasso", "--data", str(path)], "lacks arrays")):
        assert main(["tune", *argv]) == 2
        assert words in capsys.readouterr().err


def test_parallel_folds_give_the_same_bits(diabetes):
    pytest.importorskip("joblib")
    X, y = diabetes
    make = lambda *a: ni.LassoProblem(*a, fit_intercept=True)  # noqa: E731
    one = tune(None, folds=cross_validation_problems(make, X, y, 4), optimizer="gd")
    two = tune(None, folds=cross_validation_problems(make, X, y, 4), optimizer="gd", n_jobs=2)
    assert np.array_equal(one.lam, two.lam) and one.value == two.value
    assert [h["value"] for h in one.history] == [h["value"] for h in two.history]
    with pytest.raises(ValueError, match="n_jobs must be an integer >= 1"):
        tune(None, folds=cross_validation_problems(make, X, y, 4), n_jobs=0)
