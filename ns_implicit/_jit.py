"""The Numba switch.

Every compiled kernel in ns_implicit is a free function decorated with :func:`njit`,
which is ``numba.njit(cache=True, nogil=True)`` by default. Environment variables, read
once at import time (a value counts as set when it is non-empty and not ``0``):

``NS_IMPLICIT_PURE_PYTHON``
    The kernels run as plain Python (for debugging, coverage, and to cross-check the
    compiled path).
``NS_IMPLICIT_BOUNDSCHECK``
    The kernels are compiled with ``boundscheck=True``: an out-of-bounds index raises
    ``IndexError`` instead of reading or writing past the array. These kernels are not
    cached (Numba's cache key ignores compile flags, so a cached unchecked kernel would be
    loaded instead, and a checked one would slow down later unchecked runs).

When Numba finds no writable cache directory (read-only install and no writable home, and
``NUMBA_CACHE_DIR`` unset or not writable), the kernels are compiled without a cache, so
in every process, and one :class:`NumbaCacheWarning` says so; set ``NUMBA_CACHE_DIR`` to a
writable directory to cache them.
"""

import os
import warnings


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


PURE_PYTHON = _flag("NS_IMPLICIT_PURE_PYTHON")
BOUNDSCHECK = _flag("NS_IMPLICIT_BOUNDSCHECK")

# numba/core/caching.py, _CacheImpl.__init__, when every cache locator fails:
# RuntimeError("cannot cache function %r: no locator available for file %r").
_NO_LOCATOR = "no locator available"


class NumbaCacheWarning(RuntimeWarning):
    """Numba found no writable cache directory; kernels are compiled without a cache."""


_warned = False


def _warn_no_cache(exc):
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn(
        f"ns_implicit: Numba found no writable cache directory ({exc}). Kernels are "
        "compiled without a cache, again in every process; set NUMBA_CACHE_DIR to a "
        "writable directory to cache them.",
        NumbaCacheWarning,
        stacklevel=3,
    )


def njit(func):
    """Compile ``func`` with Numba (cached when possible), or return it unchanged."""
    if PURE_PYTHON:
        return func
    import numba

    if BOUNDSCHECK:
        return numba.njit(cache=False, nogil=True, boundscheck=True)(func)
    try:
        return numba.njit(cache=True, nogil=True)(func)
    except RuntimeError as exc:
        if _NO_LOCATOR not in str(exc):
            raise
        _warn_no_cache(exc)
        return numba.njit(cache=False, nogil=True)(func)
