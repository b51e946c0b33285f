"""``ns-implicit check-bounds``: Theorem 4.1 checked on real ITD and AID-FP runs (docs/theory.md §8).

For each seed: a small elastic-net instance (generic, or with ``--at-kinks`` a solution that
sits exactly at a kink) — or with ``--problem group-lasso`` a group elastic net (groups of
``--group-size`` consecutive features; ``--at-kinks``: a group exactly on its threshold,
docs/theory.md §15.10), or ``simplex-ls`` / ``l1-ball-ls`` (projected gradient, the radius as
hyperparameter, §15.11; ``--at-kinks``: an entry exactly at the threshold) — ITD and AID-FP (``k = t``) run from ``w_0 = 0``, and at every
iteration the measured excess over the target set compared with the bound
(:mod:`ns_implicit.theory.check`). Prints a table (per iteration: the instance closest to its
bound), writes JSON and a PNG plot, and exits with status 1 if any bound is violated or a
consistency check fails.
"""

import json
import os
import sys
import time

import numpy as np

NAME = "check-bounds"
HELP = "Check the ITD / AID-FP bounds of Theorem 4.1 (docs/theory.md §8) on seeded elastic-net runs."

QUICK = {"seeds": 6, "iters": 60, "p": 5, "n_train": 20}


def add_arguments(p):
    p.add_argument("--problem", choices=("elastic-net", "group-lasso", "simplex-ls", "l1-ball-ls"),
                   default="elastic-net",
                   help="the map (default elastic-net; group-lasso: block soft-thresholding "
                        "after the least-squares step, lam = (lam1, lam2); simplex-ls, "
                        "l1-ball-ls: projected gradient, lam = (radius,), ridge --lam2 fixed)")
    p.add_argument("--radius-ratio", type=float, default=0.5,
                   help="simplex-ls, l1-ball-ls: the radius as a fraction of the ridge "
                        "solution's l1 norm (default 0.5)")
    p.add_argument("--group-size", type=int, default=2,
                   help="group-lasso: features per group (default 2)")
    p.add_argument("--p", type=int, default=5, help="number of features (default 5; sets are dense)")
    p.add_argument("--n-train", type=int, default=20, help="training rows (default 20)")
    p.add_argument("--seeds", type=int, default=20, help="number of instances (default 20)")
    p.add_argument("--first-seed", type=int, default=0, help="seed of the first instance (default 0)")
    p.add_argument("--lam1-ratio", type=float, default=0.3,
                   help="lam1 as a fraction of lam1_max (default 0.3; with --at-kinks the first "
                        "kink at or below it)")
    p.add_argument("--lam2", type=float, default=0.1, help="l2 weight (default 0.1)")
    p.add_argument("--iters", type=int, default=100, help="iterations t = 0..ITERS (default 100)")
    p.add_argument("--at-kinks", action="store_true",
                   help="build instances whose solution has a tie |u*_j| = gamma*lam1 on purpose")
    p.add_argument("--quick", action="store_true",
                   help=f"small preset for CI: {', '.join(f'{k}={v}' for k, v in QUICK.items())}")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON (and FILE.png)")
    p.add_argument("--out", metavar="DIR", help="write DIR/check_bounds.json and DIR/check_bounds.png")
    p.add_argument("--no-plot", action="store_true", help="write the JSON only")
    p.add_argument("--nsid", action="store_true",
                   help="check Theorem 5.4 instead (docs/theory.md §9): NSID's mean squared "
                        "error over repetitions against the bound with computed constants")
    p.add_argument("--repetitions", type=int, default=30,
                   help="--nsid: NSID runs per (J, K, delta) (default 30; 12 with --quick)")
    p.add_argument("--sampling", choices=("iid", "epoch"), default="iid",
                   help="--nsid: independent batches (the theorem's assumption, default) or "
                        "shuffled epochs (the experiments'; the theorem does not cover them)")
    from ns_implicit._parallel import add_parallel_arguments
    add_parallel_arguments(p)


def config_from_args(args):
    config = {"p": args.p, "n_train": args.n_train, "seeds": args.seeds,
              "first_seed": args.first_seed, "lam1_ratio": args.lam1_ratio, "lam2": args.lam2,
              "iters": args.iters, "at_kinks": bool(args.at_kinks)}
    if args.problem == "group-lasso":  # elastic-net configurations keep their JSON unchanged
        config.update(problem=args.problem, group_size=args.group_size)
    elif args.problem != "elastic-net":
        config.update(problem=args.problem, radius_ratio=args.radius_ratio)
    if args.quick:
        config.update(QUICK)
    return config


def _check_config(config):
    from ns_implicit._validation import check_positive_float, check_positive_int
    check_positive_int(config["p"], "--p")
    check_positive_int(config["n_train"], "--n-train")
    check_positive_int(config["seeds"], "--seeds")
    check_positive_int(config["first_seed"], "--first-seed", minimum=0)
    check_positive_int(config["iters"], "--iters")
    ratio = check_positive_float(config["lam1_ratio"], "--lam1-ratio")
    if ratio > 1.0:
        raise ValueError(f"--lam1-ratio must be in (0, 1] (a fraction of lam1_max); got {ratio}.")
    check_positive_float(config["lam2"], "--lam2", strict=False)
    if "radius_ratio" in config:
        check_positive_float(config["radius_ratio"], "--radius-ratio")
    if config.get("problem") == "group-lasso":
        check_positive_int(config["group_size"], "--group-size")
        if config["group_size"] > config["p"]:
            raise ValueError(f"--group-size must be at most --p = {config['p']}; got "
                             f"{config['group_size']}.")


def theorem_4_1_instance(config, seed):
    """The seed's instance of the configured problem (generic or at a kink)."""
    from ns_implicit.theory.instances import random_instance
    if config.get("problem") == "group-lasso":
        from ns_implicit.theory.group_instances import random_group_instance
        return random_group_instance(seed, n_train=config["n_train"], p=config["p"],
                                     group_size=config["group_size"],
                                     lam1_ratio=config["lam1_ratio"], lam2=config["lam2"],
                                     at_kink=config["at_kinks"])
    if config.get("problem") in ("simplex-ls", "l1-ball-ls"):
        from ns_implicit.theory.projection_instances import random_projection_instance
        return random_projection_instance(
            seed, kind=config["problem"][:-3], n_train=config["n_train"], p=config["p"],
            radius_ratio=config["radius_ratio"], lam2=config["lam2"],
            at_kink=config["at_kinks"])
    return random_instance(seed, n_train=config["n_train"], p=config["p"],
                           lam1_ratio=config["lam1_ratio"], lam2=config["lam2"],
                           at_kink=config["at_kinks"])


def check_seed(config, seed):
    """One instance of the sweep, a pure function of ``(config, seed)`` (the unit that
    :func:`ns_implicit._parallel.run_records` fans out): ``(seed, CheckResult, None)``, or
    ``(seed, None, reason)`` when the seed's instance cannot be checked."""
    from ns_implicit.errors import SelectionCapError
    from ns_implicit.theory.check import check_instance
    from ns_implicit.theory.instances import DegenerateKinkError
    try:
        inst = theorem_4_1_instance(config, seed)
        return int(seed), check_instance(inst, iters=config["iters"]), None
    except (SelectionCapError, DegenerateKinkError) as exc:
        return int(seed), None, str(exc)


def run_instances(config, seeds, *, n_jobs=1, backend="loky", scheduler=None):
    """Check one instance per seed; returns ``(results, skipped)`` (``skipped``: seed -> reason),
    both in the order of ``seeds`` for any ``n_jobs`` / ``backend``."""
    from ns_implicit._parallel import run_records
    results, skipped = [], {}
    for seed, result, reason in run_records(check_seed, config, seeds, n_jobs=n_jobs,
                                            backend=backend, scheduler=scheduler):
        if result is None:
            skipped[seed] = reason
        else:
            results.append(result)
    return results, skipped


def summarize(results, skipped):
    """Counts and worst ratios over all instances."""
    def worst(method):
        vals = [r.max_ratio(method) for r in results]
        vals = [v for v in vals if np.isfinite(v)]
        return max(vals) if vals else None
    return {
        "instances": len(results),
        "skipped": len(skipped),
        "kinks": sum(1 for r in results if r.info["ties"]),
        "violations": sum(len(r.violations) for r in results),
        "problems": sum(len(r.problems) for r in results),
        "max_ratio_itd": worst("itd"),
        "max_ratio_aid_fp": worst("aid"),
        "itd_bound_applies": sum(1 for r in results if np.isfinite(r.itd_bound).any()),
        "aid_fp_bound_applies": sum(1 for r in results if np.isfinite(r.aid_bound).any()),
        "passed": all(r.passed for r in results),
    }


def table(results, every):
    """Rows per iteration: for each method the instance with the largest measured/(bound+atol)."""
    iters = len(results[0].t) - 1
    head = (f"{'t':>5} {'applies':>8} | {'ITD measured':>12} {'bound':>10} {'ratio':>7} | "
            f"{'AID-FP measured':>15} {'bound':>10} {'ratio':>7}")
    lines = [head, "-" * len(head)]
    for t in sorted(set(range(0, iters + 1, every)) | {iters}):
        cells, applies = [], 0
        for kind in ("itd", "aid"):
            best = None
            for r in results:
                measured = r.itd_excess[t] if kind == "itd" else r.aid_excess[t]
                bound = r.itd_bound[t] if kind == "itd" else r.aid_bound[t]
                if np.isfinite(bound):
                    applies += kind == "aid"
                    ratio = measured / (bound + r.atol)
                    if best is None or ratio > best[2]:
                        best = (measured, bound, ratio)
            width = 12 if kind == "itd" else 15
            if best is None:
                cells.append(f"{'-':>{width}} {'-':>10} {'-':>7}")
            else:
                cells.append(f"{best[0]:>{width}.3e} {best[1]:>10.3e} {best[2]:>7.3f}")
        lines.append(f"{t:>5} {applies:>4}/{len(results):<3} | {cells[0]} | {cells[1]}")
    return "\n".join(lines)


def plot(doc, out):
    """Measured excess (solid) and bound (dashed) vs t, log scale, from a results document."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), squeeze=False)
    shown = doc["instances"][:12]
    for ax, key, title in zip(axes[0], ("itd", "aid_fp"), ("ITD vs fixed-point set (11)",
                                                            "AID-FP (k = t) vs implicit set (10)")):
        for i, inst in enumerate(shown):
            t = np.asarray(inst["t"], dtype=float)
            measured = np.asarray([np.nan if v is None else v for v in inst[key]["measured"]])
            bound = np.asarray([np.nan if v is None else v for v in inst[key]["bound"]])
            color = f"C{i % 10}"
            ax.plot(t, np.where(measured > 0, measured, np.nan), color=color, linewidth=1)
            ax.plot(t, bound, color=color, linestyle="--", linewidth=1)
        ax.axhline(max(inst["atol"] for inst in shown), color="grey", linestyle=":",
                   linewidth=1, label="round-off allowance (atol)")
        ax.plot([], [], color="k", label="measured excess")
        ax.plot([], [], color="k", linestyle="--", label="Theorem 4.1 bound")
        ax.set_yscale("log")
        ax.set_xlabel("iteration t")
        ax.set_ylabel("excess (operator norm)")
        kinds = "at kinks" if doc["config"]["at_kinks"] else "generic"
        ax.set_title(f"{title}\n{len(shown)} of {len(doc['instances'])} instances, {kinds}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


#: --nsid: the (J, K, δ) grid; δ is the distance of NSID's input from w* (a seeded direction)
NSID_GRID = ((20, 20, 0.0), (100, 100, 0.0), (100, 400, 0.0), (100, 100, 1e-3), (100, 400, 1e-2))


def nsid_seed(config, seed):
    """Theorem 5.4 on one seeded instance, a pure function of ``(config, seed)``:
    ``(seed, rows, None)`` or ``(seed, [], reason)`` when the instance is skipped. ``config``
    carries ``repetitions``, ``batch_size`` and ``sampling`` besides the instance settings."""
    from ns_implicit.maps.stochastic import StochasticCompositeMap
    from ns_implicit.methods.exact import exact
    from ns_implicit.theory.instances import DegenerateKinkError, random_instance
    from ns_implicit.theory.nsid_bound import check_nsid_bound, nsid_constants, nsid_terms
    reps, b, sampling = config["repetitions"], config["batch_size"], config["sampling"]
    try:
        inst = random_instance(seed, n_train=config["n_train"], p=config["p"],
                               lam1_ratio=config["lam1_ratio"], lam2=config["lam2"],
                               at_kink=config["at_kinks"])
    except DegenerateKinkError as exc:
        return int(seed), [], str(exc)
    phi, w = inst.phi, inst.w_star
    u = np.random.default_rng(seed).standard_normal(phi.dim)
    u /= np.linalg.norm(u)
    if not np.any(w):
        return int(seed), [], "empty support"
    F = StochasticCompositeMap(inst.map, b).at(inst.lam)
    g_star = exact(phi, w, u).value
    d = np.random.default_rng(seed + 1).standard_normal(phi.dim)
    rows = []
    for J, K, delta in NSID_GRID:
        c = nsid_constants(phi, w, u, b, delta=delta, sampling=sampling)
        w_in = w + delta * d / np.linalg.norm(d)
        mean, se, bound, ok = check_nsid_bound(F, w_in, u, g_star, c, J, K, range(reps),
                                               delta, sampling=sampling)
        rows.append({"seed": int(seed), "J": J, "K": K, "delta": delta, "measured": mean,
                     "se": se, "bound": bound, "ratio": mean / bound, "passed": bool(ok),
                     "terms": list(nsid_terms(c, delta, J, K)), "constants": c.as_dict()})
    return int(seed), rows, None


def run_nsid(args, config):
    """Theorem 5.4 on seeded instances: ``u`` a seeded unit vector, minibatches of
    ``max(1, n_train // 4)`` rows drawn independently (the theorem's setting)."""
    from ns_implicit._parallel import run_records
    from ns_implicit._validation import check_positive_int
    reps = 12 if args.quick else check_positive_int(args.repetitions, "--repetitions")
    b = max(1, config["n_train"] // 4)
    rows, skipped, start = [], {}, time.perf_counter()
    task = dict(config, repetitions=reps, batch_size=b, sampling=args.sampling)
    seeds = range(config["first_seed"], config["first_seed"] + config["seeds"])
    for seed, seed_rows, reason in run_records(nsid_seed, task, seeds, n_jobs=args.n_jobs,
                                               backend=args.backend, scheduler=args.scheduler):
        if reason is not None:
            skipped[seed] = reason
        rows += seed_rows
    seconds = time.perf_counter() - start
    failed = [r for r in rows if not r["passed"]]
    print(f"check-bounds --nsid: {len({r['seed'] for r in rows})} instances, b={b}, "
          f"{reps} repetitions per (J, K, delta), {args.sampling} batches")
    print(f"{'seed':>5} {'J':>5} {'K':>5} {'delta':>6} {'E dist^2':>11} {'se':>9} {'bound':>11} "
          f"{'ratio':>9}")
    for r in rows:
        print(f"{r['seed']:>5} {r['J']:>5} {r['K']:>5} {r['delta']:>6.0e} {r['measured']:>11.3e} "
              f"{r['se']:>9.1e} "
              f"{r['bound']:>11.3e} {r['ratio']:>9.2e}{'' if r['passed'] else '  VIOLATION'}")
    ratios = [r["ratio"] for r in rows]
    print(f"max measured/bound {max(ratios) if ratios else float('nan'):.3e}; violations "
          f"{len(failed)} -> {'PASS' if rows and not failed else 'FAIL'} ({seconds:.1f} s)")
    doc = {"command": "check-bounds --nsid", "config": config, "batch_size": b,
           "sampling": args.sampling,
           "repetitions": reps, "seconds": seconds, "skipped": skipped, "rows": rows,
           "passed": bool(rows) and not failed}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
    return 0 if rows and not failed else 1


def run(args):
    from ns_implicit._version import __version__
    config = config_from_args(args)
    _check_config(config)
    from ns_implicit._parallel import check_parallel_args
    check_parallel_args(args.n_jobs, args.backend, args.scheduler)
    if args.nsid:
        if args.problem != "elastic-net":
            raise ValueError("--nsid checks Theorem 5.4 on --problem elastic-net only (its "
                             "constants are derived there, docs/theory.md §9).")
        return run_nsid(args, config)
    start = time.perf_counter()
    seeds = range(config["first_seed"], config["first_seed"] + config["seeds"])
    results, skipped = run_instances(config, seeds, n_jobs=args.n_jobs, backend=args.backend,
                                     scheduler=args.scheduler)
    seconds = time.perf_counter() - start
    summary = summarize(results, skipped)
    kinds = "at kinks" if config["at_kinks"] else "generic"
    print(f"check-bounds: {len(results)} instances ({kinds}), p={config['p']}, "
          f"n_train={config['n_train']}, lam2={config['lam2']}, iters={config['iters']}")
    if results:
        print(table(results, max(1, config["iters"] // 10)))
    for seed, reason in skipped.items():
        print(f"skipped seed {seed}: {reason}", file=sys.stderr)
    for r in results:
        for method, t, measured, bound in r.violations[:3]:
            print(f"VIOLATION seed {r.info['seed']} {method} t={t}: measured {measured:.3e} > "
                  f"bound {bound:.3e} + atol {r.atol:.1e}")
        for problem in r.problems[:3]:
            print(f"PROBLEM seed {r.info['seed']}: {problem}")

    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}"
    print(f"max measured/(bound+atol): ITD {fmt(summary['max_ratio_itd'])}, "
          f"AID-FP {fmt(summary['max_ratio_aid_fp'])}; violations {summary['violations']}, "
          f"problems {summary['problems']}, skipped {summary['skipped']} "
          f"-> {'PASS' if summary['passed'] else 'FAIL'} ({seconds:.1f} s)")
    doc = {"command": "check-bounds", "version": __version__, "config": config,
           "seconds": seconds, "summary": summary, "skipped": skipped,
           "instances": [r.as_dict() for r in results]}
    paths = []
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        paths.append(os.path.join(args.out, "check_bounds.json"))
    if args.json:
        paths.append(args.json)
    for path in paths:
        with open(path, "w") as fh:
            json.dump(doc, fh, indent=1)
        print(f"wrote {path}", file=sys.stderr)
        if not args.no_plot and results:
            print(f"wrote {plot(doc, path.rsplit('.', 1)[0] + '.png')}", file=sys.stderr)
    if not results:
        print("no instance could be checked", file=sys.stderr)
        return 1
    return 0 if summary["passed"] else 1
