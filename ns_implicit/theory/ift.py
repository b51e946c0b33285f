"""The condition of the nonsmooth implicit function theorem at a solution (docs/theory.md §6,
§15.6): every element of the conservative set of ``I - A`` must be invertible.

For a selection whose rows of ``A`` vanish outside ``R``, ``I - A`` is block triangular with an
identity block outside ``R``, so it is invertible exactly when the restricted matrix
``(I - A)[R, R]`` is; :func:`ift_condition` returns the smallest singular value of that block
over every selection at ``w`` (the vertices of the conservative set). Positive: the implicit
set (10) is well defined and every method's target exists; zero (to round-off): the
hypergradient is not defined there (for the lasso, a non-unique solution).
"""

import numpy as np

from ns_implicit.operators.base import MAX_SELECTIONS
from ns_implicit.theory.sets import selections


def ift_condition(phi, w, cap=MAX_SELECTIONS, *, tie_tol=0.0):
    """``min`` over the selections at ``w`` of ``σ_min((I - A)[R, R])`` (float64; 1.0 when every
    row set is empty: ``I - A = I``)."""
    sigma = 1.0
    for sel in selections(phi, w, cap, tie_tol=tie_tol):
        if len(sel.rows):
            M = sel.restricted_matrix().astype(np.float64)
            sigma = min(sigma, float(np.linalg.svd(M, compute_uv=False)[-1]))
    return sigma
