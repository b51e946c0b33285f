"""``ns-implicit plot RESULTS.json``: redraw a figure from saved results only."""

import sys

NAME = "plot"
HELP = "Draw the figure of a saved `ns-implicit reproduce` results file (no recomputation)."


def add_arguments(p):
    p.add_argument("results", help="a results JSON written by `ns-implicit reproduce`")
    p.add_argument("--out", help="PNG path (default: beside the JSON)")


def run(args):
    from ns_implicit.experiments.plot import plot_file
    try:
        path = plot_file(args.results, args.out)
    except OSError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # malformed content of the user's file (bad JSON, missing keys, wrong shapes): a data
        # error at this boundary, reported on one line; bugs elsewhere keep their traceback
        raise ValueError(f"{args.results} is not a results file written by `ns-implicit "
                         f"reproduce` ({type(exc).__name__}: {exc}).") from exc
    print(f"plotted {path}", file=sys.stderr)
    return 0
