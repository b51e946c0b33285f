"""Measured linear rates of error curves (docs/theory.md §8, discussion item 4)."""

import numpy as np


def fit_rate(x, err, start, floor=1e-13, min_points=5):
    """Per-unit-of-x linear rate ``r`` of ``err ≈ c r^x``, fitted by least squares on
    ``log err`` over ``x >= start`` while ``err > 1e3 floor`` (above round-off).

    Returns ``None`` when fewer than ``min_points`` points qualify.
    """
    x = np.asarray(x, dtype=float)
    err = np.asarray(err, dtype=float)
    keep = (x >= start) & np.isfinite(err) & (err > 1e3 * floor)
    if keep.sum() < min_points:
        return None
    slope = np.polyfit(x[keep], np.log(err[keep]), 1)[0]
    return float(np.exp(slope))
