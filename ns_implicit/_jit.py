"""The Numba switch.

Every compiled kernel in ns_implicit is a free function decorated with :func:`njit`,
which is ``numba.njit(cache=True)`` unless the environment variable
``NS_IMPLICIT_PURE_PYTHON`` is set to a non-empty value other than ``0`` at import
time; then the kernels run as plain Python (for debugging, coverage, and to
cross-check the compiled path).
"""

import os

PURE_PYTHON = os.environ.get("NS_IMPLICIT_PURE_PYTHON", "") not in ("", "0")


def njit(func):
    """Compile ``func`` with ``numba.njit(cache=True)``, or return it unchanged."""
    if PURE_PYTHON:
        return func
    import numba

    return numba.njit(cache=True, nogil=True)(func)
