"""Argument checks and overflow-safe arithmetic shared by the methods."""

from math import isfinite

import numpy as np

from ns_implicit._validation import (as_float_array, check_map_at, check_positive_int,
                                     default_tol)
from ns_implicit.errors import NonFiniteError


def check_method_args(phi, w, u, iters, tol, method="this method"):
    check_map_at(phi, method)
    w = phi.check_point(w, "w")
    u = as_float_array(u, "u", ndim=1, dtype=phi.dtype)
    if u.shape[0] != phi.dim:
        raise ValueError(f"u must have length {phi.dim} (the dimension of w); got {u.shape[0]}.")
    iters = check_positive_int(iters, "iters", minimum=0)
    tol = default_tol(tol, phi.dtype)  # None: 1e-10 in float64, 1e-6 in float32
    return w, u, iters, tol


def check_warm_start(v0, phi, exponent=0):
    """``v0`` (a previous solution of the linear system, length ``dim``) or zeros, scaled by
    ``2**-exponent`` (the scale of ``u``, see :func:`unit_scale`)."""
    if v0 is None:
        return np.zeros(phi.dim, dtype=phi.dtype)
    v0 = as_float_array(v0, "v0", ndim=1, dtype=phi.dtype)
    if v0.shape[0] != phi.dim:
        raise ValueError(f"v0 must have length {phi.dim} (the dimension of w); got {v0.shape[0]}.")
    return np.ldexp(v0, -exponent).astype(phi.dtype, copy=False) if exponent else v0.copy()


#: Per dtype, magnitudes whose squares, and sums of up to 1e8 of them, stay in the normal range
#: (float64: 1e-200..1e208 inside 2e-308..1e308; float32: 1e-30..1e38 inside 1e-38..3e38).
_SAFE = {np.dtype(np.float64): (1e-100, 1e100), np.dtype(np.float32): (1e-15, 1e15)}


def _safe_range(dtype):
    return _SAFE.get(dtype, (1e-15, 1e15))


def unit_scale(u):
    """``(u·2⁻ᵉ, e)`` with ``max|u·2⁻ᵉ|`` in ``[0.5, 1)`` (``e = 0`` for ``u = 0``).

    The linear systems are linear in ``u``: solving with the rescaled right-hand side and
    multiplying the answer by ``2ᵉ`` (exact in floating point) keeps every intermediate norm
    and square far from overflow (``|u| ~ 1e160``) and underflow (``|u| ~ 1e-160``, whose
    squares are 0 in float64 and used to stop every AID method at ``v = 0`` as "converged").
    """
    peak = float(np.abs(u).max()) if u.size else 0.0
    low, high = _safe_range(u.dtype)
    if peak == 0.0 or not isfinite(peak) or low < peak < high:
        return u, 0  # squares of |u| in (1e-100, 1e100) and their sums are far from over/underflow
    e = int(np.frexp(peak)[1])
    return np.ldexp(u, -e).astype(u.dtype, copy=False), e


def unscale(x, e):
    """``x·2ᵉ`` in ``x``'s dtype (inverse of :func:`unit_scale`)."""
    if not e:
        return x
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(x, e).astype(x.dtype, copy=False)


def norm(x):
    """``‖x‖₂`` without overflow or underflow of the squares (scaled by ``max|x|``)."""
    x = np.asarray(x)
    plain = float(np.linalg.norm(x))
    low, high = _safe_range(x.dtype)
    if low < plain < high:
        return plain  # no square over- or underflowed on the way (the common case)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return peak
    return peak * float(np.linalg.norm(x / peak))


def rel(x, ref):
    """``‖x‖ / ‖ref‖`` (``‖x‖`` when ``ref`` is zero), overflow-safe."""
    den = norm(ref)
    with np.errstate(over="ignore"):
        return norm(x) / den if den > 0 else norm(x)


def check_finite(value, what, hint=""):
    """Raise :class:`~ns_implicit.errors.NonFiniteError` when ``value`` has NaN or inf."""
    arr = np.asarray(value)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise NonFiniteError(
            f"{what} is not finite (NaN or inf from finite input: float overflow in "
            f"{arr.dtype}); {hint or 'rescale (standardise) X, y and the validation data, or compute in float64'}.")
    return value
