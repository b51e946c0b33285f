"""One pass over a dense design for the rigorous cap of ``λ_max(XᵀX)``, docs/theory.md §16.1."""

import numpy as np

from ns_implicit._jit import njit


@njit
def norm_sums(X):
    """``(‖X‖_F², max_j Σ_i |X_ij|, max_i Σ_j |X_ij|)`` for a C-ordered ``X``, in float64, in
    one pass and without a temporary copy of ``|X|``."""
    n, p = X.shape
    col = np.zeros(p)
    fro = 0.0
    row_max = 0.0
    for i in range(n):
        row = 0.0
        for j in range(p):
            x = np.float64(X[i, j])
            fro += x * x
            a = abs(x)
            row += a
            col[j] += a
        if row > row_max:
            row_max = row
    col_max = 0.0
    for j in range(p):
        if col[j] > col_max:
            col_max = col[j]
    return fro, col_max, row_max
