"""``ns-implicit check-backend MODULE:FUNCTION``: property-test another hypergradient backend.

``FUNCTION`` follows the convention of :mod:`ns_implicit.testing`:
``FUNCTION(X, y, X_val, y_val, lam1, lam2) -> [dE/dlam1, dE/dlam2]``. It is called on
``--examples`` seeded elastic-net instances (generic points, or kinks and near-kinks with
``--near-kinks``); a table lists each instance, the check applied and its outcome, then the
full report of every failure. Exit status: 0 when all pass, 1 when any fails, 2 on bad usage.
The current directory is put on ``sys.path`` so a module next to you imports.
"""

import importlib
import os
import sys

NAME = "check-backend"
HELP = "Check a hypergradient backend (MODULE:FUNCTION) against ns_implicit on generated instances."


def add_arguments(p):
    # Defaults are resolved in run(): importing ns_implicit.testing (hypothesis, scipy) here
    # would slow down every ns-implicit command. The numbers in the help are the kit's
    # constants (a test keeps them in sync).
    p.add_argument("target", metavar="MODULE:FUNCTION",
                   help="the candidate, e.g. mypkg.backend:hypergradient")
    p.add_argument("--problem", default="elastic-net",
                   choices=("elastic-net", "lasso", "weighted-lasso", "nonneg-lasso",
                            "sparse-logreg", "svm", "deq", "group-lasso", "simplex-ls",
                            "l1-ball-ls"),
                   help="the candidate's problem (default elastic-net; the others at generic "
                        "points, conventions in ns_implicit.testing.problems)")
    p.add_argument("--examples", type=int, default=None, help="number of instances (default 20)")
    p.add_argument("--near-kinks", action="store_true",
                   help="exact kinks (checked against the conservative set) and near-kinks")
    p.add_argument("--seed", type=int, default=0, help="seed of the instances (default 0)")
    p.add_argument("--rtol", type=float, default=None,
                   help="relative tolerance at generic points (default 1e-05)")
    p.add_argument("--atol", type=float, default=None, help="absolute tolerance (default 1e-09)")
    p.add_argument("--kink-tol", type=float, default=None,
                   help="hull-membership tolerance at kinks, relative (default 1e-05)")
    p.add_argument("--kink-set", choices=("implicit", "fixed-point"), default="implicit",
                   help="set an answer at a kink must lie in: the implicit set (10) (default) "
                        "or the larger fixed-point set (11) reached by unrolled differentiation")
    p.add_argument("--strict-vertices", action="store_true",
                   help="at an exact kink the answer must be a vertex of the implicit set (a "
                        "definite tie convention), not an interior point")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds allowed per call (default 10)")
    from ns_implicit._parallel import add_parallel_arguments
    add_parallel_arguments(p)  # --problem elastic-net: the instances fanned out


def load_candidate(target):
    """Import ``MODULE:FUNCTION``; a clear ValueError when it cannot be found."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"the candidate must be given as MODULE:FUNCTION (e.g. "
                         f"mypkg.backend:hypergradient); got {target!r}.")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} ({exc}); check the name, "
                         "install what it needs, or run from the directory that holds it.") from exc
    except Exception as exc:  # the user's module fails while importing (SyntaxError, ...)
        raise ValueError(f"importing module {module_name!r} failed: {type(exc).__name__}: "
                         f"{exc}; fix the module and retry.") from exc
    fn = module
    for part in attr.split("."):
        if not hasattr(fn, part):
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}.")
        fn = getattr(fn, part)
    if not callable(fn):
        raise ValueError(f"{target} is not callable; it must be a function "
                         "(X, y, X_val, y_val, lam1, lam2) -> [dE/dlam1, dE/dlam2].")
    return fn


def format_table(reports, lam_columns=True):
    """One line per report; ``lam_columns``: the elastic net's ``(λ1, λ2)``."""
    lam_head = f"{'lam1':>10} {'lam2':>10}  " if lam_columns else ""
    header = (f"{'#':>3}  {'kind':<9} {'p':>3} {'n':>3} {'n_val':>5}  {lam_head}"
              f"{'check':<16} {'error':>9} {'tol':>9} {'seconds':>8}  result")
    lines = [header, "-" * len(header)]
    for i, r in enumerate(reports, 1):
        inst = r.instance
        n, p = inst.X.shape
        err = f"{r.error:9.2e}" if r.error == r.error else f"{'-':>9}"
        tol = f"{r.tolerance:9.2e}" if r.tolerance == r.tolerance else f"{'-':>9}"
        lam = f"{inst.lam[0]:>10.4g} {inst.lam[1]:>10.4g}  " if lam_columns else ""
        lines.append(f"{i:>3}  {inst.kind:<9} {p:>3} {n:>3} {inst.X_val.shape[0]:>5}  {lam}"
                     f"{r.check:<16} {err} {tol} {r.seconds:>8.3f}  "
                     f"{'pass' if r.passed else 'FAIL'}")
    return "\n".join(lines)


def run(args):
    from ns_implicit._validation import check_positive_float, check_positive_int
    from ns_implicit.testing import assertions as kit
    for name, default in (("examples", kit.DEFAULT_EXAMPLES), ("rtol", kit.RTOL),
                          ("atol", kit.ATOL), ("kink_tol", kit.KINK_TOL),
                          ("timeout", kit.TIMEOUT)):
        if getattr(args, name) is None:
            setattr(args, name, default)
    check_positive_int(args.examples, "--examples")
    check_positive_int(args.seed, "--seed", minimum=0)
    for name in ("rtol", "atol", "kink_tol"):
        check_positive_float(getattr(args, name), "--" + name.replace("_", "-"), strict=False)
    check_positive_float(args.timeout, "--timeout")
    from ns_implicit._parallel import check_parallel_args
    check_parallel_args(args.n_jobs, args.backend, args.scheduler)
    candidate = load_candidate(args.target)
    if args.problem != "elastic-net":
        if args.n_jobs != 1 or args.backend != "loky":
            raise ValueError("--n-jobs and --backend apply to --problem elastic-net; run "
                             f"--problem {args.problem} without them.")
        return _run_problem(args, candidate)
    options = dict(rtol=args.rtol, atol=args.atol, kink_tol=args.kink_tol,
                   timeout=args.timeout, kink_set=args.kink_set,
                   strict_vertices=args.strict_vertices)
    if args.n_jobs == 1 and args.backend == "loky":
        reports = kit.check_backend(candidate, examples=args.examples, seed=args.seed,
                                    near_kink=args.near_kinks, **options)
    else:
        reports = _fan_out(args, options)
    print(f"ns-implicit check-backend {args.target}: {len(reports)} "
          f"{'kink/near-kink' if args.near_kinks else 'generic'} instances, seed {args.seed}")
    print(format_table(reports))
    failed = [r for r in reports if not r.passed]
    counts = {}
    for r in failed:
        counts[r.check] = counts.get(r.check, 0) + 1
    for i, r in enumerate(reports, 1):
        if not r.passed and r.check != "not-run":
            print(f"\n--- instance {i} ---\n{r}")
    if args.near_kinks:
        from ns_implicit.testing.convention import summarize
        print("\ntie convention at exact kinks: "
              + summarize([r.convention for r in reports if r.instance.at_kink]))
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    print(f"\n{len(reports) - len(failed)} of {len(reports)} instances passed"
          + (f"; failures by check: {summary}" if summary else ""))
    return 1 if failed else 0


def check_one(config, index):
    """Instance ``index`` of the sweep, a pure function of ``(config, index)``: the worker
    imports the candidate by name (from the caller's directory) and checks it."""
    from ns_implicit.testing import assertions as kit
    if config["cwd"] not in sys.path:
        sys.path.insert(0, config["cwd"])
    candidate = load_candidate(config["target"])
    return kit.check_hypergradient(candidate, config["instances"][index], **config["options"])


def _fan_out(args, options):
    """The instances on ``--n-jobs`` workers (``ns_implicit._parallel``), reports in order.
    Unlike the serial sweep, instances after a timeout still run (each in its own call)."""
    from ns_implicit._parallel import run_records
    from ns_implicit.testing.strategies import sample_instances
    instances = sample_instances(args.examples, seed=args.seed, near_kink=args.near_kinks)
    config = {"target": args.target, "cwd": os.getcwd(), "instances": instances,
              "options": options}
    return run_records(check_one, config, range(len(instances)), n_jobs=args.n_jobs,
                       backend=args.backend, scheduler=args.scheduler)


def _run_problem(args, candidate):
    """``--problem`` other than the elastic net: generic points, relative error."""
    from ns_implicit.testing.problems import check_problem_backend
    if args.strict_vertices or (args.near_kinks and args.problem != "group-lasso"):
        raise ValueError(f"--near-kinks applies to --problem elastic-net and group-lasso, "
                         f"--strict-vertices to elastic-net only; --problem {args.problem} is "
                         "checked at generic points.")
    reports = check_problem_backend(candidate, args.problem, examples=args.examples,
                                    seed=args.seed, rtol=args.rtol, atol=args.atol,
                                    timeout=args.timeout, near_kinks=args.near_kinks)
    print(f"ns-implicit check-backend {args.target} --problem {args.problem}: {len(reports)} "
          f"{'block-kink/near-kink' if args.near_kinks else 'generic'} instances, "
          f"seed {args.seed}")
    print(format_table(reports, lam_columns=False))
    failed = [r for r in reports if not r.passed]
    for i, r in enumerate(reports, 1):
        if not r.passed and r.check != "not-run":
            print(f"\n--- instance {i} ---\n{r}")
    print(f"\n{len(reports) - len(failed)} of {len(reports)} instances passed")
    return 1 if failed else 0
