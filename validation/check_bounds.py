"""Theorem 4.1 on many real runs: measured excess of ITD and AID-FP vs the bound, per iteration.

Each seed draws its own setting (seeded): ``p ∈ [2, 8]`` features, ``n_train ∈ [2, 4p]`` rows
(some ``p > n``), ``λ1 = r·λ1_max`` with ``r ~ U(0.05, 0.9)``, ``λ2`` log-uniform in
``[0.01, 1]``; odd seeds put the solution exactly at a kink (a tie), even seeds are generic.
Every instance runs ``t = 0..ITERS`` iterations through :func:`ns_implicit.theory.check.check_instance`
(the same code as ``ns-implicit check-bounds``). Prints a summary, writes the per-instance
results to ``validation/results/check_bounds.json``; exit status 1 on any violation.

    python validation/check_bounds.py                 # 1200 instances, 2 processes (loky)
    python validation/check_bounds.py --instances 100 --n-jobs 1
    python validation/check_bounds.py --backend dask --scheduler tcp://HOST:8786

Each instance is a pure function of ``(config, seed)`` (:func:`one`), fanned out by
:func:`ns_implicit._parallel.run_records` (joblib: loky processes or a Dask cluster); the
records are the same bits for any backend and number of workers (their ``seconds`` aside).
"""

import argparse
import json
import os
import sys
import time
import numpy as np

from ns_implicit._parallel import BACKENDS, run_records
from ns_implicit.errors import SelectionCapError
from ns_implicit.theory.check import check_instance
from ns_implicit.theory.instances import DegenerateKinkError, random_instance


def setting(seed):
    """The seeded setting of one instance."""
    rng = np.random.default_rng([seed, 2024])
    p = int(rng.integers(2, 9))
    return {"seed": seed, "p": p, "n_train": int(rng.integers(2, 4 * p + 1)),
            "lam1_ratio": float(rng.uniform(0.05, 0.9)),
            "lam2": float(np.exp(rng.uniform(np.log(0.01), np.log(1.0)))),
            "at_kink": bool(seed % 2)}


def one(config, seed):
    """The record of one seeded instance, checked for ``t = 0..config["iters"]``."""
    iters = config["iters"]
    s = setting(seed)
    start = time.perf_counter()
    try:
        inst = random_instance(seed, n_train=s["n_train"], p=s["p"], lam1_ratio=s["lam1_ratio"],
                               lam2=s["lam2"], at_kink=s["at_kink"])
        r = check_instance(inst, iters=iters)
    except (DegenerateKinkError, SelectionCapError) as exc:
        return {**s, "skipped": str(exc)}
    itd_ok, aid_ok = np.isfinite(r.itd_bound), np.isfinite(r.aid_bound)
    return {**s, "q": r.constants.q, "q_support": r.constants.q_support, "R": r.constants.R,
            "ties": list(r.info["ties"]), "support_identified_at": r.t_bar,
            "itd_compared": int(itd_ok.sum()), "aid_compared": int(aid_ok.sum()),
            "max_ratio_itd": _finite(r.max_ratio("itd")), "max_ratio_aid": _finite(r.max_ratio("aid")),
            "itd_set_dropped_at": r.info["itd_set_dropped_at"],
            "violations": [list(v) for v in r.violations], "problems": r.problems,
            "seconds": time.perf_counter() - start}


def _finite(v):
    return None if not np.isfinite(v) else float(v)


def summarize(rows):
    done = [r for r in rows if "skipped" not in r]

    def ratios(key, subset):
        vals = np.array([r[key] for r in subset if r[key] is not None])
        if not len(vals):
            return None
        return {"max": float(vals.max()), "median": float(np.median(vals)),
                "p99": float(np.quantile(vals, 0.99)), "instances": int(len(vals))}
    kinks = [r for r in done if r["ties"]]
    generic = [r for r in done if not r["ties"]]
    return {
        "instances": len(done), "skipped": len(rows) - len(done),
        "at_kinks": len(kinks), "generic": len(generic),
        "points_compared": int(sum(r["itd_compared"] + r["aid_compared"] for r in done)),
        "violations": int(sum(len(r["violations"]) for r in done)),
        "problems": int(sum(len(r["problems"]) for r in done)),
        "no_identification_within_iters": int(sum(r["support_identified_at"] is None for r in done)),
        "itd_set_dropped": int(sum(r["itd_set_dropped_at"] is not None for r in done)),
        "ratio_itd": {"all": ratios("max_ratio_itd", done), "kinks": ratios("max_ratio_itd", kinks),
                      "generic": ratios("max_ratio_itd", generic)},
        "ratio_aid_fp": {"all": ratios("max_ratio_aid", done), "kinks": ratios("max_ratio_aid", kinks),
                         "generic": ratios("max_ratio_aid", generic)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1200)
    parser.add_argument("--iters", type=int, default=120)
    parser.add_argument("--n-jobs", "--workers", dest="n_jobs", type=int, default=2,
                        help="worker processes (default 2)")
    parser.add_argument("--backend", choices=BACKENDS, default="loky",
                        help="joblib backend (default loky; dask: --scheduler, else "
                             "DASK_SCHEDULER_ADDRESS, else a LocalCluster of --n-jobs workers)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "check_bounds.json"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = run_records(one, {"iters": args.iters}, range(args.instances), n_jobs=args.n_jobs,
                       backend=args.backend, scheduler=args.scheduler)
    seconds = time.perf_counter() - start
    summary = summarize(rows)
    summary["seconds"] = seconds
    summary["iters"] = args.iters
    summary["n_jobs"], summary["backend"] = args.n_jobs, args.backend
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"summary": summary, "instances": rows}, fh, indent=1)
    print(json.dumps(summary, indent=1))
    for r in rows:
        if r.get("violations") or r.get("problems"):
            print(f"seed {r['seed']}: violations {r['violations'][:2]} problems {r['problems'][:2]}")
    print(f"wrote {args.out} ({seconds:.0f} s)", file=sys.stderr)
    return 0 if summary["violations"] == 0 and summary["problems"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
