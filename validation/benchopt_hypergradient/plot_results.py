"""Relative hypergradient error against wall time, one panel per dataset, every solver on the
same axes, from a benchopt results file; prints per solver the time to reach 1e-3 and 1e-8
and the smallest error reached.

    python validation/benchopt_hypergradient/plot_results.py RESULTS.parquet [--out PNG]
"""

import argparse
import os

import numpy as np


#: errors above this are drawn at it (NSID/SID far from w* with Lemma D.2's large steps)
CLIP = 1e4


def _short(dataset):
    return dataset.split("[")[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "figures",
                                                      "benchopt_hypergradient.png"))
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    df = pd.read_parquet(args.results)
    df = df[df["stop_val"] > 0]
    datasets = sorted(df["dataset_name"].unique(), key=_short)
    solvers = sorted(df["solver_name"].unique())
    colors = {s: f"C{i % 10}" for i, s in enumerate(solvers)}
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 4.4), squeeze=False)
    print(f"{'dataset':<20} {'solver':<28} {'t->1e-3 (s)':>11} {'t->1e-8 (s)':>11} "
          f"{'min error':>10} {'at n_iter':>9}")
    for ax, dataset in zip(axes[0], datasets):
        sub = df[df["dataset_name"] == dataset]
        for solver in solvers:
            curve = (sub[sub["solver_name"] == solver].groupby("stop_val")
                     [["time", "objective_value"]].median().sort_index())
            if curve.empty:
                continue
            t, err = curve["time"].to_numpy(), curve["objective_value"].to_numpy()
            peer = not solver.startswith("ns_implicit")
            label = solver.replace("ns_implicit[method=", "ns_implicit ").rstrip("]")
            ax.loglog(t, np.clip(err, 1e-16, CLIP), marker=".", linestyle="--" if peer else "-",
                      color=colors[solver], label=label, linewidth=1)

            def reach(level):
                hit = np.flatnonzero(err <= level)
                return f"{t[hit[0]]:.3g}" if hit.size else "-"
            best = int(np.argmin(err))
            print(f"{_short(dataset):<20} {label:<28} {reach(1e-3):>11} {reach(1e-8):>11} "
                  f"{err[best]:>10.1e} {int(curve.index[best]):>9}")
        ax.set_ylim(1e-16, CLIP)
        ax.set_title(_short(dataset))
        ax.set_xlabel("wall time of one run (s)")
        ax.set_ylabel("‖g − g*‖ / ‖g*‖")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Hypergradient error vs time (benchopt; solid: ns_implicit, dashed: peers)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
