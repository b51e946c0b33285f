"""Validation loss against wall time for tuning runs (matplotlib's Agg backend: no display).

Each run is a ``history`` of ``{"seconds", "value"}`` (:class:`~ns_implicit.tuning.tune.
TuneResult`); the plot shows every evaluation as a dot and the best loss so far as a step line,
so that methods are compared by the time they take to reach a loss (both axes logarithmic).
"""

import numpy as np


def plot_histories(runs, path, title=None):
    """Write the figure of ``runs`` (``{label: history}``, in legend order) to ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for k, (label, history) in enumerate(runs.items()):
        if not history:
            continue
        t = np.array([h["seconds"] for h in history])
        v = np.array([h["value"] for h in history])
        color = f"C{k}"
        ax.plot(t, v, ".", color=color, alpha=0.35)
        ax.step(t, np.minimum.accumulate(v), where="post", color=color, label=label)
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("validation loss")
    ax.set_xscale("log")
    ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
