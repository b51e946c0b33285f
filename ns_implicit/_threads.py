"""Limiting BLAS threads for skinny, memory-bound products (the poisoning problem)."""

import contextlib


def blas_threads(n):
    """A context limiting BLAS to ``n`` threads (threadpoolctl), or a no-op for ``n <= 0``."""
    if n <= 0:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with the data extra
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")
