"""Saved results: one JSON document per ``ns-implicit reproduce`` run.

Schema ``ns_implicit.results/1``::

    {"schema": "ns_implicit.results/1", "experiment": NAME, "version": "...",
     "config": {...}, "runs": [{"seed": S, "x": [...], "x_label": "...",
                                "curves": {METHOD: [relative error per x]},
                                "extra_curves": {METHOD: {"x": [...], "error": [...]}}, ...}],
     "summary": {...}, "seconds": T}

Plots are drawn from these files only (:mod:`ns_implicit.experiments.plot`).
"""

import json
import math
import sys
import time

SCHEMA = "ns_implicit.results/1"


class ResultsFileError(ValueError):
    """A results file is unreadable, corrupt, or not an ns_implicit results file."""


def _finite_or_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _clean(obj):
    """JSON-safe copy: numpy scalars/arrays to Python, non-finite floats to null."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _clean(obj.tolist())
    return _finite_or_none(obj)


def save(path, experiment, config, runs, summary, seconds):
    from ns_implicit._version import __version__
    doc = {"schema": SCHEMA, "experiment": experiment, "version": __version__,
           "config": config, "runs": runs, "summary": summary, "seconds": seconds}
    with open(path, "w") as fh:
        json.dump(_clean(doc), fh, indent=1)
    return path


def load(path):
    """Read and check a results file; raise :class:`ResultsFileError` with the reason."""
    try:
        with open(path) as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFileError(f"{path} is not a readable JSON results file ({exc}).") from exc
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ResultsFileError(f"{path} is not an ns_implicit results file "
                               f"(expected schema {SCHEMA!r}); produce one with "
                               "`ns-implicit reproduce ... --out DIR`.")
    for key in ("experiment", "config", "runs", "summary"):
        if key not in doc:
            raise ResultsFileError(f"{path} is corrupt: key {key!r} is missing.")
    runs = doc["runs"]
    if not isinstance(runs, list) or not runs:
        raise ResultsFileError(f"{path} is corrupt: 'runs' must be a non-empty list.")
    for i, run in enumerate(runs):
        if not isinstance(run, dict) or not {"x", "curves"} <= set(run):
            raise ResultsFileError(f"{path} is corrupt: run {i} lacks 'x' or 'curves'.")
        for name, curve in run["curves"].items():
            if not isinstance(curve, list) or len(curve) != len(run["x"]):
                raise ResultsFileError(f"{path} is corrupt: curve {name!r} of run {i} does not "
                                       f"match the length of 'x'.")
        for name, curve in run.get("extra_curves", {}).items():
            if not isinstance(curve, dict) or len(curve.get("x", [])) != len(curve.get("error", ())):
                raise ResultsFileError(f"{path} is corrupt: extra curve {name!r} of run {i} needs "
                                       f"'x' and 'error' of equal length.")
    return doc


class Progress:
    """A minimal progress line on stderr (only when stderr is a terminal or ``force``)."""

    def __init__(self, total, label, force=False):
        self.total, self.label, self.start = max(int(total), 1), label, time.perf_counter()
        self.enabled = force or sys.stderr.isatty()
        self.done = 0

    def step(self, n=1):
        self.done += n
        if self.enabled:
            frac = self.done / self.total
            bar = "#" * int(30 * frac)
            elapsed = time.perf_counter() - self.start
            sys.stderr.write(f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}% {elapsed:6.1f}s")
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
