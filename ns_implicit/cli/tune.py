"""``ns-implicit tune``: tune a problem's hyperparameters by hypergradients (ns_implicit.tuning).

``--data FILE.npz`` holds ``X, y, X_val, y_val`` (the validation split is the criterion) or,
with ``--cv K``, ``X, y`` only (``KFold(K)`` without shuffling, scikit-learn's default; extra
arrays are ignored). Without ``--data``: the embedded synthetic data. The starting point is
the problem's flags (``--lam1``, ``--lam2``, ``--C``; see ``hypergrad``) when given, else
``0.1 λ1_max`` in every entry (``--C 0.01`` for the SVM).

Contract: with ``--json`` stdout is one JSON object with ``lam`` (in the problem's order),
``validation_loss``, ``n_outer``, ``seconds``, ``converged``, ``message``, ``optimizer``,
``problem``, ``cv`` and ``history`` (``[{"seconds", "lam", "value"}]``).
"""

import json

import numpy as np

from ns_implicit.cli.hypergrad import read_npz
from ns_implicit.cli.problems import DEFAULTS, PROBLEMS, REGRESSION, build, default_arrays

NAME = "tune"
HELP = "Tune a problem's hyperparameters by hypergradient descent (validation split or k-fold CV)."
TUNABLE = tuple(k for k, v in PROBLEMS.items() if v.keys == REGRESSION)


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


def run(args):
    from ns_implicit.tuning import cross_validation_problems, tune

    dtype = np.float64
    if args.cv is not None:
        keys = ("X", "y")
        arrays = (default_arrays(args.problem, dtype) if args.data is None
                  else read_npz(args.data, keys, dtype))
        folds = cross_validation_problems(
            lambda *split: build(args.problem, dict(zip(REGRESSION, split)), args.fit_intercept),
            arrays["X"], arrays["y"], args.cv)
        problem = None
    else:
        arrays = (default_arrays(args.problem, dtype) if args.data is None
                  else read_npz(args.data, REGRESSION, dtype))
        problem, folds = build(args.problem, arrays, args.fit_intercept), None
    lam0 = _lam0(args)
    if lam0 is not None and PROBLEMS[args.problem].vector:  # one starting weight for all
        lam0 = np.full((folds or [problem])[0].map.n_hyper, float(lam0))
    res = tune(problem, lam0, optimizer=args.optimizer, method=args.method,
               max_outer=args.max_outer, max_seconds=args.max_seconds, folds=folds)
    out = {"problem": args.problem, "optimizer": args.optimizer, "cv": args.cv,
           "lam": res.lam.tolist(), "validation_loss": res.value, "n_outer": res.n_outer,
           "seconds": res.seconds, "converged": res.converged, "message": res.message,
           "history": res.history}
    if args.json:
        print(json.dumps(out, allow_nan=False))
    else:
        for key in ("problem", "optimizer", "cv", "lam", "validation_loss", "n_outer",
                    "seconds", "converged", "message"):
            print(f"{key:>16}: {out[key]}")
    return 0
