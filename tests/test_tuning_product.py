"""The tuning product around :func:`ns_implicit.tuning.tune`: the grid and random-search
baselines, the inner budget that stops the outer loop by name, the progress bar (stderr only),
the FISTA seed, ``ns-implicit tune --baseline/--plot``, and the sparse logistic classifier."""

import json

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.tuning import InnerSolveError, grid_search, random_search, tune

datasets = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def diabetes():
    X, y = datasets.load_diabetes(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


@pytest.fixture
def lasso(diabetes):
    X, y = diabetes
    return ni.LassoProblem(X[:300], y[:300], X[300:], y[300:], fit_intercept=True)


def test_grid_search_is_the_best_of_its_points(lasso):
    lams = np.geomspace(1.0, 1e-2, 8)[:, None] * lasso.lam1_max
    res = grid_search(lasso, lams=lams)
    direct = [lasso.outer_value(lam, tol=1e-13) for lam in lams]
    assert res.converged and res.n_outer == len(res.history) == 8
    # warm-started solves at tol 1e-10 against cold ones at 1e-13: E differs by ~tol·‖∇E‖‖w‖
    np.testing.assert_allclose([h["value"] for h in res.history], direct, rtol=1e-8)
    assert res.lam[0] == lams[int(np.argmin(direct)), 0]
    with pytest.raises(ValueError, match=r"lams must be a \(k, 1\) array"):
        grid_search(lasso, lams=[[1.0, 2.0]])


def test_random_search_is_seeded_and_stays_in_the_box(lasso):
    a, b = (random_search(lasso, n_evaluations=6, seed=s) for s in (1, 1))
    c = random_search(lasso, n_evaluations=6, seed=2)
    assert [h["lam"] for h in a.history] == [h["lam"] for h in b.history]
    assert [h["lam"] for h in a.history] != [h["lam"] for h in c.history]
    lam = np.array([h["lam"][0] for h in a.history])
    assert a.converged and a.n_outer == 6
    assert np.all((lam >= 1e-3 * lasso.lam1_max) & (lam <= lasso.lam1_max))
    assert a.value == min(h["value"] for h in a.history)


def test_elastic_net_grid_is_scikit_learns_alpha_by_ratio(diabetes):
    X, y = diabetes
    enet = ni.ElasticNetProblem(X[:300], y[:300], X[300:], y[300:], fit_intercept=True)
    from ns_implicit.tuning import default_grid
    grid = default_grid([enet], n_lam1=5, l1_ratios=(0.5, 1.0))
    alpha, ratio = grid.sum(axis=1), grid[:, 0] / grid.sum(axis=1)
    np.testing.assert_allclose(ratio, np.repeat([0.5, 1.0], 5), rtol=1e-15)
    np.testing.assert_allclose(alpha[[0, 5]], enet.lam1_max / np.array([0.5, 1.0]), rtol=1e-15)


def test_an_inner_budget_stops_the_outer_loop_by_name(lasso):
    with pytest.raises(InnerSolveError, match="within inner_iters=20"):
        tune(lasso, optimizer="gd", inner_iters=20)  # the very first solve: no λ to return
    res = tune(lasso, optimizer="gd", inner_iters=50)  # the first solve fits, the second not
    assert not res.converged and "inner_iters=50" in res.message and res.n_outer == 1
    # the best λ re-evaluated at the final tolerance (warm-started, it fits in the budget)
    assert res.value == pytest.approx(lasso.outer_value(res.lam), rel=1e-8)


def test_an_undefined_hypergradient_later_stops_the_loop_too(lasso, monkeypatch):
    import importlib

    from ns_implicit.errors import NotContractiveError
    from ns_implicit.tuning import objective
    tune_module = importlib.import_module("ns_implicit.tuning.tune")  # the module, not tune()

    class SingularAtTheSecond(objective.Objective):  # as a singular restricted system would
        def __call__(self, lam, final=False, quiet=True):
            if self.evaluations == 1 and not final:
                raise NotContractiveError("the restricted system is singular")
            return super().__call__(lam, final, quiet)

    monkeypatch.setattr(tune_module, "Objective", SingularAtTheSecond)
    res = tune(lasso, optimizer="gd")
    assert not res.converged and res.n_outer == 1 and "singular" in res.message


def test_the_fista_seed_changes_nothing_but_the_work(diabetes):
    X, y = diabetes
    signs = np.where(y > 140, 1.0, -1.0)
    logreg = ni.SparseLogisticProblem(X[:300], signs[:300], X[300:], signs[300:],
                                      fit_intercept=True)
    plain = tune(logreg, optimizer="gd", max_outer=4)
    fast = tune(logreg, optimizer="gd", max_outer=4, accelerate=True)
    # both inner solves are certified by the same fixed-point stopping rule (tol 1e-10 at the
    # end, 1e-6·0.5^k before): the losses agree to that tolerance's effect on E
    np.testing.assert_allclose([h["value"] for h in fast.history],
                               [h["value"] for h in plain.history], rtol=1e-5)


def test_progress_bar_goes_to_stderr_only_and_only_when_asked(lasso, capsys, monkeypatch):
    pytest.importorskip("tqdm")
    tune(lasso, optimizer="gd", max_outer=3)  # stderr is not a terminal here: no bar
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    tune(lasso, optimizer="gd", max_outer=3, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "tune:" in err and "/3 " in err  # tqdm throttles redraws
    with pytest.raises(ValueError, match="progress must be None"):
        tune(lasso, progress="yes")
    import ns_implicit.tuning.progress as progress
    monkeypatch.setattr(progress, "_tqdm", lambda: None)
    with pytest.raises(ValueError, match="pip install tqdm"):
        tune(lasso, progress=True)


def test_cli_baselines_plot_and_json(diabetes, tmp_path, capsys):
    from ns_implicit.cli import main

    X, y = diabetes
    data, png = tmp_path / "d.npz", tmp_path / "loss.png"
    np.savez(data, X=X[:300], y=y[:300], X_val=X[300:], y_val=y[300:])
    import importlib.util

    bar = "--progress" if importlib.util.find_spec("tqdm") else "--no-progress"  # optional extra
    argv = ["tune", "--problem", "lasso", "--data", str(data), "--fit-intercept", "--json",
            "--optimizer", "gd", "--baseline", "random", "--baseline", "grid",
            "--grid-points", "12", "--plot", str(png), bar]
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)  # any bar went to stderr: stdout is one JSON object
    assert list(out["baselines"]) == ["random", "grid"]
    assert out["baselines"]["grid"]["n_outer"] == 12
    # hypergradient descent is not worse than 12 grid points (it lands within 0.1% of a fine
    # grid's best, tests/test_tuning.py)
    assert out["validation_loss"] <= out["baselines"]["grid"]["validation_loss"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv[:-3] + ["--inner-iters", "20"]) == 1
    err = capsys.readouterr().err
    assert "within inner_iters=20" in err and "Traceback" not in err
    assert main(argv[:5] + ["--plot", str(tmp_path / "loss.txt")]) == 2
    assert "must end in .png" in capsys.readouterr().err


def test_sparse_logistic_classifier_fits_predicts_and_scores():
    from ns_implicit.tuning.estimators import SparseLogisticRegressionHO

    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    labels = np.array(["benign", "malignant"])[1 - y]
    est = SparseLogisticRegressionHO(cv=3).fit(X[::3], labels[::3])
    assert est.classes_.tolist() == ["benign", "malignant"]
    assert set(est.predict(X)) <= set(est.classes_)
    assert est.score(X, labels) > 0.9  # a linear classifier on breast cancer (~0.95)
    assert est.converged_ and est.n_iter_ == len(est.history_) and est.alpha_ > 0
    # the same computation as a plain tune on scikit-learn's StratifiedKFold(3) folds
    from sklearn.model_selection import StratifiedKFold
    Xs, ys = X[::3], np.where(labels[::3] == "malignant", 1.0, -1.0)
    folds = [ni.SparseLogisticProblem(Xs[tr], ys[tr], Xs[va], ys[va], lam2=1e-4,
                                      fit_intercept=True)
             for tr, va in StratifiedKFold(3).split(Xs, ys)]
    lam0 = [0.1 * np.mean([f.lam1_max for f in folds])]
    plain = tune(None, lam0, folds=folds, tol=1e-8, inner_iters=10_000, accelerate=True)
    assert est.alpha_ == plain.lam[0] and est.n_iter_ == plain.n_outer
    proba = est.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        est.fit(X[:30], np.arange(30) % 3)
