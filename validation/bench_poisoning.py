"""Time and peak memory of one poisoning hypergradient at the paper's scale (docs/theory.md §12.4).

The hyperparameter is the noise on ``n_poison`` MNIST rows: ``n_poison · 784 ≈ 10⁶`` numbers
(default ``n_poison = 1276`` of ``n_train = 4250`` rows of the 5,000-image subset, 30% as in
the paper). One hypergradient = the linear system on the active set plus one ``Bᵀv``
product; the inner solve is timed separately. Times are medians of ``--repeats`` runs, and
also given in units of one inner iteration (one evaluation of ``Φ``) measured in the same
run. Peak memory is measured with ``tracemalloc`` (numpy reports its buffers to it) in a
separate pass, so the timings carry no tracing overhead, and is reported relative to the
size of the training data ``n_train · 784`` floats.

BLAS runs with ``--blas-threads`` threads (default 1, as ``ns-implicit poison``); the time
of one inner iteration is also measured with 2 threads, as a peer in the same run.

Run: ``python validation/bench_poisoning.py [--n-poison N] [--n-train N] [--repeats R]
[--blas-threads T] [--float32] [--json]`` (a few minutes on 2 cores).
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np

from ns_implicit._threads import blas_threads
from ns_implicit.methods import aid_cg, aid_fp, exact
from ns_implicit.problems.poisoning import PoisoningProblem


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_bytes(fn):
    """Peak of traced allocations made while ``fn`` runs (beyond what was live before)."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=4250)
    ap.add_argument("--n-val", type=int, default=500)
    ap.add_argument("--n-test", type=int, default=250)
    ap.add_argument("--n-poison", type=int, default=1276)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--aid-fp-iters", type=int, default=200,
                    help="AID-FP iterations timed (the paper runs up to 1000)")
    ap.add_argument("--blas-threads", type=int, default=1)
    ap.add_argument("--float32", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with blas_threads(args.blas_threads):
        return run(args)


def run(args):
    dtype = np.float32 if args.float32 else np.float64
    tol = 1e-5 if args.float32 else 1e-8  # float32 round-off floor of the relative step

    problem = PoisoningProblem.from_mnist(args.n_poison, n_train=args.n_train, n_val=args.n_val,
                                          n_test=args.n_test, seed=0, dtype=dtype)
    m = problem.n_hyperparameters
    noise = np.random.default_rng(1).uniform(-0.1, 0.1, problem.noise_shape).astype(dtype)
    itemsize = np.dtype(dtype).itemsize
    data_bytes = args.n_train * 784 * itemsize

    t0 = time.perf_counter()
    phi = problem.map.at(noise)
    t_at = time.perf_counter() - t0
    at_peak = peak_bytes(lambda: problem.map.at(noise))  # the noisy rows X̃_I and the spectrum
    t0 = time.perf_counter()
    inner = problem.solve(noise, tol=tol, max_iter=50_000)
    t_inner = time.perf_counter() - t0
    w = inner.w
    u = problem.outer.grad_w(w)
    out = np.empty_like(w)
    t_iter = median_time(lambda: phi.advance(w, out), 20)
    with blas_threads(2):
        t_iter_2threads = median_time(lambda: phi.advance(w, out), 20)
    sel = phi.selection(w)
    v = np.random.default_rng(2).normal(size=phi.dim).astype(dtype) * sel.mask
    t_bt = median_time(lambda: sel.BT(v), args.repeats)

    runs = {
        "aid-cg": lambda: aid_cg(phi, w, u, iters=10_000, tol=1e-10),
        f"aid-fp (k={args.aid_fp_iters})": lambda: aid_fp(phi, w, u, iters=args.aid_fp_iters,
                                                           tol=0.0),
        "exact": lambda: exact(phi, w, u),
    }
    results = {}
    for name, fn in runs.items():
        res = fn()  # warm-up (also gives the iteration count)
        seconds = median_time(fn, args.repeats)
        peak = peak_bytes(fn)
        results[name] = {"seconds": seconds, "inner_iterations_equivalent": seconds / t_iter,
                         "linsys_iterations": res.iterations,
                         "peak_bytes": peak, "peak_over_data": peak / data_bytes}
    ref = exact(phi, w, u).value
    cg = aid_cg(phi, w, u, iters=10_000, tol=1e-10).value
    report = {
        "n_train": args.n_train, "n_poison": problem.n_poison, "n_hyperparameters": m,
        "dtype": np.dtype(dtype).name, "cpus": os.cpu_count(),
        "support_size": int(np.count_nonzero(w)), "dim_w": phi.dim,
        "data_bytes": data_bytes,
        "map_at_seconds": t_at, "map_at_peak_bytes": at_peak,
        "inner_solve_seconds": t_inner, "inner_iterations": inner.iterations,
        "seconds_per_inner_iteration": t_iter,
        "seconds_per_inner_iteration_2_blas_threads": t_iter_2threads,
        "blas_threads": args.blas_threads,
        "BT_product_seconds": t_bt,
        "aid_cg_vs_exact_relative_error": float(np.linalg.norm(cg - ref) / np.linalg.norm(ref)),
        "dense_jacobian_bytes_avoided": phi.dim * m * itemsize,
        "methods": results,
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"n_train = {args.n_train}, n_poison = {problem.n_poison} -> m = {m} hyperparameters "
          f"({report['dtype']}, {report['cpus']} cpus); |S| = {report['support_size']} of "
          f"{phi.dim} weights")
    print(f"data: {data_bytes / 1e6:.1f} MB; a dense Jacobian dw/dlam would take "
          f"{report['dense_jacobian_bytes_avoided'] / 1e9:.1f} GB")
    print(f"map.at(noise): {t_at:.2f} s, peak {at_peak / 1e6:.1f} MB = {at_peak / data_bytes:.2f} "
          f"x data; inner solve: {inner.iterations} iterations in "
          f"{t_inner:.1f} s ({1e3 * t_iter:.1f} ms per iteration with {args.blas_threads} BLAS "
          f"thread(s), {1e3 * t_iter_2threads:.1f} ms with 2); one B^T v: "
          f"{1e3 * t_bt:.1f} ms")
    for name, r in results.items():
        print(f"  {name:>16}: {r['seconds']:7.2f} s (= {r['inner_iterations_equivalent']:6.0f} "
              f"inner iterations, {r['linsys_iterations']} linear-system iterations), peak "
              f"{r['peak_bytes'] / 1e6:7.1f} MB = {r['peak_over_data']:.2f} x data")
    print(f"aid-cg vs exact: relative error {report['aid_cg_vs_exact_relative_error']:.1e}; "
          f"process max RSS {report['max_rss_bytes'] / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
