"""``ns-implicit hypergrad``: one hypergradient, as a table or one JSON object.

``--problem`` chooses the inner problem (:mod:`ns_implicit.cli.problems`): ``elastic-net``
(default; ``λ = (λ1, λ2)`` from ``--lam1 --lam2``), ``lasso``, ``nonneg-lasso`` and
``sparse-logreg`` (``--lam1``), ``weighted-lasso`` (one weight per feature from
``--lam-file F.npy``, or ``--lam1`` for all), ``svm`` (``--C``), ``deq`` (the layer's
weights ``θ`` from ``--lam-file``), ``group-lasso`` (``--lam1`` for every group or one per
group from ``--lam-file``; ``--lam2`` adds the ridge weight as the last hyperparameter, the
group elastic net; groups weighted by ``√|g|`` unless ``--group-weights F.npy``), and
``simplex-ls`` / ``l1-ball-ls`` (``--radius``). ``--data FILE.npz`` holds
``X, y, X_val, y_val`` (labels ±1 or 0/1 for the classifiers; ``X, y, readout`` for ``deq``:
inputs, targets, readout; plus ``groups``, one integer label per feature, for
``group-lasso``).
``--fit-intercept`` adds an unpenalised intercept (the least-squares problems and sparse
logistic regression).

Contract (stable, scripted by other tools): with ``--json`` stdout holds exactly one JSON
object with keys ``hypergradient`` (the derivatives in the order of ``lam``), ``method``, ``inner_iterations``,
``support_size``, ``residual``, ``seconds``, ``converged``, ``lam``, ``linsys_iterations``,
``support_identified_at``, ``dtype``. Warnings go to stderr.

The stochastic methods ``nsid`` and ``sid`` (docs/theory.md §9–§10) run ``--linsys-iters`` = K
iterations with minibatches of ``--batch-size`` rows, ``--batches`` J for the averaged map
(default K + 1), ``--steps {dec,const}`` and ``--seed`` (``--tol`` applies to the inner
solve only: NSID/SID run all K iterations); their JSON object has the keys
above plus ``samples_used`` ((K + J)·b), ``epochs`` (samples_used / n), ``batch_size``,
``batches``, ``steps`` and ``seed``.
"""

import json
import time
import warnings

import numpy as np

from ns_implicit.cli.problems import DEFAULTS, PROBLEMS, build, default_arrays
from ns_implicit.methods.registry import METHODS, method_names

NAME = "hypergrad"
HELP = "Compute the hypergradient of a problem's validation loss (default: the elastic net)."
CLI_METHODS = tuple(METHODS)  # everything the registry holds
STOCHASTIC = method_names(("stochastic",))


def add_arguments(p):
    p.add_argument("--data", metavar="FILE.npz",
                   help="arrays X, y, X_val, y_val (default: the paper's synthetic data, seed 3)")
    p.add_argument("--problem", choices=tuple(PROBLEMS), default="elastic-net",
                   help="inner problem (default elastic-net): " + "; ".join(
                       f"{k}: {v.describe()}" for k, v in PROBLEMS.items()))
    p.add_argument("--lam1", type=float, default=None,
                   help=f"l1 weight (default {DEFAULTS['lam1']})")
    p.add_argument("--lam2", type=float, default=None,
                   help=f"l2 weight (elastic-net, default {DEFAULTS['lam2']}; group-lasso: adds λ2 as the last hyperparameter)")
    p.add_argument("--C", type=float, default=None, help=f"svm only (default {DEFAULTS['C']})")
    p.add_argument("--radius", type=float, default=None,
                   help=f"simplex-ls, l1-ball-ls: the radius r (default {DEFAULTS['radius']})")
    p.add_argument("--lam-file", metavar="F.npy",
                   help="vector hyperparameters (weighted-lasso: one weight per feature; "
                        "group-lasso: one per group; deq: θ)")
    p.add_argument("--group-weights", metavar="F.npy",
                   help="group-lasso: one weight >= 0 per group, in label order (default "
                        "sqrt(group size))")
    p.add_argument("--fit-intercept", action="store_true",
                   help="fit an unpenalised intercept (off by default, the paper's model)")
    p.add_argument("--method", choices=CLI_METHODS, default="exact")
    p.add_argument("--inner-iters", type=int, default=100_000,
                   help="inner fixed-point budget; ITD unrolls this many steps at most (default 100000)")
    p.add_argument("--linsys-iters", type=int, default=100_000,
                   help="linear-system budget (AID-FP k, CG/GMRES steps; NSID/SID: the number "
                        "K of iterations; default 100000)")
    p.add_argument("--tol", type=float, default=None,
                   help="relative tolerance of the inner solve and the linear system (default "
                        "1e-12; 1e-6 with --float32, whose round-off is 6e-8)")
    p.add_argument("--float32", action="store_true", help="compute in float32")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    g = p.add_argument_group("nsid / sid (stochastic; docs/theory.md §9-§10)")
    g.add_argument("--batch-size", type=int, default=100,
                   help="rows per minibatch b, in [1, n_train] (default 100)")
    g.add_argument("--batches", type=int, default=None, metavar="J",
                   help="minibatches of the averaged map (default K + 1)")
    g.add_argument("--steps", choices=("dec", "const"), default="dec",
                   help="eta_k = beta/(gamma + k) or the constant beta/gamma (default dec)")
    g.add_argument("--beta-mult", type=float, default=1.0,
                   help="beta = beta_mult * 2/(1 - q^2) (default 1; the paper's enet run: 0.5)")
    g.add_argument("--gamma-mult", type=float, default=1.0,
                   help="gamma = gamma_mult * 2/(1 - q^2) (default 1; the paper's enet run: 2)")
    g.add_argument("--seed", type=int, default=0, help="seed of the minibatch streams (default 0)")


def load_problem(path, dtype, problem="elastic-net", fit_intercept=False, options=None):
    """The ``--problem`` bundle on ``--data`` (or the embedded default data)."""
    if fit_intercept and not PROBLEMS[problem].intercept:
        raise ValueError(f"--fit-intercept does not apply to --problem {problem} (only to "
                         + ", ".join(
                             k for k, v in PROBLEMS.items() if v.intercept) + ").")
    arrays = (default_arrays(problem, dtype) if path is None
              else read_npz(path, PROBLEMS[problem].keys, dtype))
    return build(problem, arrays, fit_intercept, options)


def problem_options(args, dtype):
    """The bundle's options that flags set: for ``group-lasso``, the group weights, one ``λ``
    per group (``--lam-file``) and the ridge weight as a hyperparameter (``--lam2``)."""
    if args.group_weights is not None and args.problem != "group-lasso":
        raise ValueError(f"--group-weights does not apply to --problem {args.problem} (only "
                         "to group-lasso).")
    if not PROBLEMS[args.problem].ridge_optional:
        return None
    weights = None if args.group_weights is None else read_npy(args.group_weights, np.float64,
                                                               "--group-weights")
    return {"group_weights": weights, "per_group": args.lam_file is not None,
            "lam2": None if args.lam2 is not None else 0.0}


def hyperparameters(args, problem, dtype, n=None):
    """``λ`` from the flags: the problem's scalar flags in order, or ``--lam-file``."""
    spec = PROBLEMS[args.problem]
    given = {k: getattr(args, k) for k in ("lam1", "lam2", "C", "radius")
             if getattr(args, k) is not None}
    extra = sorted(set(given) - set(spec.scalars))
    if extra:
        raise ValueError(f"--{extra[0]} does not apply to --problem {args.problem} (its "
                         f"hyperparameters: {spec.describe().split('hyperparameters ')[1]}).")
    if spec.ridge_optional and "lam2" in given:  # the ridge weight comes last
        lam2 = given.pop("lam2")
        args_lam2, args.lam2 = args.lam2, None
        try:
            head = hyperparameters(args, problem, dtype, n=problem.map.n_hyper - 1)
        finally:
            args.lam2 = args_lam2
        return np.r_[head, lam2].astype(dtype)
    if spec.vector:
        n = problem.map.n_hyper if n is None else n
        if args.lam_file is not None:
            if given:
                raise ValueError("give either --lam-file or --lam1, not both.")
            lam = read_npy(args.lam_file, dtype)
            if lam.shape != (n,):
                raise ValueError(f"--lam-file {args.lam_file} must hold a 1-D array of length "
                                 f"{n} for --problem {args.problem}; got shape {lam.shape}.")
            return lam
        if not spec.scalars:
            raise ValueError(f"--problem {args.problem} needs --lam-file F.npy (length {n}).")
        return np.full(n, given.get("lam1", DEFAULTS["lam1"]))
    if args.lam_file is not None:
        raise ValueError(f"--lam-file does not apply to --problem {args.problem} (scalar "
                         f"hyperparameters: {spec.describe().split('hyperparameters ')[1]}).")
    return np.array([given.get(k, DEFAULTS[k]) for k in spec.scalars])


def read_npy(path, dtype, flag="--lam-file"):
    """A real 1-D-or-more array from ``path`` (a ``.npy`` file), or a ``ValueError``."""
    import os
    if not os.path.exists(path):
        raise FileNotFoundError(f"{flag} {path}: no such file.")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any failure to parse the user's bytes
        raise ValueError(f"{flag} {path} is not a readable .npy file "
                         f"({type(exc).__name__}: {exc}); save it with numpy.save.") from exc
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise ValueError(f"{flag} {path} must hold real numbers.")
    return arr.astype(dtype)


def read_npz(path, keys, dtype):
    """The arrays ``keys`` of the ``.npz`` file ``path`` as ``dtype``, or a ``ValueError``
    naming the file. A missing file is an ``OSError``; a file that is not an ``.npz``
    (BadZipFile, EOFError, pickled objects, corrupt members: whatever NumPy raises while
    reading a user's bytes) is reported as a data error, not a traceback."""
    import os
    if not os.path.exists(path):
        raise FileNotFoundError(f"--data {path}: no such file.")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in keys if k not in data]
            if missing:
                raise KeyError(missing)
            raw = {k: data[k] for k in keys}
    except KeyError as exc:
        raise ValueError(f"--data {path} lacks arrays {exc.args[0]}; it must hold "
                         f"{', '.join(keys)}.") from None
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse the user's bytes
        raise ValueError(f"--data {path} is not a readable .npz file "
                         f"({type(exc).__name__}: {exc}); save it with numpy.savez.") from exc
    out = {}
    for k, arr in raw.items():
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"--data {path}: array {k} has dtype {arr.dtype}; it must be real "
                             "numbers.")
        out[k] = arr.astype(dtype)
    return out


def check_args(args):
    """Validate the flags up front, naming each flag (the API's names differ)."""
    for flag, value, low in (("--inner-iters", args.inner_iters, 1),
                             ("--linsys-iters", args.linsys_iters,
                              1 if args.method in STOCHASTIC else 0),
                             ("--batch-size", args.batch_size, 1), ("--seed", args.seed, 0)):
        if value < low:
            raise ValueError(f"{flag} must be an integer >= {low}; got {value}.")
    if args.batches is not None and args.batches < 1:
        raise ValueError(f"--batches must be an integer >= 1; got {args.batches}.")
    for flag, value in (("--lam1", args.lam1), ("--lam2", args.lam2), ("--C", args.C),
                        ("--radius", args.radius), ("--tol", args.tol),
                        ("--beta-mult", args.beta_mult), ("--gamma-mult", args.gamma_mult)):
        if value is not None and not np.isfinite(value):
            raise ValueError(f"{flag} must be finite; got {value}.")
    if args.tol is not None and args.tol < 0:
        raise ValueError(f"--tol must be >= 0; got {args.tol}.")
    if args.method in STOCHASTIC and args.problem != "elastic-net":
        raise ValueError(f"--method {args.method} runs on --problem elastic-net only (the "
                         "stochastic methods need a contraction and a minibatch oracle).")


def run(args):
    start = time.perf_counter()
    check_args(args)
    dtype = np.float32 if args.float32 else np.float64
    if args.tol is None:
        args.tol = 1e-6 if args.float32 else 1e-12
    problem = load_problem(args.data, dtype, args.problem, args.fit_intercept,
                           problem_options(args, dtype))
    lam = hyperparameters(args, problem, dtype)
    if args.method in STOCHASTIC:
        return run_stochastic(args, problem, lam, dtype, start)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = problem.hypergradient(lam, method=args.method, inner_iters=args.inner_iters,
                                    linsys_iters=args.linsys_iters, tol=args.tol)
    return _emit(args, _record(res, args, lam, dtype), caught, start)


def run_stochastic(args, problem, lam, dtype, start):
    """``--method nsid|sid``: NSID-Bilevel (docs/theory.md §10) at the deterministic inner solution."""
    from ns_implicit.maps.stochastic import StochasticElasticNetMap
    from ns_implicit.bilevel.stochastic import stochastic_hypergradient
    smap = StochasticElasticNetMap.from_map(problem.map, args.batch_size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stochastic_hypergradient(
            smap, problem.outer, lam, args.method, K=args.linsys_iters, J=args.batches,
            rng=args.seed, steps=args.steps, beta_mult=args.beta_mult,
            gamma_mult=args.gamma_mult, inner_iters=args.inner_iters, inner_tol=args.tol)
    out = _record(res, args, lam, dtype)
    out.update(samples_used=res.samples_used, epochs=res.epochs, batch_size=smap.batch_size,
               batches=res.linear.batches, steps=args.steps, seed=args.seed)
    return _emit(args, out, caught, start)


def _record(res, args, lam, dtype):
    """The keys every method reports (the documented JSON contract)."""
    return {
        "hypergradient": [float(v) for v in res.value],
        "method": args.method,
        "lam": lam.tolist(),
        "inner_iterations": res.inner.iterations,
        "linsys_iterations": res.linear.iterations,
        "support_size": res.inner.support_size,
        "support_identified_at": res.inner.support_identified_at,
        "residual": max(res.inner.residual, res.linear.residual),
        "converged": res.converged,
        "dtype": np.dtype(dtype).name,
    }


def _emit(args, out, caught, start):
    """Warnings to stderr, then one JSON object (``--json``) or a table on stdout."""
    import sys

    from ns_implicit.bilevel.hypergradient import EarlyStopWarning, UnreachableToleranceWarning
    out["seconds"] = time.perf_counter() - start
    for w in caught:
        kind = ("stopped early" if issubclass(w.category, EarlyStopWarning)
                and not issubclass(w.category, UnreachableToleranceWarning) else "warning")
        print(f"ns-implicit hypergrad: {kind}: {w.message}", file=sys.stderr)
    if args.json:
        try:
            text = json.dumps(out, allow_nan=False)  # strict JSON: never Infinity/NaN
        except ValueError:
            bad = sorted(k for k, v in out.items() if isinstance(v, (int, float, list))
                         and not np.all(np.isfinite(np.asarray(v, dtype=float))))
            raise ValueError(f"the result has non-finite values in {bad}; no JSON "
                             "written (the data probably overflow: rescale them).") from None
        print(text)
    else:
        for key, value in out.items():
            print(f"{key:>22}: {value}")
    return 0
