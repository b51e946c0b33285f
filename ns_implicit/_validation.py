"""Input checks that name the argument and the fix (scikit-learn style)."""

import numbers

import numpy as np
import scipy.sparse as sp

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_array(value, name, *, ndim=None, dtype=None, allow_sparse=False):
    """Return ``value`` as a finite float32/float64 array, or raise a clear error.

    Integer and boolean input is promoted to float64; other dtypes are rejected.
    """
    if allow_sparse and sp.issparse(value):
        arr = value.tocsr()
        data = arr.data
    else:
        if sp.issparse(value):
            raise TypeError(f"{name} must be a dense array; got a scipy.sparse matrix. "
                            f"Convert it with {name}.toarray().")
        try:
            arr = np.asarray(value)
        except Exception as exc:  # pragma: no cover - exotic inputs
            raise TypeError(f"{name} must be array-like; got {type(value).__name__}.") from exc
        data = arr
    if dtype is None:
        if arr.dtype.kind in "biu":
            arr = arr.astype(np.float64)
        elif arr.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name} must have dtype float32 or float64; got {arr.dtype}. "
                            f"Cast it with {name}.astype(numpy.float64).")
    else:
        arr = arr.astype(dtype, copy=False)
    data = arr.data if sp.issparse(arr) else arr
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional; got shape {arr.shape}.")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinite values; remove or impute them.")
    if not sp.issparse(arr):
        arr = np.ascontiguousarray(arr)
    return arr


def check_hyperparameters(lam, dtype, n=2, names=("lam1", "lam2")):
    """Validate the 1-D hyperparameter array ``lam`` = (λ1, λ2), both >= 0 and finite."""
    try:
        arr = np.asarray(lam, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"lam must be {n} numbers ({', '.join(names)}); got {lam!r}.") from exc
    if arr.shape != (n,):
        raise ValueError(f"lam must be a 1-D array of length {n} ({', '.join(names)}); "
                         f"got shape {arr.shape}.")
    for value, name in zip(arr, names):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite; got {value}.")
        if value < 0:
            raise ValueError(f"{name} must be >= 0 (it is a regularisation weight); got {value}.")
    return arr.astype(dtype)


def check_positive_int(value, name, *, minimum=1):
    """``value`` must be an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def check_positive_float(value, name, *, strict=True):
    """``value`` must be a finite float > 0 (or >= 0 with ``strict=False``)."""
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number; got {value!r}.") from exc
    if not np.isfinite(value) or value < 0 or (strict and value == 0):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be finite and {bound}; got {value}.")
    return value


def describe(lam, max_items=8):
    """``lam`` for an error message: the values when short, a summary when long."""
    arr = np.asarray(lam)
    if arr.size <= max_items:
        return str(arr.tolist())
    return f"<{arr.size} values in [{arr.min():.3g}, {arr.max():.3g}]>"
