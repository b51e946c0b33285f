"""NSID / SID error against ``exact`` as K grows: rates and floors (docs/theory.md §13 items 11-14).

    python validation/nsid_rates.py [--paper] [--seeds S] [--json FILE]

Default instance (the one of ``tests/test_nsid.py``): ``make_sparse_regression(n_samples=2000,
n_features=10, n_informative=5, seed=0)`` (400 training rows), λ = (0.05, 0.01), b = 20,
K ∈ {30, …, 3000}, 20 seeds. ``--paper``: docs/theory.md §12.3 (10,000 training rows, p = 100,
b = 100, λ = (0.1, 0.01), multipliers β 0.5 / γ 2), K ∈ {80, …, 8000}, 10 seeds.

At the tightly solved fixed point ``w*`` with ``u = ∇E(w*)`` and ``J = K + 1`` it prints the
relative root-mean-square error ``sqrt(mean_s ‖ĝ_s - ĝ_exact‖²) / ‖ĝ_exact‖`` over seeds for
NSID (decreasing and constant steps) and SID (decreasing steps), with the paper's shuffled
epochs and with i.i.d. batches, and the log-log slope of the mean-square error in K
(docs/theory.md §13 item 11 predicts <= -1 for NSID-dec; items 12-13 predict floors for the others).
Nothing is asserted.
"""

import argparse
import json
import warnings

import numpy as np

from ns_implicit import (StochasticElasticNetMap, exact, fixed_point_iteration,
                         make_sparse_regression, nsid, sid)
from ns_implicit.methods.nsid import StepSizeWarning
from ns_implicit.bilevel.outer import ValidationMSE


def instance(paper):
    if paper:
        d = make_sparse_regression(n_samples=50_000, n_features=100, n_informative=30,
                                   noise=0.01, correlated=True, effective_rank=30, seed=1)
        return d, 100, np.array([0.1, 0.01]), [80, 250, 800, 2500, 8000], dict(beta_mult=0.5,
                                                                               gamma_mult=2.0)
    d = make_sparse_regression(n_samples=2000, n_features=10, n_informative=5, seed=0)
    return d, 20, np.array([0.05, 0.01]), [30, 100, 300, 1000, 3000], {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paper", action="store_true", help="the paper's setting (docs/theory.md §12.3)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per point (20; --paper 10)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    d, b, lam, Ks, mults = instance(args.paper)
    seeds = args.seeds or (10 if args.paper else 20)
    F = StochasticElasticNetMap(d.X, d.y, b).at(lam)
    w = fixed_point_iteration(F.phi, tol=1e-15, max_iter=10**6).w
    u = ValidationMSE(d.X_val, d.y_val).grad_w(w)
    ref = exact(F.phi, w, u).value
    print(f"n = {F.n_samples}, p = {F.dim}, b = {b}, lam = {lam.tolist()}, q = {F.q:.4f}, "
          f"|S| = {np.count_nonzero(w)}, seeds = {seeds}, J = K + 1")
    print(f"relative RMSE vs exact at K = {Ks}")
    results = {}
    for sampling in ("epoch", "iid"):
        for name, fn, kw in (("NSID dec", nsid, {}), ("NSID const", nsid, {"steps": "const"}),
                             ("SID dec", sid, {})):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StepSizeWarning)
                mse = np.array([np.mean([np.sum((fn(F, w, u, K, rng=s, sampling=sampling,
                                                    **mults, **kw).value - ref) ** 2)
                                         for s in range(seeds)]) for K in Ks])
            rel = np.sqrt(mse) / np.linalg.norm(ref)
            slope = float(np.polyfit(np.log(Ks), np.log(mse), 1)[0])
            results[f"{name} ({sampling})"] = {"K": Ks, "relative_rmse": rel.tolist(),
                                               "mse_slope": slope}
            print(f"  {name:10s} {sampling:5s}  " + "  ".join(f"{r:.2e}" for r in rel)
                  + f"   MSE slope {slope:+.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"paper": args.paper, "seeds": seeds, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
