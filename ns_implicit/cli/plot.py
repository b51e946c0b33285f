"""``ns-implicit plot RESULTS.json``: redraw a figure from saved results only."""

import sys

NAME = "plot"
HELP = "Draw the figure of a saved `ns-implicit reproduce` results file (no recomputation)."


def add_arguments(p):
    p.add_argument("results", help="a results JSON written by `ns-implicit reproduce`")
    p.add_argument("--out", help="PNG path (default: beside the JSON)")


def run(args):
    from ns_implicit.experiments.plot import plot_file
    print(f"plotted {plot_file(args.results, args.out)}", file=sys.stderr)
    return 0
