"""Benchmark of the core: inner solve, every deterministic hypergradient, import + first call.

    python validation/bench_core.py [--quick] [--repeats R] [--json FILE]

For (n_train, p) in (500, 100), (5000, 100), (5000, 1000), λ1 in {2e-2, 2e-3}, λ2 = 2e-3,
on ``make_sparse_regression(n_samples=n_train / 0.2, n_features=p, seed=0)`` (train split of
``n_train`` rows, validation split for ``E(w) = ‖X_val w - y_val‖²/(2 n_val)``), it prints
the median over repeats of

* the inner solve ``fixed_point_iteration(phi, tol=1e-10)`` from ``w0 = 0``;
* each method's hypergradient at a tightly solved ``w*`` (tol 1e-13) with the smallest
  budget that reaches relative error <= 1e-8 against ``exact`` at ``w*``: AID-CG and AID-FP
  steps ``k`` and the ITD horizon ``t`` from their per-iteration errors, the GMRES tolerance
  from a decreasing ladder. ``itd`` times the reverse pass over ``t`` stored iterates (the
  solve that stores them is shown in the notes); ``itd-forward`` times the whole forward pass
  (it computes ``w_t`` and ``J_t`` together). ``exact`` times the direct solve at ``w*``.
  ``∇E`` is an input of every method (its cost is printed once per setting);
* "solve + hypergradient": ``ns_implicit.hypergradient(map, outer, lam, method, tol=1e-10)``
  (solve from 0, ``∇E``, the method) for ``exact`` and ``aid-cg``, with its error against
  ``exact`` at ``w*``;
* a peer in the same run: a plain NumPy ISTA loop on the Gram matrix (same stopping rule)
  and a ``numpy.linalg.solve`` hypergradient on the support, i.e. the same mathematics
  without Numba or ns_implicit (ratios > 1 mean the peer is slower);
* import + first hypergradient in a fresh interpreter with the Numba cache cold (a new
  ``NUMBA_CACHE_DIR``) and warm (the same directory again).

Times are wall-clock medians; nothing here is asserted. ``--quick`` runs 3 repeats. The
Numba kernels of the core run on one thread; NumPy's BLAS (``∇E``, the dense solve of
``exact``, the peer) is multithreaded and slows down by orders of magnitude when other
processes hold the cores: ``OPENBLAS_NUM_THREADS=1`` gives steadier numbers there.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

import ns_implicit
from ns_implicit import (ElasticNetMap, aid_cg, aid_fp, aid_gmres, exact, fixed_point_iteration,
                         hypergradient, itd, itd_forward, make_sparse_regression)
from ns_implicit.bilevel.outer import ValidationMSE

SIZES = ((500, 100), (5000, 100), (5000, 1000))
LAM1S = (2e-2, 2e-3)
LAM2 = 2e-3
TRAIN_FRACTION = 0.2  # make_sparse_regression's default split keeps 20% of rows for training
TARGET = 1e-8  # relative error every method must reach against exact at w*
SOLVE_TOL = 1e-10  # the inner solve that is timed
REF_TOL = 1e-13  # the tightly solved reference point w*
GMRES_TOLS = tuple(10.0 ** -k for k in range(6, 15))


# -- timing ---------------------------------------------------------------------------------
def median_time(fn, repeats, min_seconds=2e-3, max_number=200):
    """Median over ``repeats`` of the mean time of ``number`` back-to-back calls of ``fn``.

    ``number`` is chosen once so that one repeat lasts about ``min_seconds`` (timer noise);
    one untimed call comes first (caches, lazy imports).
    """
    fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = int(min(max_number, max(1, min_seconds // max(once, 1e-9))))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return float(np.median(times))


def rel_err(x, ref):
    return float(np.linalg.norm(np.asarray(x) - ref) / np.linalg.norm(ref))


# -- the peer: the same mathematics in plain NumPy -------------------------------------------
def numpy_ista(H, b, lam1, lam2, gamma, tol=SOLVE_TOL, max_iter=100_000):
    """ISTA on the Gram form, stopping on ‖w_{t+1} - w_t‖ <= tol ‖w_{t+1}‖ as the core does."""
    w = np.zeros_like(b)
    tau = gamma * lam1
    for _ in range(max_iter):
        u = w - gamma * (H @ w - b + lam2 * w)
        w_next = np.sign(u) * np.maximum(np.abs(u) - tau, 0.0)
        step = np.linalg.norm(w_next - w)
        w = w_next
        if step <= tol * np.linalg.norm(w):
            break
    return w


def numpy_hypergradient(H, w, lam2, u):
    """``J[S] = -(H[S, S] + λ2 I)⁻¹ [sign(w_S), w_S]`` (docs/theory.md §13 item 2); returns ``Jᵀu``."""
    S = np.flatnonzero(w)
    v = np.linalg.solve(H[np.ix_(S, S)] + lam2 * np.eye(len(S)), u[S])
    return -np.array([np.sign(w[S]) @ v, w[S] @ v])


def numpy_pipeline(H, b, outer, lam1, lam2, gamma):
    w = numpy_ista(H, b, lam1, lam2, gamma)
    return numpy_hypergradient(H, w, lam2, outer.grad_w(w))


# -- budgets ---------------------------------------------------------------------------------
def first_below(errors, target=TARGET):
    """1-based index of the first error <= target, or None."""
    for k, e in enumerate(errors, start=1):
        if e <= target:
            return k
    return None


def bench_config(n_train, p, lam1, repeats):
    data = make_sparse_regression(n_samples=int(round(n_train / TRAIN_FRACTION)), n_features=p,
                                  seed=0)
    assert data.X.shape == (n_train, p), data.X.shape
    emap = ElasticNetMap(data.X, data.y)
    outer = ValidationMSE(data.X_val, data.y_val)
    lam = np.array([lam1, LAM2])
    phi = emap.at(lam)
    grad_lam = outer.grad_lam(np.zeros(p), lam)

    # Reference: exact at a tightly solved w*.
    ref_solve = fixed_point_iteration(phi, tol=REF_TOL, max_iter=1_000_000)
    w_star = ref_solve.w
    u_star = outer.grad_w(w_star)
    g_ref = grad_lam + exact(phi, w_star, u_star).value

    rows, notes = [], []
    solve = fixed_point_iteration(phi, tol=SOLVE_TOL)
    t_solve = median_time(lambda: fixed_point_iteration(phi, tol=SOLVE_TOL), repeats)
    t_grad_w = median_time(lambda: outer.grad_w(w_star), repeats)

    def row(method, budget, value, seconds):
        rows.append({"method": method, "budget": budget,
                     "error": rel_err(grad_lam + value, g_ref) if value is not None else None,
                     "seconds": seconds, "ratio_to_solve": seconds / t_solve})

    # exact at w*: its error against itself is 0 by construction; the solve's effect on it
    # is what the "solve + hypergradient" line measures.
    row("exact", "direct", exact(phi, w_star, u_star).value,
        median_time(lambda: exact(phi, w_star, u_star), repeats))

    # AID-CG and AID-FP: smallest k from the per-step history, then timed with tol = 0.
    for name, fn, cap in (("aid-cg", aid_cg, 10 * p), ("aid-fp", aid_fp, 100_000)):
        hist = fn(phi, w_star, u_star, iters=cap, tol=0.0, history=True).history
        k = first_below([rel_err(grad_lam + g, g_ref) for g in hist])
        if k is None:
            notes.append(f"{name}: relative error {TARGET:g} not reached in {cap} steps")
            k = len(hist)
        res = fn(phi, w_star, u_star, iters=k, tol=0.0)
        row(name, f"k={k}", res.value,
            median_time(lambda: fn(phi, w_star, u_star, iters=k, tol=0.0), repeats))

    # AID-GMRES: loosest tolerance of the ladder that reaches the target.
    for tol in GMRES_TOLS:
        res = aid_gmres(phi, w_star, u_star, tol=tol)
        if rel_err(grad_lam + res.value, g_ref) <= TARGET:
            break
    row("aid-gmres", f"tol={tol:.0e} ({res.iterations} it)", res.value,
        median_time(lambda: aid_gmres(phi, w_star, u_star, tol=tol), repeats))

    # ITD: horizon t from the forward-mode errors J_tᵀ∇E(w_t) along the trajectory from 0.
    t_cap = 3 * ref_solve.iterations + 50
    errs = []
    itd_forward(phi, iters=t_cap, tol=0.0,
                on_step=lambda t, w_t, J_t: errs.append(
                    rel_err(grad_lam + J_t.T @ outer.grad_w(w_t), g_ref)))
    t_star = first_below(errs)
    if t_star is None:
        notes.append(f"itd: relative error {TARGET:g} not reached in {t_cap} steps")
        t_star = len(errs)
    traj_solve = fixed_point_iteration(phi, tol=0.0, max_iter=t_star, store_trajectory=True)
    u_t = outer.grad_w(traj_solve.w)
    row("itd", f"t={t_star}", itd(phi, traj_solve.trajectory, u_t).value,
        median_time(lambda: itd(phi, traj_solve.trajectory, u_t), repeats))
    t_traj = median_time(lambda: fixed_point_iteration(phi, tol=0.0, max_iter=t_star,
                                                       store_trajectory=True), repeats)
    notes.append(f"itd: the solve storing its {t_star} iterates takes {t_traj * 1e3:.3f} ms "
                 "(not included above)")

    def forward():  # u_t = ∇E(w_t) is an input here too, as for the reverse pass
        return itd_forward(phi, iters=t_star, tol=0.0).value.T @ u_t

    row("itd-forward", f"t={t_star}", forward(), median_time(forward, repeats))

    # Solve + hypergradient, the one-call API, for exact and aid-cg.
    totals = {}
    for method in ("exact", "aid-cg"):
        def call(method=method):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return hypergradient(emap, outer, lam, method, tol=SOLVE_TOL)
        res = call()
        totals[method] = {"seconds": median_time(call, repeats),
                          "error": rel_err(res.value, g_ref),
                          "converged": bool(res.converged)}

    # The peer, same data, same step γ.
    gamma = float(phi.gamma)
    H, b = emap.T.H, emap.T.b
    w_np = numpy_ista(H, b, lam1, LAM2, gamma)
    u_np = outer.grad_w(w_np)
    peer = {
        "solve_seconds": median_time(lambda: numpy_ista(H, b, lam1, LAM2, gamma), repeats),
        "hypergradient_seconds": median_time(
            lambda: numpy_hypergradient(H, w_star, LAM2, u_star), repeats),
        "total_seconds": median_time(
            lambda: numpy_pipeline(H, b, outer, lam1, LAM2, gamma), repeats),
        "hypergradient_error": rel_err(numpy_hypergradient(H, w_np, LAM2, u_np), g_ref),
    }
    return {
        "n_train": n_train, "p": p, "lam1": lam1, "lam2": LAM2,
        "support_size": solve.support_size, "solve_iterations": solve.iterations,
        "solve_seconds": t_solve, "grad_E_seconds": t_grad_w,
        "methods": rows, "totals": totals, "peer": peer, "notes": notes,
    }


# -- import + first call ---------------------------------------------------------------------
FIRST_CALL = r"""
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import numpy as np
import ns_implicit
t1, c1 = time.perf_counter(), time.process_time()
d = ns_implicit.make_sparse_regression(n_samples=2500, n_features=100, seed=0)
t2, c2 = time.perf_counter(), time.process_time()
problem = ns_implicit.ElasticNetProblem(d.X, d.y, d.X_val, d.y_val)
problem.hypergradient(np.array([2e-2, 2e-3]), method="exact")
t3, c3 = time.perf_counter(), time.process_time()
print(json.dumps({"import": t1 - t0, "first_hypergradient": t3 - t2,
                  "cpu": (c1 - c0) + (c3 - c2)}))
"""


def first_call(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("NS_IMPLICIT_PURE_PYTHON", None)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    rec = json.loads(out.strip().splitlines()[-1])
    rec["total"] = rec["import"] + rec["first_hypergradient"]
    rec["process_wall"] = wall
    return rec


def bench_import(repeats):
    cold, warm = [], []
    for _ in range(repeats):
        cache = tempfile.mkdtemp(prefix="ns_implicit_numba_")
        try:
            cold.append(first_call(cache))
            warm.append(first_call(cache))
            warm.append(first_call(cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def med(recs):
        return {k: float(np.median([r[k] for r in recs])) for k in recs[0]}

    return {"cold": med(cold), "warm": med(warm)}


# -- report ----------------------------------------------------------------------------------
def blas_threads():
    try:
        import threadpoolctl
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    info = threadpoolctl.threadpool_info()
    return ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in info) or "none"


def print_report(results, imports, repeats):
    ms = lambda s: f"{s * 1e3:9.3f}"  # noqa: E731
    print(f"ns_implicit {ns_implicit.__version__} | python {platform.python_version()} | "
          f"numpy {np.__version__} | cores {os.cpu_count()} | BLAS threads: {blas_threads()} | "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"medians of {repeats} repeats; relative errors against exact at w* (tol {REF_TOL:g})")
    for r in results:
        print()
        print(f"(n_train, p) = ({r['n_train']}, {r['p']}), lam = ({r['lam1']:g}, {r['lam2']:g}): "
              f"|S| = {r['support_size']}, inner solve to {SOLVE_TOL:g} from 0: "
              f"{r['solve_iterations']} iterations, {r['solve_seconds'] * 1e3:.3f} ms; "
              f"grad E(w): {r['grad_E_seconds'] * 1e3:.3f} ms")
        print(f"  {'method':<12} {'budget':<26} {'rel. error':>10} {'ms':>9} {'x solve':>8}")
        for m in r["methods"]:
            print(f"  {m['method']:<12} {m['budget']:<26} {m['error']:10.1e} "
                  f"{ms(m['seconds'])} {m['ratio_to_solve']:8.3f}")
        for method, t in r["totals"].items():
            print(f"  solve + {method:<6} hypergradient (tol {SOLVE_TOL:g}): "
                  f"{ms(t['seconds'])} ms, rel. error {t['error']:.1e}")
        peer = r["peer"]
        ours_hg = r["methods"][0]["seconds"]
        print(f"  peer (plain NumPy ISTA + numpy.linalg.solve), peer/ours: "
              f"solve {ms(peer['solve_seconds']).strip()} ms "
              f"({peer['solve_seconds'] / r['solve_seconds']:.2f}), hypergradient "
              f"{ms(peer['hypergradient_seconds']).strip()} ms "
              f"({peer['hypergradient_seconds'] / ours_hg:.2f} of exact), solve + hypergradient "
              f"{ms(peer['total_seconds']).strip()} ms "
              f"({peer['total_seconds'] / r['totals']['exact']['seconds']:.2f}), "
              f"rel. error {peer['hypergradient_error']:.1e}")
        for note in r["notes"]:
            print(f"  note: {note}")
    if imports is not None:
        print()
        print("import ns_implicit + first hypergradient (problem construction + exact, "
              "n_train = 500, p = 100), fresh interpreter:")
        for kind in ("cold", "warm"):
            rec = imports[kind]
            print(f"  Numba cache {kind}: import {rec['import']:.3f} s + first hypergradient "
                  f"{rec['first_hypergradient']:.3f} s = {rec['total']:.3f} s "
                  f"(CPU {rec['cpu']:.3f} s; process wall {rec['process_wall']:.3f} s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats (default 15)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per median")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--no-import", action="store_true",
                        help="skip the import + first-call measurement")
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 15)
    if repeats < 1:
        parser.error(f"--repeats must be >= 1; got {repeats}.")
    results = []
    for n_train, p in SIZES:
        for lam1 in LAM1S:
            results.append(bench_config(n_train, p, lam1, repeats))
    imports = None if args.no_import else bench_import(min(repeats, 3))
    print_report(results, imports, repeats)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"repeats": repeats, "configs": results, "import": imports}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
