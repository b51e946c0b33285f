"""``ns-implicit hypergrad``: one elastic-net hypergradient, as a table or one JSON object.

Contract (stable, scripted by other tools): with ``--json`` stdout holds exactly one JSON
object with keys ``hypergradient`` ([∂E/∂λ1, ∂E/∂λ2]), ``method``, ``inner_iterations``,
``support_size``, ``residual``, ``seconds``, ``converged``, ``lam``, ``linsys_iterations``,
``support_identified_at``, ``dtype``. Warnings go to stderr.
"""

import json
import time
import warnings

import numpy as np

NAME = "hypergrad"
HELP = "Compute the elastic-net hypergradient [dE/dlam1, dE/dlam2] of the validation loss."
CLI_METHODS = ("exact", "aid-cg", "aid-fp", "aid-gmres", "itd", "itd-forward")


def add_arguments(p):
    p.add_argument("--data", metavar="FILE.npz",
                   help="arrays X, y, X_val, y_val (default: the paper's synthetic data, seed 3)")
    p.add_argument("--lam1", type=float, default=0.02, help="l1 weight (default 0.02)")
    p.add_argument("--lam2", type=float, default=0.002, help="l2 weight (default 0.002)")
    p.add_argument("--method", choices=CLI_METHODS, default="exact")
    p.add_argument("--inner-iters", type=int, default=100_000,
                   help="inner fixed-point budget; ITD unrolls this many steps at most (default 100000)")
    p.add_argument("--linsys-iters", type=int, default=100_000,
                   help="linear-system budget (AID-FP k, CG/GMRES steps; default 100000)")
    p.add_argument("--tol", type=float, default=1e-12,
                   help="relative tolerance of the inner solve and the linear system (default 1e-12)")
    p.add_argument("--float32", action="store_true", help="compute in float32")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def load_problem(path, dtype):
    from ..problems.elastic_net import ElasticNetProblem
    if path is None:
        return ElasticNetProblem.synthetic(dtype=dtype)
    with np.load(path) as data:
        missing = [k for k in ("X", "y", "X_val", "y_val") if k not in data]
        if missing:
            raise ValueError(f"--data {path} lacks arrays {missing}; it must hold X, y, X_val, y_val.")
        arrays = {k: data[k].astype(dtype) for k in ("X", "y", "X_val", "y_val")}
    return ElasticNetProblem(arrays["X"], arrays["y"], arrays["X_val"], arrays["y_val"])


def run(args):
    from ..bilevel import EarlyStopWarning
    start = time.perf_counter()
    dtype = np.float32 if args.float32 else np.float64
    problem = load_problem(args.data, dtype)
    lam = np.array([args.lam1, args.lam2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EarlyStopWarning)
        res = problem.hypergradient(lam, method=args.method, inner_iters=args.inner_iters,
                                    linsys_iters=args.linsys_iters, tol=args.tol)
    notes = [str(w.message) for w in caught if issubclass(w.category, EarlyStopWarning)]
    out = {
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
        "seconds": time.perf_counter() - start,
    }
    import sys
    for note in notes:
        print(f"ns-implicit hypergrad: stopped early: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:>22}: {value}")
    return 0
