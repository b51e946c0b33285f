"""Exactly symmetric Gram matrices from one triangle, docs/theory.md §16.5.

BLAS ``syrk`` forms one triangle of ``XᵀX``; the Gram kernels read row ``j`` of ``H`` as its
column ``j``, so ``H`` must be exactly symmetric. These loops fill it from the lower triangle
(row-contiguous reads), sum the triangles of several row blocks (the folds of
cross-validation), and symmetrise or centre a given matrix — each in one pass, without the
temporaries of the NumPy expressions (``triu``, ``H + H.T``, ``outer``).
"""

import numpy as np

from ns_implicit._jit import njit

#: Tile edge of the mirroring loops: a tile and its transpose stay in cache.
_TILE = 64


@njit
def _mirror_lower(out):
    """``out[j, i] = out[i, j]`` for ``j < i``: the upper triangle from the lower, by tiles."""
    p = out.shape[0]
    for ib in range(0, p, _TILE):
        for jb in range(0, ib + 1, _TILE):
            for i in range(ib, min(ib + _TILE, p)):
                for j in range(jb, min(jb + _TILE, i)):
                    out[j, i] = out[i, j]


@njit
def sum_lower_triangles(blocks, skip, n, out):
    """``out = (Σ_{b ≠ skip} blocks[b]) / n`` from the blocks' lower triangles, mirrored
    (``skip = -1`` keeps every block): the Gram matrix ``XᵀX/n`` of the rows of all blocks
    but one, summed in block order."""
    K, p = blocks.shape[0], blocks.shape[1]
    for i in range(p):
        for j in range(i + 1):
            out[i, j] = 0.0
        for b in range(K):
            if b != skip:
                for j in range(i + 1):
                    out[i, j] += blocks[b, i, j]
        for j in range(i + 1):
            out[i, j] = out[i, j] / n
    _mirror_lower(out)


@njit
def symmetrize(H, x, out):
    """``out = (H + Hᵀ)/2 - x xᵀ``, exactly symmetric (``x_i x_j = x_j x_i``): a given Gram
    matrix, symmetrised and centred by the column means ``x`` in one pass (``x = 0``: equal
    to ``H`` when it is already symmetric). Returns whether every entry is finite (NaN and
    ±inf in ``H`` or ``x`` propagate into ``out``)."""
    p = H.shape[0]
    finite = True
    for ib in range(0, p, _TILE):
        for jb in range(0, ib + 1, _TILE):
            for i in range(ib, min(ib + _TILE, p)):
                xi = x[i]
                for j in range(jb, min(jb + _TILE, i + 1)):
                    v = 0.5 * (H[i, j] + H[j, i]) - xi * x[j]
                    finite &= np.isfinite(v)
                    out[i, j] = v
                    out[j, i] = v
    return finite


@njit
def max_abs_column_sum(H):
    """``max_j Σ_i |H_ij|`` in float64 (the ``1``-norm, an upper bound of the spectral radius),
    without a temporary ``|H|``."""
    p = H.shape[0]
    col = np.zeros(H.shape[1])
    for i in range(p):
        for j in range(H.shape[1]):
            col[j] += abs(np.float64(H[i, j]))
    best = 0.0
    for j in range(H.shape[1]):
        if col[j] > best:
            best = col[j]
    return best
