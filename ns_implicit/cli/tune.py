"""``ns-implicit tune``: tune a problem's hyperparameters by hypergradients (ns_implicit.tuning).

``--data FILE.npz`` holds ``X, y, X_val, y_val`` (the validation split is the criterion) or,
with ``--cv K``, ``X, y`` only (``KFold(K)`` without shuffling, scikit-learn's default; extra
arrays are ignored). Without ``--data``: the embedded synthetic data. The starting point is
the problem's flags (``--lam1``, ``--lam2``, ``--C``; see ``hypergrad``) when given, else
``0.1 λ1_max`` in every entry (``--C 0.01`` for the SVM).

Contract: with ``--json`` stdout is one JSON object with ``lam`` (in the problem's order),
``validation_loss``, ``n_outer``, ``seconds``, ``converged``, ``message``, ``optimizer``,
``problem``, ``cv`` and ``history`` (``[{"seconds", "lam", "value"}]``); with ``--baseline
grid`` / ``--baseline random`` (repeatable) also ``baselines``: ``{name: {lam,
validation_loss, n_outer, seconds, converged, message, history}}`` (random search gets the
tuning run's wall time as its budget, seed ``--seed``). ``--plot FILE.png`` draws the
validation loss against time of every run (:mod:`ns_implicit.tuning.plot`). The progress bar
(tqdm, when installed) appears only on a terminal's stderr, never on stdout. An inner solve that
cannot converge within ``--inner-iters`` at the start is reported on stderr with exit status 1;
later, it stops the loop (``converged`` false, ``message`` names the budget).
"""

import sys

import json

import numpy as np

from ns_implicit.cli.hypergrad import read_npz
from ns_implicit.cli.problems import DEFAULTS, PROBLEMS, REGRESSION, build, default_arrays

NAME = "tune"
HELP = "Tune a problem's hyperparameters by hypergradient descent (validation split or k-fold CV)."
TUNABLE = tuple(k for k, v in PROBLEMS.items() if v.keys == REGRESSION)
#: the least-squares bundles, whose folds take a shared Gram matrix (ns_implicit.tuning.folds)
GRAM_PROBLEMS = ("lasso", "elastic-net", "weighted-lasso", "nonneg-lasso")


def add_arguments(p):
    from ns_implicit.tuning.optimizers import OPTIMIZERS
    p.add_argument("--problem", choices=TUNABLE, default="elastic-net",
                   help="inner problem (default elastic-net)")
    p.add_argument("--data", metavar="FILE.npz",
                   help="X, y, X_val, y_val (or X, y with --cv); default: embedded synthetic data")
    p.add_argument("--cv", type=int, default=None, metavar="K",
                   help="K-fold cross-validation on X, y instead of the validation split")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs",
                   help="outer optimiser on log lam (default lbfgs)")
    p.add_argument("--method", choices=("exact", "aid-cg", "aid-fp", "aid-gmres"),
                   default="exact", help="hypergradient method (default exact)")
    for flag in ("lam1", "lam2", "C"):
        p.add_argument(f"--{flag}", type=float, default=None, help=f"starting {flag}")
    p.add_argument("--fit-intercept", action="store_true", help="unpenalised intercept")
    p.add_argument("--max-outer", type=int, default=100, help="evaluations budget (default 100)")
    p.add_argument("--max-seconds", type=float, default=None, help="time budget (seconds)")
    p.add_argument("--inner-iters", type=int, default=100_000,
                   help="budget of each inner solve (default 100000)")
    p.add_argument("--accelerate", action="store_true",
                   help="seed each inner solve with FISTA and restarts (slowly contracting maps, "
                        "e.g. sparse-logreg)")
    p.add_argument("--baseline", action="append", choices=("grid", "random"), default=[],
                   help="also run grid search (100 lam1; elastic net x 10 ratios) or seeded "
                        "random search with the tuning run's time budget (repeatable)")
    p.add_argument("--grid-points", type=int, default=100, metavar="N",
                   help="lam1 values of --baseline grid (default 100, log-spaced down to "
                        "1e-3 lam1_max)")
    p.add_argument("--seed", type=int, default=0, help="seed of --baseline random (default 0)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="write validation loss vs time (with the baselines) to FILE.png")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always draw the progress bar on stderr (needs tqdm)")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never draw it (default: only when stderr is a terminal)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _lam0(args):
    spec = PROBLEMS[args.problem]
    given = {k: getattr(args, k) for k in ("lam1", "lam2", "C") if getattr(args, k) is not None}
    extra = sorted(set(given) - set(spec.scalars))
    if extra:
        raise ValueError(f"--{extra[0]} does not apply to --problem {args.problem}.")
    if not given:
        return [DEFAULTS["C"]] if args.problem == "svm" else None
    missing = [k for k in spec.scalars if k not in given]
    if missing and not spec.vector:
        raise ValueError(f"give every starting hyperparameter of --problem {args.problem} "
                         f"({', '.join('--' + k for k in spec.scalars)}) or none.")
    return given.get("lam1") if spec.vector else [given[k] for k in spec.scalars]


def _summary(res):
    return {"lam": res.lam.tolist(), "validation_loss": res.value, "n_outer": res.n_outer,
            "seconds": res.seconds, "converged": res.converged, "message": res.message,
            "history": res.history}


def run(args):
    from ns_implicit.tuning import InnerSolveError

    if args.plot is not None and not str(args.plot).lower().endswith((".png", ".pdf", ".svg")):
        raise ValueError(f"--plot {args.plot}: the file name must end in .png, .pdf or .svg.")
    if args.grid_points < 1:
        raise ValueError(f"--grid-points must be >= 1; got {args.grid_points}.")
    if args.inner_iters < 1:
        raise ValueError(f"--inner-iters must be >= 1; got {args.inner_iters}.")
    try:
        return _run(args)
    except InnerSolveError as err:
        print(f"ns-implicit tune: {err}", file=sys.stderr)
        return 1


def _bundles(args):
    from ns_implicit.tuning import cross_validation_problems

    dtype = np.float64
    if args.cv is not None:
        keys = ("X", "y")
        arrays = (default_arrays(args.problem, dtype) if args.data is None
                  else read_npz(args.data, keys, dtype))

        def make(*split, gram="auto"):  # least squares: the folds may share Gram matrices
            return build(args.problem, dict(zip(REGRESSION, split)), args.fit_intercept,
                         {"gram": gram})

        def make_other(*split):
            return build(args.problem, dict(zip(REGRESSION, split)), args.fit_intercept)

        folds = cross_validation_problems(make if args.problem in GRAM_PROBLEMS else make_other,
                                          arrays["X"], arrays["y"], args.cv)
        problem = None
    else:
        arrays = (default_arrays(args.problem, dtype) if args.data is None
                  else read_npz(args.data, REGRESSION, dtype))
        problem, folds = build(args.problem, arrays, args.fit_intercept), None
    return problem, folds


def _run(args):
    from ns_implicit.tuning import grid_search, random_search, tune

    problem, folds = _bundles(args)
    lam0 = _lam0(args)
    if lam0 is not None and PROBLEMS[args.problem].vector:  # one starting weight for all
        lam0 = np.full((folds or [problem])[0].map.n_hyper, float(lam0))
    res = tune(problem, lam0, optimizer=args.optimizer, method=args.method,
               max_outer=args.max_outer, max_seconds=args.max_seconds, folds=folds,
               inner_iters=args.inner_iters, accelerate=args.accelerate, progress=args.progress)
    out = {"problem": args.problem, "optimizer": args.optimizer, "cv": args.cv, **_summary(res)}
    baselines = {}
    for name in dict.fromkeys(args.baseline):  # each once, in the order given
        problem, folds = _bundles(args)  # fresh bundles: no warm start from the tuning run
        common = {"folds": folds, "inner_iters": args.inner_iters, "accelerate": args.accelerate}
        if name == "grid":
            base = grid_search(problem, n_lam1=args.grid_points, max_seconds=args.max_seconds,
                               **common)
        else:
            base = random_search(problem, max_seconds=res.seconds, seed=args.seed, **common)
        baselines[name] = _summary(base)
    if baselines:
        out["baselines"] = baselines
    if args.plot is not None:
        from ns_implicit.tuning.plot import plot_histories

        runs = {f"hypergradient ({args.optimizer})": res.history}
        runs.update({("grid search" if k == "grid" else "random search"): v["history"]
                     for k, v in baselines.items()})
        plot_histories(runs, args.plot, title=f"{args.problem}"
                       + (f", {args.cv}-fold CV" if args.cv else ", validation split"))
    if args.json:
        print(json.dumps(out, allow_nan=False))
    else:
        for key in ("problem", "optimizer", "cv", "lam", "validation_loss", "n_outer",
                    "seconds", "converged", "message"):
            print(f"{key:>16}: {out[key]}")
        for name, base in baselines.items():
            print(f"{name:>16}: lam={base['lam']} validation_loss={base['validation_loss']} "
                  f"n_outer={base['n_outer']} seconds={base['seconds']:.3g}")
    return 0
