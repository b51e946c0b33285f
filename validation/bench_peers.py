"""Side-by-side hypergradient benchmark against peer libraries (docs/theory.md §16).

Task: from in-memory arrays ``(X, y, X_val, y_val)`` and ``λ = (λ1, λ2)`` of the elastic net
``‖Xw - y‖²/(2n) + λ1‖w‖₁ + (λ2/2)‖w‖²`` to the hypergradient of the validation loss
``‖X_val w - y_val‖²/(2 n_val)`` within a relative error of 1e-6 and of 1e-10 of the reference,
**set-up included for every tool** (for ns_implicit: building the problem — validation, step,
spectrum, Gram matrix — and the hypergradient; for the peers: their own set-up, array
conversion and, for JAX, a call of an already compiled function). For every tool the loosest
setting of its accuracy knob that reaches the target (checked on this data) is timed: median
of ``--repeats`` calls.

Reference: two independent computations that must agree to 1e-9 (relative), or the row is
flagged: (a) ns_implicit ``exact`` after the plain iteration of Φ to a relative step of 1e-14
with the exact spectrum; (b) scikit-learn's coordinate descent (``ElasticNet``, ``tol=1e-14``),
then the closed form ``w'_S = -(H_SS + λ2 I)⁻¹[sign(w_S), w_S]`` (docs/theory.md §11.2) with
NumPy.

Peers (optional: a missing one is reported as such):
* jaxopt: ``ProximalGradient`` with ``prox_elastic_net``, implicit differentiation, jitted
  (compiled once before timing); dense designs only (its sparse support is not used here).
* sparse-ho: the ``Implicit`` algorithm with its ``ElasticNet`` model and its own coordinate
  descent. sparse-ho is not on PyPI for current Python; install it from its source
  repository with ``pip install --no-deps <checkout>``. Shims, applied here before import:
  ``numpy.float`` (removed in NumPy 1.24) is restored as ``float``, and the ``tol`` argument
  of ``scipy.sparse.linalg.cg`` (renamed ``rtol`` in SciPy 1.14) is mapped. Its coordinate descent
  silently returns wrong answers for CSR input, so it gets the design in CSC format (the
  conversion is timed).
* PyTorch: unrolled ISTA (``γ = 1/(L + λ2)``, ``L`` by 30 power iterations), reverse mode
  through the iterations; the number of iterations is its accuracy knob.

Peak memory: ``--memory`` runs each tool once more in a fresh subprocess (at its knob for the
strictest target it reached) and reports the peak resident memory during the call above the
resident memory before it, sampled every 0.2 ms, after imports, the data and a warm-up call
on a small problem (so compilation is excluded for everyone). ``--memory-from FILE`` measures
only that, with the knobs of an earlier ``--json FILE``.

Usage::

    OPENBLAS_NUM_THREADS=1 python validation/bench_peers.py [--quick] [--repeats 5]
        [--configs NAME,...] [--memory] [--json FILE]
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

CONFIGS = {
    "dense-500x100": dict(n=500, p=100, density=None),
    "dense-5000x100": dict(n=5000, p=100, density=None),
    "dense-50000x100": dict(n=50_000, p=100, density=None),
    "dense-2000x2000": dict(n=2000, p=2000, density=None),
    "csr-20000x20000": dict(n=20_000, p=20_000, density=1e-3, lam1=0.1),
}
QUICK = ("dense-500x100", "dense-5000x100")
TARGETS = (1e-6, 1e-10)


def make_data(n, p, density, seed=0, lam1=0.02):
    """Seeded elastic-net data: Gaussian (or sparse Gaussian, CSR) designs, 5% informative
    features, noise 0.5; a validation split of n/4 rows; ``λ1 = lam1·λ1_max`` (0.02 for the
    dense settings, 0.1 for the sparse one), ``λ2 = 1e-3 λ1_max``."""
    rng = np.random.default_rng(seed)
    n_val = max(n // 4, 10)
    if density is None:
        X = rng.standard_normal((n, p))
        X_val = rng.standard_normal((n_val, p))
    else:
        X = sp.random(n, p, density=density, random_state=seed, format="csr",
                      data_rvs=rng.standard_normal)
        X_val = sp.random(n_val, p, density=density, random_state=seed + 1, format="csr",
                          data_rvs=rng.standard_normal)
    k = max(5, p // 20)
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.standard_normal(k)
    y = X @ w + 0.5 * rng.standard_normal(n)
    y_val = X_val @ w + 0.5 * rng.standard_normal(n_val)
    lam1_max = float(np.max(np.abs(X.T @ y))) / n
    lam = np.array([lam1 * lam1_max, 1e-3 * lam1_max])
    return X, y, X_val, y_val, lam


# -- the reference, two ways ---------------------------------------------------------------
def reference_ns(X, y, X_val, y_val, lam):
    import ns_implicit as ni

    problem = ni.ElasticNetProblem(X, y, X_val, y_val, spectrum="exact")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = problem.hypergradient(lam, method="exact", tol=1e-14, inner_iters=1_000_000,
                                    inner_solver="fixed-point")
    return res.value


def reference_closed_form(X, y, X_val, y_val, lam):
    from sklearn.linear_model import ElasticNet

    lam1, lam2 = lam
    est = ElasticNet(alpha=lam1 + lam2, l1_ratio=lam1 / (lam1 + lam2), fit_intercept=False,
                     tol=1e-14, max_iter=1_000_000, selection="cyclic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X.tocsc() if sp.issparse(X) else X, y)
    w = est.coef_
    S = np.flatnonzero(w)
    n = X.shape[0]
    XS = X[:, S]
    XS = XS.toarray() if sp.issparse(XS) else XS
    H = XS.T @ XS / n + lam2 * np.eye(len(S))
    r = X_val @ w - y_val
    gE = np.asarray(X_val.T @ r).ravel()[S] / X_val.shape[0]
    v = np.linalg.solve(H, gE)
    return -np.array([np.sign(w[S]) @ v, w[S] @ v])


# -- the tools -----------------------------------------------------------------------------
def run_ns(X, y, X_val, y_val, lam, knob):
    """``knob = (method, tol)``."""
    import ns_implicit as ni

    method, tol = knob
    problem = ni.ElasticNetProblem(X, y, X_val, y_val)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = problem.hypergradient(lam, method=method, tol=tol)
    return res.value


def _ns_knobs(config):
    """Groups of knobs of equal accuracy: the faster method of a group that reaches the
    target is timed."""
    return [[(m, t) for m in ("exact", "aid-cg")]
            for t in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13)]


_JAX_CACHE = {}


def _jax_fn(tol):
    import jax
    import jax.numpy as jnp
    from functools import partial

    from jaxopt import ProximalGradient
    from jaxopt.linear_solve import solve_normal_cg
    from jaxopt.prox import prox_elastic_net

    if tol in _JAX_CACHE:
        return _JAX_CACHE[tol]

    def fun(w, X, y):
        r = X @ w - y
        return 0.5 * jnp.dot(r, r) / X.shape[0]

    def prox(w, hp, scaling):
        # jaxopt's penalty is hp0 (‖x‖₁ + hp1/2 ‖x‖²): hp = (λ1, λ2/λ1) is ours
        lam1, lam2 = hp
        return prox_elastic_net(w, (lam1, lam2 / lam1), scaling)

    solver = ProximalGradient(fun=fun, prox=prox, tol=tol, maxiter=100_000,
                              implicit_diff=True, acceleration=True,
                              implicit_diff_solve=partial(solve_normal_cg, tol=tol * 1e-2))

    def outer(hp, X, y, X_val, y_val):
        w = solver.run(jnp.zeros(X.shape[1]), hp, X, y).params
        r = X_val @ w - y_val
        return 0.5 * jnp.dot(r, r) / X_val.shape[0]

    fn = jax.jit(jax.grad(outer))
    _JAX_CACHE[tol] = fn
    return fn


def run_jaxopt(X, y, X_val, y_val, lam, knob):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    if sp.issparse(X):
        raise NotImplementedError("dense designs only")
    fn = _jax_fn(knob)
    g = fn((jnp.asarray(lam[0]), jnp.asarray(lam[1])), jnp.asarray(X), jnp.asarray(y),
           jnp.asarray(X_val), jnp.asarray(y_val))
    return np.array([float(g[0]), float(g[1])])


def _sparse_ho():
    np.float = float  # shim: removed in NumPy 1.24, still used by sparse-ho
    import scipy.sparse.linalg
    import sparse_ho
    import sparse_ho.algo.implicit
    from sparse_ho.models import ElasticNet

    def cg(*args, tol=None, **kwargs):  # shim: SciPy 1.14 renamed cg's tol to rtol
        if tol is not None:
            kwargs["rtol"] = tol
        return scipy.sparse.linalg.cg(*args, **kwargs)

    sparse_ho.algo.implicit.cg = cg
    return sparse_ho, ElasticNet


def run_sparse_ho(X, y, X_val, y_val, lam, knob):
    sparse_ho, ElasticNet = _sparse_ho()
    if sp.issparse(X):
        X = X.tocsc()        # its CD is wrong on CSR input
        X_val = X_val.tocsc()
    n_val = X_val.shape[0]

    def grad_outer(mask, dense):
        XvS = X_val[:, mask]
        return np.asarray(XvS.T @ (XvS @ dense - y_val)).ravel() / n_val

    algo = sparse_ho.Implicit(max_iter_lin_sys=10_000, tol_lin_sys=knob * 1e-2)
    _, _, jac_v, _ = algo.compute_beta_grad(X, y, np.log(lam), ElasticNet(), grad_outer,
                                            max_iter=100_000, tol=knob, full_jac_v=True)
    return np.asarray(jac_v) / lam   # d/dlog λ -> d/dλ


def run_torch(X, y, X_val, y_val, lam, knob):
    import torch

    torch.set_num_threads(max(1, int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))))
    if sp.issparse(X):
        Xc = X.tocoo()
        Xt = torch.sparse_coo_tensor(np.vstack([Xc.row, Xc.col]), Xc.data, Xc.shape).coalesce()
        Xt = Xt.to_sparse_csr()
        XtT = torch.sparse_coo_tensor(np.vstack([Xc.col, Xc.row]), Xc.data,
                                      (Xc.shape[1], Xc.shape[0])).coalesce().to_sparse_csr()
        Xvc = X_val.tocoo()
        Xv = torch.sparse_coo_tensor(np.vstack([Xvc.row, Xvc.col]), Xvc.data,
                                     Xvc.shape).coalesce().to_sparse_csr()
    else:
        Xt = torch.from_numpy(np.ascontiguousarray(X))
        XtT = None                # Xᵀr as r @ X (a transposed gemv, no copy)
        Xv = torch.from_numpy(np.ascontiguousarray(X_val))
    yt, yv = torch.from_numpy(np.asarray(y)), torch.from_numpy(np.asarray(y_val))
    n, p = X.shape
    def xt(r):
        return r @ Xt if XtT is None else XtT @ r

    with torch.no_grad():
        v = torch.ones(p, dtype=torch.float64) / p ** 0.5
        for _ in range(30):
            v = xt(Xt @ v) / n
            L = float(torch.linalg.vector_norm(v))
            v = v / L
    hp = torch.tensor(np.asarray(lam, dtype=np.float64), requires_grad=True)
    gamma = 1.0 / (1.01 * L + hp[1])
    w = torch.zeros(p, dtype=torch.float64)
    for _ in range(int(knob)):
        u = w - gamma * (xt(Xt @ w - yt) / n + hp[1] * w)
        w = torch.sign(u) * torch.clamp(torch.abs(u) - gamma * hp[0], min=0.0)
    r = Xv @ w - yv
    E = 0.5 * torch.dot(r, r) / X_val.shape[0]
    E.backward()
    return hp.grad.numpy().copy()


TOOLS = {
    "ns_implicit": (run_ns, _ns_knobs),
    "jaxopt": (run_jaxopt, lambda c: [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11,
                                      1e-12, 1e-13, 1e-14]),
    "sparse-ho": (run_sparse_ho, lambda c: [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11,
                                            1e-12, 1e-13, 1e-14]),
    "torch-ista": (run_torch, lambda c: [25, 50, 100, 200, 400, 800, 1600, 3200, 6400]),
}


def available(tool):
    try:
        if tool == "jaxopt":
            import jaxopt  # noqa: F401
        elif tool == "sparse-ho":
            _sparse_ho()
        elif tool == "torch-ista":
            import torch  # noqa: F401
        return None
    except Exception as exc:  # a peer that does not import is reported, not fatal
        return f"{type(exc).__name__}: {exc}"


def rel_err(g, ref):
    return float(np.linalg.norm(np.asarray(g) - ref) / np.linalg.norm(ref))


def timed(fn, args, knob, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args, knob)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_tool(tool, data, ref, repeats, budget_s=60.0):
    """For each target: the loosest knob reaching it and its median time."""
    fn, knobs = TOOLS[tool]
    out = {}
    cache = {}
    spent = 0.0
    for target in TARGETS:
        for group in knobs(None):
            group = group if isinstance(group, list) else [group]
            reached = []
            for knob in group:
                key = repr(knob)
                if key not in cache:
                    t0 = time.perf_counter()
                    try:
                        cache[key] = rel_err(fn(*data, knob), ref)
                    except NotImplementedError as exc:
                        return {"skipped": str(exc)}
                    except Exception as exc:  # a failing peer is reported, not fatal
                        cache[key] = f"{type(exc).__name__}: {exc}"[:200]
                    spent += time.perf_counter() - t0
                err = cache[key]
                if isinstance(err, float) and err <= target:
                    fn(*data, knob)   # warm (compilation, caches) before timing
                    reached.append(dict(knob=knob, error=err,
                                        seconds=timed(fn, data, knob, repeats)))
            if reached:
                out[str(target)] = min(reached, key=lambda r: r["seconds"])
                break
            if spent > budget_s:
                break
        if str(target) not in out:
            out[str(target)] = {"reached": False, "errors": dict(cache)}
    return out


def _rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_extra(fn, *args):
    """Peak resident set size above the size before the call (bytes), sampled every 0.2 ms
    by a thread during the call (``/proc/self/statm``; Linux)."""
    import gc
    import threading

    gc.collect()
    base = _rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(2e-4)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        fn(*args)
    finally:
        done.set()
        thread.join()
    peak[0] = max(peak[0], _rss_bytes())
    return peak[0] - base


def measure_memory(tool, config, knob):
    """Peak extra resident memory (MiB) of one call in a fresh process, above the memory after
    imports, the data and a warm-up call on a small problem (compilation excluded for all)."""
    code = ("import sys, json; sys.path.insert(0, %r); import bench_peers as b; "
            "data = b.make_data(**b.CONFIGS[%r]); fn = b.TOOLS[%r][0]; knob = %r; "
            "d = b.CONFIGS[%r]['density']; fn(*b.make_data(1000, 500, d and 0.02), knob); "
            "print(json.dumps(b.peak_extra(fn, *data, knob) / 2.0 ** 20))"
            % (os.path.dirname(os.path.abspath(__file__)), config, tool, knob, config))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), timeout=1800)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except Exception:
        return f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr else '?'}"


def weighted_lasso_ratio(repeats, tol=1e-10, n=20_000, p=10_000, density=1e-3, seed=0):
    """The weighted lasso with p hyperparameters on a CSR design at the sparse scale: median
    times of the inner solve (``inner_solver="auto"``: coordinate descent) and of ``exact`` and
    ``aid-cg`` at its solution, and their ratios."""
    import ns_implicit as ni
    from ns_implicit.methods import get_method

    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, random_state=seed, format="csr",
                  data_rvs=rng.standard_normal)
    X_val = sp.random(n // 4, p, density=density, random_state=seed + 1, format="csr",
                      data_rvs=rng.standard_normal)
    beta = np.zeros(p)
    beta[rng.choice(p, 50, replace=False)] = rng.standard_normal(50)
    y = X @ beta + 0.5 * rng.standard_normal(n)
    y_val = X_val @ beta + 0.5 * rng.standard_normal(n // 4)
    problem = ni.WeightedLassoProblem(X, y, X_val, y_val)
    lam = 0.05 * problem.lam1_max * np.exp(0.3 * rng.standard_normal(p))
    phi = problem.map.at(lam)
    solve = lambda: problem.solve(lam, inner_solver="auto", tol=tol)  # noqa: E731
    w = solve().w
    u = problem.outer.grad_w(w)
    out = {"n": n, "p": p, "support": int(np.count_nonzero(w)),
           "solve_s": timed(lambda _k: solve(), (), None, repeats)}
    for m in ("exact", "aid-cg"):
        spec = get_method(m)
        run = lambda _k: spec.run(phi, w, u, iters=10_000, tol=tol)  # noqa: E731,B023
        out[m + "_s"] = timed(run, (), None, repeats)
        out[m + "_ratio"] = out[m + "_s"] / out["solve_s"]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the two smallest settings")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", default=None, help="comma-separated subset of " +
                        ", ".join(CONFIGS))
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--memory", action="store_true", help="peak memory (subprocesses)")
    parser.add_argument("--weighted", action="store_true",
                        help="also: weighted lasso, p = 10,000 hyperparameters, CSR 20,000 rows")
    parser.add_argument("--memory-from", default=None, metavar="FILE",
                        help="only peak memory, with the knobs of an earlier --json FILE")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    names = list(QUICK) if args.quick else list(CONFIGS)
    if args.configs:
        names = args.configs.split(",")
    tools = args.tools.split(",")
    missing = {t: available(t) for t in tools}
    for t, why in missing.items():
        if why:
            print(f"# {t}: not available ({why})")
    tools = [t for t in tools if not missing[t]]
    if args.memory_from:
        with open(args.memory_from) as fh:
            earlier = json.load(fh)
        for name in names:
            for tool in tools:
                res = earlier.get(name, {}).get("tools", {}).get(tool, {})
                knobs = [res[str(t)]["knob"] for t in TARGETS
                         if isinstance(res.get(str(t)), dict) and "knob" in res[str(t)]]
                if knobs:
                    knob = tuple(knobs[-1]) if isinstance(knobs[-1], list) else knobs[-1]
                    mem = measure_memory(tool, name, knob)
                    shown = f"{mem:.1f} MiB" if isinstance(mem, float) else mem
                    print(f"{name:18s} {tool:12s} knob {knob}: peak extra {shown}", flush=True)
        return earlier
    print(f"# OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"load average {os.getloadavg()[0]:.2f}, repeats {args.repeats}")
    results = {}
    for name in names:
        data = make_data(**CONFIGS[name])
        ref_a = reference_ns(*data)
        ref_b = reference_closed_form(*data)
        agree = rel_err(ref_a, ref_b)
        row = {"reference_agreement": agree, "reference": ref_a.tolist(), "tools": {}}
        print(f"\n## {name}: reference (a) vs (b) relative difference {agree:.1e}"
              + ("" if agree <= 1e-9 else "  ** FLAGGED **"))
        for tool in tools:
            res = bench_tool(tool, data, ref_a, args.repeats)
            row["tools"][tool] = res
            if args.memory and "skipped" not in res:
                knob = next((v["knob"] for v in reversed(list(res.values()))
                             if isinstance(v, dict) and "knob" in v), None)
                if knob is not None:
                    res["peak_extra_mib"] = measure_memory(tool, name, knob)
            cells = []
            for target in TARGETS:
                r = res.get(str(target), {})
                if "skipped" in res:
                    cells.append(f"skipped ({res['skipped']})")
                elif "seconds" in r:
                    cells.append(f"{target:g}: {1e3 * r['seconds']:.1f} ms (knob {r['knob']}, "
                                 f"err {r['error']:.1e})")
                else:
                    cells.append(f"{target:g}: not reached")
            mem = res.get("peak_extra_mib")
            print(f"  {tool:12s} " + " | ".join(cells)
                  + (f" | peak +{mem:.1f} MiB" if isinstance(mem, float) else
                     (f" | {mem}" if mem else "")), flush=True)
        results[name] = row
    if args.weighted:
        wl = weighted_lasso_ratio(args.repeats)
        results["weighted-lasso"] = wl
        print(f"\n## weighted lasso, CSR {wl['n']}x{wl['p']} (p hyperparameters), |S| = "
              f"{wl['support']}: solve {1e3 * wl['solve_s']:.1f} ms, exact "
              f"{1e3 * wl['exact_s']:.1f} ms ({wl['exact_ratio']:.2f}x), aid-cg "
              f"{1e3 * wl['aid-cg_s']:.1f} ms ({wl['aid-cg_ratio']:.2f}x)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=str)
    return results


if __name__ == "__main__":
    main()
