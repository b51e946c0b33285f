"""Benchmark: tuning by hypergradients against scikit-learn's grid-search CV estimators.

    python validation/bench_tuning.py [--quick] [--json FILE]

For each dataset (scikit-learn's diabetes; seeded synthetic sparse regressions 2,000 × 500 and,
without ``--quick``, 10,000 × 2,000), 25% of the rows are held out for test and the rest is
split by ``KFold(5)`` (no shuffle) for both sides. Rows, per problem:

* ``LassoCV`` (100 α on scikit-learn's path) / ``ElasticNetCV`` (100 α × 10 l1 ratios): its
  wall time, and the best mean CV loss of its grid (``mse_path_``, halved to match
  ``E = ‖r‖²/(2n)``);
* ``tune`` (L-BFGS-B on log λ, exact hypergradients, from 0.1 λ1_max) on the same folds: the
  time at which its CV loss first comes within 1% of the grid's best, its total time, and the
  final CV loss;
* ``WeightedLassoHO``-style tuning (one weight per feature, from the elastic net's tuned λ1):
  its CV loss;
* the held-out test MSE of each final model (refit on all non-test rows).

Times are wall clock, one run (the CV estimators are deterministic). Nothing is asserted.
"""

import argparse
import json
import time
import warnings

import numpy as np


def datasets(quick):
    from sklearn.datasets import load_diabetes

    import ns_implicit as ni

    X, y = load_diabetes(return_X_y=True)
    out = [("diabetes 442×10", X, y)]
    sizes = [(2000, 500)] + ([] if quick else [(10_000, 2_000)])
    for n, p in sizes:
        d = ni.make_sparse_regression(n_samples=int(n / 0.2), n_features=p, seed=0)
        out.append((f"synthetic {n}×{p}", d.X, d.y))
    return out


def standardise(X_train, X_test):
    mu, sd = X_train.mean(axis=0), X_train.std(axis=0)
    sd[sd == 0] = 1.0
    return (X_train - mu) / sd, (X_test - mu) / sd


def time_to(history, target, start_offset=0.0):
    for h in history:
        if h["value"] <= target:
            return h["seconds"] + start_offset
    return float("nan")


def versus_grid(name, problem, grid, bundle, X_tr, y_tr, test_mse):
    """One row: the grid-search CV estimator ``grid`` (fitted here, timed) against ``tune`` on
    the same ``KFold(5)`` folds of ``bundle``; returns the row and the tuned λ."""
    from ns_implicit.tuning import cross_validation_problems, tune

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(X_tr, y_tr)
    t_grid = time.perf_counter() - t
    mse = grid.mse_path_
    grid_best = float(mse.mean(axis=-1).min()) / 2  # scikit-learn's MSE is 2 E
    t = time.perf_counter()
    folds = cross_validation_problems(lambda *a: bundle(*a, fit_intercept=True), X_tr, y_tr, 5)
    setup = time.perf_counter() - t
    res = tune(None, folds=folds)
    full = bundle(X_tr, y_tr, X_tr, y_tr, fit_intercept=True)
    w = full.solve(res.lam, tol=1e-10, max_iter=1_000_000).w
    return {"dataset": name, "problem": problem,
            "grid_seconds": t_grid, "grid_best_cv": grid_best,
            "grid_test_mse": test_mse(grid.coef_, grid.intercept_),
            "tune_seconds_to_1pct": time_to(res.history, 1.01 * grid_best, setup),
            "tune_seconds": res.seconds + setup, "tune_cv": res.value,
            "tune_test_mse": test_mse(w, full.intercept(w)), "tune_lam": res.lam.tolist()}


def run_dataset(name, X, y):
    from sklearn.linear_model import ElasticNetCV, LassoCV
    from sklearn.model_selection import KFold

    import ns_implicit as ni
    from ns_implicit.tuning import cross_validation_problems, tune

    n_test = X.shape[0] // 4
    X_tr, X_te = standardise(X[n_test:], X[:n_test])
    y_tr, y_te = y[n_test:], y[:n_test]
    kf = KFold(5)
    test_mse = lambda coef, b: float(np.mean((X_te @ coef + b - y_te) ** 2))  # noqa: E731
    lasso = versus_grid(name, "lasso", LassoCV(alphas=100, cv=kf, tol=1e-8, max_iter=100_000),
                        ni.LassoProblem, X_tr, y_tr, test_mse)
    ratios = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    enet_cv = ElasticNetCV(l1_ratio=ratios, alphas=100, cv=kf, tol=1e-8, max_iter=100_000)
    enet = versus_grid(name, "elastic-net", enet_cv, ni.ElasticNetProblem, X_tr, y_tr, test_mse)

    # -- weighted lasso, from the lasso's tuned λ, against the elastic-net grid ------------
    t = time.perf_counter()
    folds = cross_validation_problems(
        lambda *a: ni.WeightedLassoProblem(*a, fit_intercept=True), X_tr, y_tr, 5)
    res = tune(None, np.full(X_tr.shape[1], lasso["tune_lam"][0]), folds=folds, max_outer=200)
    full = ni.WeightedLassoProblem(X_tr, y_tr, X_tr, y_tr, fit_intercept=True)
    w = full.solve(res.lam, tol=1e-10, max_iter=1_000_000).w
    weighted = {"dataset": name, "problem": "weighted-lasso",
                "grid_seconds": float("nan"), "grid_best_cv": enet["grid_best_cv"],
                "grid_test_mse": enet["grid_test_mse"], "tune_seconds_to_1pct": float("nan"),
                "tune_seconds": time.perf_counter() - t, "tune_cv": res.value,
                "tune_test_mse": test_mse(w, full.intercept(w)), "tune_lam": None}
    return [lasso, enet, weighted]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 10,000 × 2,000 set")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    rows = []
    for name, X, y in datasets(args.quick):
        rows += run_dataset(name, X, y)
    print("| dataset | problem | grid: seconds | grid: best CV loss | tune: seconds to 1% "
          "| tune: seconds | tune: CV loss | test MSE grid (EN grid for weighted) | test MSE tune |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dataset']} | {r['problem']} | {r['grid_seconds']:.2f} | "
              f"{r['grid_best_cv']:.6g} | {r['tune_seconds_to_1pct']:.2f} | "
              f"{r['tune_seconds']:.2f} | {r['tune_cv']:.6g} | {r['grid_test_mse']:.6g} | "
              f"{r['tune_test_mse']:.6g} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
