"""Input checks that name the argument and the fix (scikit-learn style)."""

import numbers
import threading
from contextlib import contextmanager
from math import isfinite

import numpy as np
import scipy.sparse as sp

FLOAT_DTYPES = (np.float32, np.float64)

_CHECKED = threading.local()


@contextmanager
def checked(*arrays):
    """Inside the block, :func:`as_float_array` skips its finite test (a pass over the data)
    for these very objects: a bundle checks its arrays once at its boundary and then builds
    its map, step and outer loss from them, with no user code in between to change them."""
    before = getattr(_CHECKED, "ids", frozenset())
    _CHECKED.ids = before | {id(a) for a in arrays}
    try:
        yield
    finally:
        _CHECKED.ids = before


def _finite_checked(value):
    return id(value) in getattr(_CHECKED, "ids", ())


def as_float_array(value, name, *, ndim=None, dtype=None, allow_sparse=False, order="C"):
    """Return ``value`` as a finite float32/float64 array, or raise a clear error.

    Integer and boolean input is promoted to float64; other dtypes are rejected. A dense
    result is contiguous in ``order`` (``"C"`` rows, ``"F"`` columns).
    """
    contiguous = "C_CONTIGUOUS" if order == "C" else "F_CONTIGUOUS"
    if (type(value) is np.ndarray and value.dtype == dtype and (ndim is None or value.ndim == ndim)
            and value.dtype in FLOAT_DTYPES and value.flags[contiguous]):  # the hot path
        if not _finite_checked(value) and not np.isfinite(value).all():
            raise ValueError(f"{name} contains NaN or infinite values; remove or impute them.")
        return value
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
    if dtype is not None and arr.dtype.kind not in "biuf":  # complex, str, None: never cast
        raise TypeError(f"{name} must be a real numeric array (float32 or float64); got dtype "
                        f"{arr.dtype} from {type(value).__name__}. Pass a NumPy float array, "
                        f"e.g. numpy.asarray({name}, dtype=numpy.float64).")
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
    if not _finite_checked(value) and not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinite values; remove or impute them.")
    if not sp.issparse(arr):
        arr = np.ascontiguousarray(arr) if order == "C" else np.asfortranarray(arr)
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
    bad = ~(np.isfinite(arr) & (arr >= 0))  # one vectorised test: p entries for a weighted λ
    if bad.any():
        i = int(np.argmax(bad))  # the first offending entry, by its name
        value, name = arr[i], names[i]
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite; got {value}.")
        what = ("a radius" if name == "radius" else "a box bound" if name == "C"
                else "a regularisation weight")
        raise ValueError(f"{name} must be >= 0 (it is {what}); got {value}.")
    return arr.astype(dtype)


def check_positive_int(value, name, *, minimum=1):
    """``value`` must be an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def check_positive_float(value, name, *, strict=True):
    """``value`` must be a finite float > 0 (or >= 0 with ``strict=False``).

    Strings and booleans are refused (a string ``"1e-3"`` used to pass here and fail later
    in a format string)."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be a number; got {value!r} ({type(value).__name__}).")
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number; got {value!r}.") from exc
    if not isfinite(value) or value < 0 or (strict and value == 0):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be finite and {bound}; got {value}.")
    return value


def describe(lam, max_items=8):
    """``lam`` for an error message: the values when short, a summary when long."""
    arr = np.asarray(lam)
    if arr.size <= max_items:
        return str(arr.tolist())
    return f"<{arr.size} values in [{arr.min():.3g}, {arr.max():.3g}]>"


def check_map_at(phi, method="this method", stochastic=False):
    """``phi`` must be a map at fixed λ (``map.at(lam)``), not the map itself.

    Raises a ``TypeError`` naming the fix instead of an ``AttributeError`` deep inside.
    """
    needed = ("check_point", "sample") if stochastic else ("check_point", "selection")
    if all(hasattr(phi, attr) for attr in needed):
        return phi
    kind = "a stochastic map at fixed lam" if stochastic else "a map at fixed lam"
    if hasattr(phi, "at"):
        raise TypeError(f"{method} needs {kind}, got the map {type(phi).__name__} itself: "
                        f"pass map.at(lam) (e.g. {method}(problem.map.at(lam), ...)).")
    raise TypeError(f"{method} needs {kind} (map.at(lam)); got {type(phi).__name__}.")


def check_contraction(phi, what):
    """``phi`` must be a contraction (``q < 1``): ``what`` (a bound or a stochastic method)
    needs it. A map that is only averaged (the lasso, ``q = 1``) is refused with the fix."""
    from ns_implicit.errors import NotContractiveError

    if not float(phi.q) < 1.0:
        raise NotContractiveError(
            f"{what} needs a contraction (q < 1), and this map is only nonexpansive (q = "
            f"{float(phi.q):.6g}: a lasso-type map with mu + lam2 = 0, docs/theory.md §15.6); "
            "use lam2 > 0 (an elastic net), or a deterministic method (exact, aid-cg, aid-fp, "
            "itd), which rely on the contraction on the identified support.")
    return phi


def check_batch_size(batch_size, n):
    """``batch_size`` must be an integer in ``[1, n]``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be an integer; got {batch_size!r}.")
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must lie in [1, n] = [1, {n}] (n = number of training "
                         f"rows); got {batch_size}.")
    return int(batch_size)


#: default relative tolerances by dtype: float32 round-off (eps 1.2e-7) cannot reach 1e-10.
DEFAULT_TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-6}


def default_tol(tol, dtype, name="tol"):
    """``tol`` validated (>= 0), or the dtype's default when None (1e-10 float64, 1e-6 float32)."""
    if tol is None:
        return DEFAULT_TOL.get(np.dtype(dtype), 1e-10)
    return check_positive_float(tol, name, strict=False)


def tolerance_floor(dtype):
    """The smallest relative tolerance the dtype can reach: ``5·eps`` (round-off of a step
    or residual relative to the iterate; 1.1e-15 in float64, 6e-7 in float32)."""
    return 5.0 * float(np.finfo(np.dtype(dtype)).eps)
