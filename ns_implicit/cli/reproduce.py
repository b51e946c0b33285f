"""``ns-implicit reproduce``: the paper's experiments with saved JSON results (docs/theory.md §12)."""

import importlib
import json
import os
import sys
import time

NAME = "reproduce"
HELP = "Reproduce a figure of the paper (docs/theory.md §12); results saved as JSON, then plotted."

#: experiment name -> module inside ns_implicit.experiments
EXPERIMENTS = {"enet-deterministic": "enet_deterministic", "enet-stochastic": "enet_stochastic",
               "poisoning": "poisoning"}


def add_arguments(p):
    p.add_argument("experiment", choices=sorted(EXPERIMENTS))
    p.add_argument("--quick", action="store_true", help="small preset (minutes -> seconds)")
    p.add_argument("--seeds", type=int, nargs="+", help="data seeds (default: the paper's)")
    p.add_argument("--out", default="results", help="output folder (default ./results)")
    p.add_argument("--no-plot", action="store_true", help="save the JSON only")
    from ns_implicit._parallel import add_parallel_arguments
    add_parallel_arguments(p)


def run_seeds(module, config, seeds, *, n_jobs=1, backend="loky", scheduler=None):
    """``(runs, summary)`` of an experiment: ``module.seed_records(config, seed)`` fanned out
    over the seeds (:func:`ns_implicit._parallel.run_records`, BLAS limited to
    ``config["blas_threads"]`` threads, default 1), runs in seed order, then
    ``module.summarize``. The same bits for any ``n_jobs`` and backend."""
    import functools
    from ns_implicit._parallel import run_records
    from ns_implicit.experiments.results import Progress
    fn = module.seed_records
    if n_jobs == 1 and backend == "loky":  # in this process: keep the progress line
        fn = functools.partial(fn, progress=Progress(module.steps(config) * len(seeds),
                                                     module.NAME))
    per_seed = run_records(fn, config, seeds, n_jobs=n_jobs, backend=backend,
                           scheduler=scheduler, blas_threads=config.get("blas_threads", 1))
    runs = [record for records in per_seed for record in records]
    return runs, module.summarize(config, runs)


def run(args):
    from ns_implicit._parallel import check_parallel_args
    from ns_implicit.experiments import results
    from ns_implicit.experiments.plot import plot_file
    module = importlib.import_module(f"ns_implicit.experiments.{EXPERIMENTS[args.experiment]}")
    config = dict(module.QUICK if args.quick else module.PAPER)
    seeds = args.seeds if args.seeds else config["seeds"]
    for seed in seeds:
        if seed < 0:
            raise ValueError(f"--seeds must be integers >= 0 (data seeds); got {seed}.")
    config["preset"] = "quick" if args.quick else "paper"
    check_parallel_args(args.n_jobs, args.backend, args.scheduler)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    runs, summary = run_seeds(module, config, seeds, n_jobs=args.n_jobs, backend=args.backend,
                              scheduler=args.scheduler)
    seconds = time.perf_counter() - start
    suffix = "-quick" if args.quick else ""
    path = os.path.join(args.out, f"{args.experiment}{suffix}.json")
    results.save(path, args.experiment, dict(config, seeds=seeds), runs, summary, seconds)
    print(json.dumps(summary, indent=1, default=str))
    print(f"saved {path} ({seconds:.1f} s)", file=sys.stderr)
    if not args.no_plot:
        print(f"plotted {plot_file(path)}", file=sys.stderr)
    return 0
