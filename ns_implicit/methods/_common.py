"""Argument checks shared by the methods."""

import numpy as np

from ns_implicit._validation import as_float_array, check_positive_float, check_positive_int


def check_method_args(phi, w, u, iters, tol):
    w = phi.check_point(w, "w")
    u = as_float_array(u, "u", ndim=1, dtype=phi.dtype)
    if u.shape[0] != phi.dim:
        raise ValueError(f"u must have length {phi.dim} (the dimension of w); got {u.shape[0]}.")
    iters = check_positive_int(iters, "iters", minimum=0)
    tol = check_positive_float(tol, "tol", strict=False)
    return w, u, iters, tol


def check_warm_start(v0, phi):
    """``v0`` (a previous solution of the linear system, length ``dim``) or zeros."""
    if v0 is None:
        return np.zeros(phi.dim, dtype=phi.dtype)
    v0 = as_float_array(v0, "v0", ndim=1, dtype=phi.dtype)
    if v0.shape[0] != phi.dim:
        raise ValueError(f"v0 must have length {phi.dim} (the dimension of w); got {v0.shape[0]}.")
    return v0.copy()


def rel(x, ref):
    """``‖x‖ / ‖ref‖`` (``‖x‖`` when ``ref`` is zero)."""
    den = float(np.linalg.norm(ref))
    return float(np.linalg.norm(x)) / den if den > 0 else float(np.linalg.norm(x))
