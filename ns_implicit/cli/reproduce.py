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


def run(args):
    from ns_implicit.experiments import results
    from ns_implicit.experiments.plot import plot_file
    module = importlib.import_module(f"ns_implicit.experiments.{EXPERIMENTS[args.experiment]}")
    config = dict(module.QUICK if args.quick else module.PAPER)
    seeds = args.seeds if args.seeds else config["seeds"]
    for seed in seeds:
        if seed < 0:
            raise ValueError(f"--seeds must be integers >= 0 (data seeds); got {seed}.")
    config["preset"] = "quick" if args.quick else "paper"
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    runs, summary = module.run(config, seeds)
    seconds = time.perf_counter() - start
    suffix = "-quick" if args.quick else ""
    path = os.path.join(args.out, f"{args.experiment}{suffix}.json")
    results.save(path, args.experiment, dict(config, seeds=seeds), runs, summary, seconds)
    print(json.dumps(summary, indent=1, default=str))
    print(f"saved {path} ({seconds:.1f} s)", file=sys.stderr)
    if not args.no_plot:
        print(f"plotted {plot_file(path)}", file=sys.stderr)
    return 0
