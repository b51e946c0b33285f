"""Figure 2 (left): NSID and SID against AID-FP on the stochastic elastic net, docs/theory.md §12.3.

All methods use the same input point ``w = w_{t0}`` (the last of ``t0`` deterministic ISTA
iterates, mode ``last_det``) and ``u = ∇E(w)``; errors are relative to the **exact**
hypergradient at a tightly solved ``w*``. AID-FP with ``k`` iterations costs ``k`` epochs;
NSID/SID with ``K`` iterations and ``J = K + 1`` batches of ``b`` rows cost
``(K + J)·b / n`` epochs. Each evaluation point is an independent run (fresh samples), as in
the authors' scripts. Curves: NSID and SID with decreasing (``η_k = β/(γ + k)``) and
constant (``η = β/γ``) steps, ``β = 0.5·2/(1 - q²)``, ``γ = 2·2/(1 - q²)``.
"""

import time
import warnings

import numpy as np

import ns_implicit.methods as methods
from ns_implicit.maps.stochastic import StochasticElasticNetMap
from ns_implicit.methods.nsid import StepSizeWarning, nsid, sid
from ns_implicit.bilevel.outer import ValidationMSE
from ns_implicit.data.synthetic import make_sparse_regression
from ns_implicit.solvers.sampling import spawn
from ns_implicit.solvers.fixed_point import fixed_point_iteration
from ns_implicit.experiments.results import Progress

NAME = "enet-stochastic"

PAPER = {
    "n_samples": 50_000, "n_features": 100, "n_informative": 30, "noise": 0.01,
    "correlated": True, "effective_rank": 30, "lam": [0.1, 0.01], "batch_size": 100,
    "t0": 400, "aid_max_k": 160, "K_max": 8000, "n_eval": 100, "beta_mult": 0.5,
    "gamma_mult": 2.0, "seeds": list(range(10)),
}
QUICK = dict(PAPER, n_samples=5_000, K_max=2000, n_eval=8, aid_max_k=40, seeds=[0, 1, 2, 3, 4])

STOCHASTIC = {"nsid-dec": (nsid, "dec"), "sid-dec": (sid, "dec"),
              "nsid-const": (nsid, "const"), "sid-const": (sid, "const")}


def run_seed(config, seed, progress=None):
    data = make_sparse_regression(
        n_samples=config["n_samples"], n_features=config["n_features"],
        n_informative=config["n_informative"], noise=config["noise"],
        correlated=config["correlated"], effective_rank=config["effective_rank"], seed=seed)
    F = StochasticElasticNetMap(data.X, data.y, config["batch_size"]).at(config["lam"])
    outer = ValidationMSE(data.X_val, data.y_val)
    star = fixed_point_iteration(F.phi, tol=1e-15, max_iter=1_000_000)
    g_star = methods.exact(F.phi, star.w, outer.grad_w(star.w)).value
    w = fixed_point_iteration(F.phi, tol=0.0, max_iter=config["t0"]).w
    u = outer.grad_w(w)
    norm = float(np.linalg.norm(g_star))
    n = F.n_samples
    step = max(config["K_max"] // config["n_eval"], 1)
    Ks = list(range(0, config["K_max"] + 1, step))
    epochs = [(K + K + 1) * config["batch_size"] / n for K in Ks]
    curves = {name: [] for name in STOCHASTIC}
    rngs = spawn(np.random.default_rng(seed), len(Ks) * len(STOCHASTIC))
    with warnings.catch_warnings():
        # β(1 - q²) = 1 with the paper's multipliers: the boundary of Lemma D.2 (docs/theory.md §12.3).
        warnings.simplefilter("ignore", StepSizeWarning)
        for i, K in enumerate(Ks):
            for j, (name, (fn, steps)) in enumerate(STOCHASTIC.items()):
                if K == 0:  # v_0 = 0, so ĝ = 0: relative error 1 (nsid refuses K = 0)
                    curves[name].append(1.0)
                    continue
                res = fn(F, w, u, K, K + 1, rngs[i * len(STOCHASTIC) + j], steps=steps,
                         beta_mult=config["beta_mult"], gamma_mult=config["gamma_mult"])
                curves[name].append(np.linalg.norm(res.value - g_star) / norm)
            if progress is not None:
                progress.step()
    aid = methods.aid_fp(F.phi, w, u, iters=config["aid_max_k"], tol=0.0, history=True)
    aid_curve = [1.0] + [float(np.linalg.norm(g - g_star) / norm) for g in aid.history]
    input_floor = float(np.linalg.norm(methods.exact(F.phi, w, u).value - g_star) / norm)
    return {
        "seed": seed, "x": epochs, "x_label": "epochs", "K": Ks, "curves": curves,
        "extra_curves": {"aid-fp": {"x": list(range(len(aid_curve))), "error": aid_curve}},
        "support_identified_at": None, "q": F.q, "lam": config["lam"],
        "input_point_floor": input_floor,
        "distance_to_fixed_point": float(np.linalg.norm(w - star.w)),
        "support_at_input_equals_solution": bool(np.array_equal(w != 0, star.w != 0)),
    }


def _plateau_ratio(curve):
    """error at the last point / error at the middle point of a curve (1 = flat)."""
    c = np.asarray(curve, dtype=float)
    return float(c[-1] / c[len(c) // 2])


def steps(config):
    """Progress steps of one seed (the K grid)."""
    return config["K_max"] // max(config["K_max"] // config["n_eval"], 1) + 1


def seed_records(config, seed, progress=None):
    """The run of one data seed, as a list: a pure function of ``(config, seed)``."""
    start = time.perf_counter()
    record = run_seed(config, seed, progress)
    record["seconds"] = time.perf_counter() - start
    return [record]


def summarize(config, runs):
    final = {m: float(np.median([r["curves"][m][-1] for r in runs])) for m in STOCHASTIC}
    ratios = {m: float(np.median([_plateau_ratio(r["curves"][m]) for r in runs]))
              for m in STOCHASTIC}
    summary = {
        "median_final_error": final,
        "median_last_over_middle": ratios,
        "median_input_point_floor": float(np.median([r["input_point_floor"] for r in runs])),
        "median_aid_fp_error_at_max_k": float(np.median([r["extra_curves"]["aid-fp"]["error"][-1] for r in runs])),
    }
    return summary


def run(config, seeds):
    progress = Progress(len(seeds) * steps(config), NAME)
    runs = [r for seed in seeds for r in seed_records(config, seed, progress)]
    return runs, summarize(config, runs)
