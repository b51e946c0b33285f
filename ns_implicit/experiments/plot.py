"""Figures drawn from saved results only (no recomputation)."""

import numpy as np

from ns_implicit.experiments.results import load

STYLES = {"itd": "-", "aid-fp": "--", "aid-cg": ":", "nsid-dec": "--", "sid-dec": ":",
          "nsid-const": "-.", "sid-const": (0, (1, 3))}


def _group(runs):
    """Runs grouped by panel key (the λ setting or the experiment's 'panel')."""
    groups = {}
    for run in runs:
        key = run.get("panel") or (f"lam = {run['lam']}" if "lam" in run else "")
        groups.setdefault(key, []).append(run)
    return groups


def plot_file(path, out=None):
    """Draw ``path`` (a results JSON) to ``out`` (PNG; default: beside the JSON)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    doc = load(path)
    groups = _group(doc["runs"])
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4.2), squeeze=False)
    for ax, (title, runs) in zip(axes[0], groups.items()):
        x = np.asarray(runs[0]["x"], dtype=float)
        for method in runs[0]["curves"]:
            curves = np.array([r["curves"][method] for r in runs if len(r["x"]) == len(x)],
                              dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.log(np.where(curves > 0, curves, np.nan))
            # Geometric mean over seeds with a geometric-standard-deviation band (docs/theory.md §12.3).
            mean, std = np.nanmean(logs, axis=0), np.nanstd(logs, axis=0)
            line, = ax.plot(x, np.exp(mean), linestyle=STYLES.get(method, "-"), label=method)
            if len(curves) > 1:
                ax.fill_between(x, np.exp(mean - std), np.exp(mean + std),
                                color=line.get_color(), alpha=0.2, linewidth=0)
        for method, first in runs[0].get("extra_curves", {}).items():
            xs = np.asarray(first["x"], dtype=float)
            errs = np.array([r["extra_curves"][method]["error"] for r in runs
                             if len(r["extra_curves"][method]["x"]) == len(xs)], dtype=float)
            ax.plot(xs, np.exp(np.nanmean(np.log(errs), axis=0)), linestyle="-", label=method)
        ids = [r["support_identified_at"] for r in runs if r.get("support_identified_at") is not None]
        if ids:
            ax.axvline(np.median(ids), color="grey", linestyle="--", linewidth=1,
                       label="support identified")
        ax.set_yscale("log")
        if runs[0].get("x_max"):
            ax.set_xlim(-1, runs[0]["x_max"])
        ax.set_xlabel(runs[0].get("x_label", "x"))
        ax.set_ylabel("relative hypergradient error")
        ax.set_title(f"{doc['experiment']}  {title}" + (f"  ({len(runs)} seeds)" if len(runs) > 1 else ""))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out = out or str(path).rsplit(".", 1)[0] + ".png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
