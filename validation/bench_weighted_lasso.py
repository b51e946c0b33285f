"""Benchmark: one weighted-lasso hypergradient with p hyperparameters against the inner solve.

    python validation/bench_weighted_lasso.py [--n 1000] [--p 10000] [--repeats 5] [--json FILE]

Data: ``X`` (n × p, i.i.d. standard normal, seeded), 20 true features, ``y = Xβ + 0.1 ε``, a
validation split of n rows; weights ``λ_j = 0.1 λ_max·exp(0.3 z_j)`` (one per feature, p of
them). ``p > n``: the map is the lasso's averaged ISTA map (``q = 1``, docs/theory.md §15.6),
matrix-free through ``X``. Printed (median over repeats, wall clock): the inner solve from
``w0 = 0`` to ``tol`` (default 1e-10), ``∇E``, and ``exact`` and ``aid-cg`` at the solution
(CG to 1e-10), with their ratio to the solve and their error against ``exact`` at a tightly
solved point. Nothing is asserted.
"""

import argparse
import json
import time

import numpy as np

import ns_implicit as ni


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--p", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tol", type=float, default=1e-10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    n, p = args.n, args.p
    X, X_val = rng.standard_normal((n, p)), rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:20] = 2.0 * rng.standard_normal(20)
    y = X @ beta + 0.1 * rng.standard_normal(n)
    y_val = X_val @ beta + 0.1 * rng.standard_normal(n)
    start = time.perf_counter()
    problem = ni.WeightedLassoProblem(X, y, X_val, y_val)
    setup = time.perf_counter() - start
    lam = 0.1 * problem.lam1_max * np.exp(0.3 * rng.standard_normal(p))
    phi = problem.map.at(lam)
    sol = ni.fixed_point_iteration(phi, tol=args.tol, max_iter=1_000_000)
    w, u = sol.w, problem.outer.grad_w(sol.w)
    ref_w = ni.fixed_point_iteration(phi, w0=w, tol=1e-13, max_iter=1_000_000).w
    ref = ni.exact(phi, ref_w, problem.outer.grad_w(ref_w)).value
    t = {
        "solve": median_time(lambda: ni.fixed_point_iteration(phi, tol=args.tol,
                                                              max_iter=1_000_000), args.repeats),
        "grad_E": median_time(lambda: problem.outer.grad_w(w), args.repeats),
        "exact": median_time(lambda: ni.exact(phi, w, u), args.repeats),
        "aid-cg": median_time(lambda: ni.aid_cg(phi, w, u, tol=args.tol), args.repeats),
    }
    err = {m: float(np.linalg.norm(f().value - ref) / np.linalg.norm(ref)) for m, f in
           (("exact", lambda: ni.exact(phi, w, u)),
            ("aid-cg", lambda: ni.aid_cg(phi, w, u, tol=args.tol)))}
    out = {"n": n, "p": p, "n_hyper": phi.n_hyper, "support_size": int(np.count_nonzero(w)),
           "solve_iterations": sol.iterations, "setup_seconds": setup, "seconds": t,
           "ratio_to_solve": {m: t[m] / t["solve"] for m in ("exact", "aid-cg")},
           "error_vs_tight_exact": err}
    print(f"weighted lasso n={n} p={p} ({phi.n_hyper} hyperparameters), |S|={out['support_size']}, "
          f"set-up {setup:.3f} s")
    print(f"  inner solve (tol {args.tol:g}): {t['solve'] * 1e3:.1f} ms ({sol.iterations} it)")
    print(f"  grad E: {t['grad_E'] * 1e3:.2f} ms")
    for m in ("exact", "aid-cg"):
        print(f"  {m:7s}: {t[m] * 1e3:.2f} ms = {t[m] / t['solve']:.3f} x solve, "
              f"error {err[m]:.1e} vs exact at a tightly solved point")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
