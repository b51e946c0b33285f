"""Benchmark of NSID / SID throughput (samples per second) on the paper's stochastic setting.

    python validation/bench_nsid.py [--quick] [--repeats R] [--K K] [--blas-threads T] [--json FILE]

Setting (docs/theory.md §12.3): ``make_sparse_regression(n_samples=50_000, n_features=100,
n_informative=30, noise=0.01, correlated=True, effective_rank=30, seed=1)`` (10,000 training
rows), λ = (0.1, 0.01), minibatch b = 100, the point ``w = w_399`` (400 ISTA iterates from 0,
the paper's ``last_det``), ``u = ∇E(w)``, ``J = K + 1``, decreasing steps with the paper's
multipliers (β = 0.5·2/(1 - q²), γ = 2·2/(1 - q²)), batches dealt in shuffled epochs.

Each call is the whole of Algorithm 1 (averaged map over J batches, selection at ū, K
iterations of eq. (19), the output ``(A_G B̄_T + B_G)ᵀ v_K``) and uses ``(K + J)·b`` samples;
throughput = samples / median wall-clock time over repeats. Peers, in the same run, on the
same batches (same seeds, same sampler logic; their output is checked against ns_implicit):

* ``numpy-loop``: the same loop in plain NumPy, one ``X[idx]`` gather and two BLAS
  products per minibatch (Algorithm 1 as written);
* ``numpy-counts``: the same, but step 1 as ns_implicit does it when ``J·b > n``: the J
  batches as a multiset of rows (``numpy.bincount``) and one weighted full-data product —
  NumPy at its best for step 1.

The ns_implicit kernels run on one core; the peers' BLAS gets ``--blas-threads`` threads
(default 1, set through ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` before NumPy loads:
products of 100 × 100 blocks do not gain from threads, and on a busy 2-core machine the
extra threads only add contention). Ratios > 1 mean the peer is slower. Nothing is
asserted. ``--quick``: K = 800, 3 repeats.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings


def _blas_threads_from_argv():
    """Read ``--blas-threads`` before NumPy is imported (BLAS reads the variables once)."""
    threads = "1"
    for i, arg in enumerate(sys.argv):
        if arg == "--blas-threads" and i + 1 < len(sys.argv):
            threads = sys.argv[i + 1]
        elif arg.startswith("--blas-threads="):
            threads = arg.split("=", 1)[1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads
    return threads


BLAS_THREADS = _blas_threads_from_argv()

import numpy as np  # noqa: E402  (after the BLAS thread count is fixed)

import ns_implicit  # noqa: E402
from ns_implicit import (StochasticElasticNetMap, fixed_point_iteration,  # noqa: E402
                         make_sparse_regression, nsid, sid)
from ns_implicit.methods.nsid import StepSizeWarning, step_sizes  # noqa: E402
from ns_implicit.bilevel.outer import ValidationMSE  # noqa: E402
from ns_implicit.solvers.sampling import spawn  # noqa: E402

LAM = np.array([0.1, 0.01])
BATCH = 100
BETA_MULT, GAMMA_MULT = 0.5, 2.0  # docs/theory.md §12.3 (β(1 - q²) = 1: the Lemma D.2 boundary)


def median_time(fn, repeats):
    """Median wall-clock time of ``fn()`` over ``repeats`` calls after one untimed call."""
    out = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


# -- the plain-NumPy peer ---------------------------------------------------------------------
def epoch_batches(rng, n, b):
    """Shuffled epochs, ⌊n/b⌋ disjoint batches each (the logic of ns_implicit's BatchStream)."""
    while True:
        perm = rng.permutation(n)[: (n // b) * b].astype(np.int64).reshape(n // b, b)
        yield from perm


def numpy_nsid(X, y, w, u, lam, gamma, dgamma, tau, dtau, etas, J, seed, counts=False):
    """Algorithm 1 for the least-squares step in plain NumPy (docs/theory.md §9, §11.2)."""
    n, b = X.shape[0], BATCH
    lam2 = lam[1]
    first, second = (epoch_batches(g, n, b) for g in spawn(seed, 2))
    # step 1: ū = mean of J minibatch steps = one step with the mean minibatch gradient
    if counts:
        c = np.bincount(np.concatenate([next(first) for _ in range(J)]), minlength=n)
        g_bar = X.T @ (c * (X @ w - y)) / (J * b)
    else:
        g_sum = np.zeros_like(w)
        for _ in range(J):
            idx = next(first)
            Xb = X[idx]
            g_sum += Xb.T @ (Xb @ w - y[idx]) / b
        g_bar = g_sum / J
    direction = g_bar + lam2 * w
    u_bar = w - gamma * direction
    dT_dlam2 = -gamma * w - dgamma * direction
    # step 2: soft-threshold selection at ū, frozen
    m = (np.abs(u_bar) > tau).astype(w.dtype)
    ms = m * np.sign(u_bar)
    # step 3: v_{k+1} = (1 - η_k) v_k + η_k (∂_1T̂(ξ_k)ᵀ (m ⊙ v_k) + u)
    v = np.zeros_like(w)
    for eta in etas.tolist():
        idx = next(second)
        Xb = X[idx]
        z = m * v
        v = (1 - eta) * v + eta * (z - gamma * (Xb.T @ (Xb @ z) / b + lam2 * z) + u)
    # step 4: (A_G B̄_T + B_G)ᵀ v
    return np.array([0.0, dT_dlam2 @ (m * v)]) - dtau * (ms @ v)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="K = 800, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 7)")
    parser.add_argument("--K", type=int, default=None, help="NSID iterations (default 8000)")
    parser.add_argument("--blas-threads", default="1", help="BLAS threads of the NumPy peers")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    K = args.K or (800 if args.quick else 8000)
    repeats = args.repeats or (3 if args.quick else 7)
    J = K + 1
    print(f"ns_implicit {ns_implicit.__version__}, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, BLAS threads "
          f"{BLAS_THREADS}; K = {K}, J = {J}, b = {BATCH}, median of {repeats}")
    rows = []
    for dtype in (np.float64, np.float32):
        d = make_sparse_regression(n_samples=50_000, n_features=100, n_informative=30,
                                   noise=0.01, correlated=True, effective_rank=30, seed=1,
                                   dtype=dtype)
        F = StochasticElasticNetMap(d.X, d.y, BATCH).at(LAM)
        w = fixed_point_iteration(F.phi, tol=0.0, max_iter=399).w
        u = ValidationMSE(d.X_val, d.y_val).grad_w(w)
        samples = (K + J) * BATCH
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StepSizeWarning)
            etas = step_sizes(K, F.q, beta_mult=BETA_MULT, gamma_mult=GAMMA_MULT)
            kw = dict(beta_mult=BETA_MULT, gamma_mult=GAMMA_MULT)
            t_nsid, r_nsid = median_time(lambda: nsid(F, w, u, K, J, 0, **kw), repeats)
            t_sid, _ = median_time(lambda: sid(F, w, u, K, J, 0, **kw), repeats)
        peer_args = (d.X, d.y, w, u, F.lam, F.phi.gamma, -float(F.phi.gamma) ** 2, F.tau,
                     F.dtau, etas, J, 0)
        t_np, g_np = median_time(lambda: numpy_nsid(*peer_args), repeats)
        t_npc, g_npc = median_time(lambda: numpy_nsid(*peer_args, counts=True), repeats)
        agree = max(float(np.linalg.norm(g - r_nsid.value) / np.linalg.norm(r_nsid.value))
                    for g in (g_np, g_npc))
        row = {"dtype": np.dtype(dtype).name, "K": K, "J": J, "samples": samples,
               "nsid_seconds": t_nsid, "sid_seconds": t_sid, "numpy_loop_seconds": t_np,
               "numpy_counts_seconds": t_npc,
               "nsid_samples_per_second": samples / t_nsid,
               "sid_samples_per_second": samples / t_sid,
               "numpy_loop_samples_per_second": samples / t_np,
               "numpy_counts_samples_per_second": samples / t_npc,
               "ratio_vs_numpy_loop": t_np / t_nsid, "ratio_vs_numpy_counts": t_npc / t_nsid,
               "peer_relative_difference": agree}
        rows.append(row)
        print(f"\n{row['dtype']}: {samples:,} samples per call "
              f"(epochs = {samples / F.n_samples:.1f}); peers agree with nsid to {agree:.1e}")
        print(f"  {'':14s} {'seconds':>9s} {'samples/s':>12s} {'nsid speed-up':>14s}")
        for name, t in (("nsid", t_nsid), ("sid", t_sid), ("numpy-loop", t_np),
                        ("numpy-counts", t_npc)):
            print(f"  {name:14s} {t:9.4f} {samples / t:12.3e} {t / t_nsid:14.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"version": ns_implicit.__version__, "repeats": repeats,
                       "blas_threads": BLAS_THREADS, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
