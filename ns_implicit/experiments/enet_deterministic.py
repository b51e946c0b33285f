"""Figure 1: ITD, AID-FP and AID-CG on the elastic net, docs/theory.md §12.2.

For each evaluation iteration ``t``: ITD differentiates through ``w_0, …, w_t``; AID-FP and
AID-CG use ``w_t`` and ``k = t`` linear-system iterations (mode ``normal`` of the paper).
Errors are relative to the **exact** hypergradient at a tightly solved ``w*`` (the authors
used a 10,000-iteration AID-FP run in float32). The summary reports the support
identification iteration, the global ``q``, the active-block ``q_S`` and each method's
measured linear rate after identification (§8 item 4, §13 items 4–6).
"""

import time

import numpy as np

import ns_implicit.methods as methods
from ns_implicit.problems.elastic_net import ElasticNetProblem
from ns_implicit.data.synthetic import make_sparse_regression
from ns_implicit.solvers.fixed_point import fixed_point_iteration
from ns_implicit.experiments.rates import fit_rate
from ns_implicit.experiments.results import Progress

NAME = "enet-deterministic"

PAPER = {  # docs/theory.md §12.2, two runs
    "n_samples": 500, "n_features": 100, "n_informative": 30, "noise": 0.1,
    "settings": [{"lam": [0.02, 0.002], "max_iter": 500}, {"lam": [0.002, 0.002], "max_iter": 1000}],
    "n_eval": 200, "seeds": [3],
}
QUICK = dict(PAPER, settings=[{"lam": [0.02, 0.002], "max_iter": 400}], n_eval=80)


def _eval_points(max_iter, n_eval):
    step = max(max_iter // n_eval, 1)
    return sorted(set(range(step, max_iter + 1, step)) | {max_iter})


def run_one(problem, lam, max_iter, n_eval, progress=None):
    """Curves of one (data, λ) setting; returns a run record."""
    phi = problem.map.at(lam)
    outer = problem.outer
    star = fixed_point_iteration(phi, tol=1e-15, max_iter=1_000_000)
    g_star = methods.exact(phi, star.w, outer.grad_w(star.w)).value
    sel = phi.selection(star.w)
    q_S = sel.active_block_norm()
    ts = _eval_points(max_iter, n_eval)
    itd_values = {}

    def record(t, w_t, J_t):
        if t in ts_set:
            itd_values[t] = J_t.T @ outer.grad_w(w_t)

    ts_set = set(ts)
    traj = fixed_point_iteration(phi, tol=0.0, max_iter=max_iter, store_trajectory=True)
    methods.itd_forward(phi, iters=max_iter, tol=0.0, on_step=record)
    norm = float(np.linalg.norm(g_star))
    curves = {"itd": [], "aid-fp": [], "aid-cg": []}
    for t in ts:
        w_t = traj.trajectory[t]
        u = outer.grad_w(w_t)
        curves["itd"].append(np.linalg.norm(itd_values[t] - g_star) / norm)
        fp = methods.aid_fp(phi, w_t, u, iters=t, tol=0.0).value
        cg = methods.aid_cg(phi, w_t, u, iters=t, tol=0.0).value
        curves["aid-fp"].append(np.linalg.norm(fp - g_star) / norm)
        curves["aid-cg"].append(np.linalg.norm(cg - g_star) / norm)
        if progress is not None:
            progress.step()
    t_id = star.support_identified_at
    after = [i for i, t in enumerate(ts) if t >= t_id]
    fp_a, itd_a = np.array(curves["aid-fp"])[after], np.array(curves["itd"])[after]
    above = itd_a > 1e-12  # compare only above float64 round-off
    rates = {m: fit_rate(ts, c, start=t_id + 10) for m, c in curves.items()}
    return {
        "lam": list(lam), "x": ts, "x_label": "iteration t", "curves": curves,
        "support_identified_at": t_id, "q": phi.q, "q_S": q_S,
        "support_size": star.support_size, "measured_rates": rates,
        "aid_fp_below_itd_after_identification": float(np.mean(fp_a[above] < itd_a[above]))
        if above.any() else None,
        "median_itd_over_aid_fp_after_identification": float(np.median(itd_a[above] / fp_a[above]))
        if above.any() else None,
    }


def steps(config):
    """Progress steps of one seed (evaluation points over the settings)."""
    return sum(len(_eval_points(s["max_iter"], config["n_eval"])) for s in config["settings"])


def seed_records(config, seed, progress=None):
    """The runs of one data seed (one per setting): a pure function of ``(config, seed)``."""
    data = make_sparse_regression(n_samples=config["n_samples"], n_features=config["n_features"],
                                  n_informative=config["n_informative"], noise=config["noise"],
                                  seed=seed)
    problem = ElasticNetProblem(data.X, data.y, data.X_val, data.y_val)
    runs = []
    for setting in config["settings"]:
        start = time.perf_counter()
        record = run_one(problem, setting["lam"], setting["max_iter"], config["n_eval"], progress)
        record.update(seed=seed, seconds=time.perf_counter() - start)
        runs.append(record)
    return runs


def summarize(config, runs):
    return {"rows": [{k: r[k] for k in ("seed", "lam", "support_identified_at", "q", "q_S",
                                         "measured_rates", "aid_fp_below_itd_after_identification",
                                         "median_itd_over_aid_fp_after_identification")}
                     for r in runs]}


def run(config, seeds):
    """All settings × seeds; returns ``(runs, summary)``."""
    progress = Progress(steps(config) * len(seeds), NAME)
    runs = [r for seed in seeds for r in seed_records(config, seed, progress)]
    return runs, summarize(config, runs)
