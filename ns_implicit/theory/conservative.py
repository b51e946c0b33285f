"""Finite sets of vectors and matrices in vertex form, and the excess (docs/theory.md §1–§3).

A set is an array whose first axis lists its elements: ``(N, d)`` for vectors, ``(N, p, m)``
for matrices. The conservative set it stands for is either the finite set itself or its
convex hull (``hull=True``); the sup of a convex function (a distance to a convex set) over
a convex hull is attained at a vertex, so the vertices are all we ever need.

Norms
-----
Vectors: the Euclidean norm, and every distance here is exact (up to round-off).

Matrices: ``norm="fro"`` (the default) is the Frobenius norm of the flattened matrix. The
operator (spectral) norm of docs/theory.md §1 is never larger, ``‖M‖ ≤ ‖M‖_F``, so the Frobenius
excess is an *upper bound* of the operator-norm excess. That direction keeps a check of the
form "measured excess ≤ bound" sound: if the Frobenius excess passes, the operator-norm
excess passes too. It must not be used the other way round (to claim an excess is *large*).
``norm="op"`` is exact for finite targets (``hull=False``: a minimum over the elements); for
``hull=True`` it returns the operator norm of the residual to the Frobenius-nearest point of
the hull (or to the nearest vertex if closer) — a feasible point, hence again an upper bound.

The distance to a convex hull is the small quadratic programme
``min_{t ∈ simplex} ‖x - Σ_i t_i v_i‖``. It is solved exactly (an active-set method, no
tolerance to tune) by :func:`scipy.optimize.nnls` through the reduction
``min_{s ≥ 0} ‖[Pᵀ; 1ᵀ] s - e‖²`` with ``P`` the rows ``v_i - x``: writing ``s = c·t`` with
``t`` in the simplex, the objective is ``c²‖Pᵀt‖² + (c - 1)²``, minimised over ``c`` at
``‖Pᵀt‖² / (1 + ‖Pᵀt‖²)``, an increasing function of ``‖Pᵀt‖``; so ``t = s / Σs`` is a
nearest point's weights. Members of the hull get distance 0 up to round-off.
"""

import numpy as np
import scipy.optimize

NORMS = ("fro", "op")


def as_set(elements, name="A", shape=None):
    """Validate a finite set in vertex form: a float64 array ``(N, *shape)`` with ``N >= 1``.

    A list of equally shaped arrays is stacked. ``shape`` (the element shape) is checked
    when given.
    """
    try:
        arr = np.asarray(elements, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of shape (N, ...) listing the set's elements, "
                        f"or a list of equally shaped arrays; got {type(elements).__name__}.") from exc
    if arr.ndim < 2:
        raise ValueError(f"{name} must list the set's elements along axis 0: shape (N, d) for "
                         f"vectors or (N, p, m) for matrices; got shape {arr.shape}. "
                         f"Wrap a single element as {name}[None].")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; a set needs at least one element.")
    if shape is not None and arr.shape[1:] != tuple(shape):
        raise ValueError(f"the elements of {name} have shape {arr.shape[1:]}; expected "
                         f"{tuple(shape)} (all sets compared must hold elements of one shape).")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; every element must be finite.")
    return arr


def _as_point(x, name="x"):
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a vector or a matrix; got a scalar.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def _check_norm(norm):
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; got {norm!r}.")


def operator_norms(M):
    """Spectral norms of a stack of matrices ``(..., p, m)``.

    Closed forms for ``min(p, m) <= 2`` (the largest eigenvalue of the 2×2 Gram matrix),
    an SVD otherwise. ``M`` must have at least two axes (``ValueError`` otherwise).
    """
    try:
        M = np.asarray(M, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"M must be an array of matrices (..., p, m); got "
                        f"{type(M).__name__}.") from exc
    if M.ndim < 2:
        raise ValueError(f"M must be a matrix or a stack of matrices (..., p, m); got shape "
                         f"{M.shape}. Wrap a vector v as v[:, None].")
    if M.shape[-1] == 0 or M.shape[-2] == 0:
        return np.zeros(M.shape[:-2])  # the norm of an empty matrix is 0
    if M.shape[-1] > M.shape[-2]:
        M = np.swapaxes(M, -1, -2)
    if M.shape[-1] == 1:
        return np.sqrt(np.sum(M[..., 0] ** 2, axis=-1))
    if M.shape[-1] == 2:
        a = np.sum(M[..., 0] ** 2, axis=-1)
        c = np.sum(M[..., 1] ** 2, axis=-1)
        b = np.sum(M[..., 0] * M[..., 1], axis=-1)
        return np.sqrt(0.5 * (a + c) + np.sqrt((0.5 * (a - c)) ** 2 + b * b))
    return np.linalg.norm(M, ord=2, axis=(-2, -1))


def _norms(diff, norm):
    """Norms of the elements of ``diff`` (shape ``(N, ...)``)."""
    if diff.ndim == 2 or norm == "fro":
        return np.sqrt(np.sum(diff.reshape(diff.shape[0], -1) ** 2, axis=1))
    if diff.ndim != 3:
        raise ValueError("norm='op' needs matrices (elements of shape (p, m)).")
    return operator_norms(diff)


def pairwise_distances(A, B, *, norm="fro"):
    """``D[i, j] = ‖A_i - B_j‖`` for two sets of equally shaped elements (chunked to bound
    memory); validated by :func:`as_set` (non-empty, finite, one element shape)."""
    _check_norm(norm)
    A = as_set(A, "A")
    B = as_set(B, "B", shape=A.shape[1:])
    out = np.empty((A.shape[0], B.shape[0]))
    size = int(np.prod(A.shape[1:])) or 1
    step = max(1, 2_000_000 // max(size * B.shape[0], 1))
    for i in range(0, A.shape[0], step):
        diff = A[i:i + step, None] - B[None]
        out[i:i + step] = _norms(diff.reshape((-1,) + A.shape[1:]), norm).reshape(diff.shape[:2])
    return out


def nearest_point_in_hull(x, vertices):
    """Frobenius/Euclidean-nearest point of ``conv(vertices)`` to ``x``, and its weights.

    Returns ``(point, weights)`` with ``weights`` in the simplex (``point = weightsᵀ vertices``).
    """
    x = _as_point(x)
    V = as_set(vertices, "vertices", shape=x.shape)
    flat = V.reshape(V.shape[0], -1)
    P = flat - x.ravel()
    scale = float(np.max(np.abs(P)))
    if scale == 0.0:
        weights = np.zeros(V.shape[0])
        weights[0] = 1.0
        return V[0].copy(), weights
    P = P / scale  # the programme is scale invariant; this keeps nnls well conditioned
    E = np.vstack([P.T, np.ones((1, P.shape[0]))])
    e = np.zeros(E.shape[0])
    e[-1] = 1.0
    s, _ = scipy.optimize.nnls(E, e)
    weights = s / s.sum()  # s != 0: any small multiple of a simplex point beats s = 0
    return np.tensordot(weights, V, axes=1), weights


def distance_to_set(x, vertices, *, norm="fro"):
    """``min_i ‖x - v_i‖`` over the finite set (exact in both norms)."""
    _check_norm(norm)
    x = _as_point(x)
    V = as_set(vertices, "vertices", shape=x.shape)
    return float(np.min(_norms(V - x, norm)))


def distance_to_hull(x, vertices, *, norm="fro"):
    """Distance of ``x`` (a vector or a matrix) to the convex hull of the rows of ``vertices``.

    Euclidean for vectors, Frobenius for matrices (``norm="op"``: an upper bound of the
    operator-norm distance, see the module docstring). Exact 0 for members up to round-off.
    """
    _check_norm(norm)
    x = _as_point(x)
    V = as_set(vertices, "vertices", shape=x.shape)
    point, _ = nearest_point_in_hull(x, V)
    candidates = np.concatenate([(point - x)[None], V - x])
    # Every candidate is a point of the hull, so the minimum is a feasible (upper) value;
    # for norm="fro" the nnls point is optimal and the vertices only guard round-off.
    return float(np.min(_norms(candidates, norm)))


def excess(A, B, *, hull=True, norm="fro"):
    """``ex(A, B) = sup_{a ∈ A} dist(a, B)`` (docs/theory.md §3, Definition 2.2).

    ``A`` and ``B`` are finite sets in vertex form (arrays ``(N, ...)``). With ``hull=True``
    the target is ``conv(B)``; the sup over ``conv(A)`` equals the max over the vertices of
    ``A`` (a distance to a convex set is convex), so this is ``ex(conv A, conv B)``. With
    ``hull=False`` both sets are the finite sets themselves. Norms: see the module docstring
    (Frobenius for matrices by default — an upper bound of the operator-norm excess).
    """
    _check_norm(norm)
    A = as_set(A, "A")
    B = as_set(B, "B", shape=A.shape[1:])
    if not hull:
        return float(np.max(np.min(pairwise_distances(A, B, norm=norm), axis=1)))
    return max(distance_to_hull(a, B, norm=norm) for a in A)


def hausdorff(A, B, *, hull=True, norm="fro"):
    """``H(A, B) = max(ex(A, B), ex(B, A))`` (docs/theory.md §3)."""
    return max(excess(A, B, hull=hull, norm=norm), excess(B, A, hull=hull, norm=norm))


def set_norm(A, *, norm="op"):
    """``‖A‖ = sup_{a ∈ A} ‖a‖`` (docs/theory.md §1); equal for ``A`` and ``conv(A)``."""
    _check_norm(norm)
    A = as_set(A, "A")
    return float(np.max(_norms(A, norm)))


def minkowski_sum(A, B):
    """``A + B = {a + b}`` in vertex form (``N_A · N_B`` elements, ``a`` varying slowest).

    ``conv(A + B) = conv(A) + conv(B)``, so the vertex form is closed under this sum.
    """
    A = as_set(A, "A")
    B = as_set(B, "B", shape=A.shape[1:])
    return (A[:, None] + B[None, :]).reshape((-1,) + A.shape[1:])


def minkowski_product(A, B):
    """``A B = {a b}`` for sets of matrices ``(N_A, p, r)`` and ``(N_B, r, m)`` (docs/theory.md §1).

    ``b`` may also be a set of vectors ``(N_B, r)``. Note ``conv(A)conv(B)`` is in general
    larger than ``conv(AB)``: products of hulls are not hulls of products.
    """
    A = as_set(A, "A")
    B = as_set(B, "B")
    if A.ndim != 3 or B.ndim not in (2, 3) or A.shape[2] != B.shape[1]:
        raise ValueError(f"minkowski_product needs A of shape (N, p, r) and B of shape (N, r, m) "
                         f"or (N, r); got {A.shape} and {B.shape}.")
    prod = np.einsum("apr,br...->abp...", A, B)
    return prod.reshape((-1,) + prod.shape[2:])


def linear_image(M, A):
    """``M A = {M a}`` for a fixed matrix ``M`` (docs/theory.md §3, Lemma B.1 (iv))."""
    M = _as_point(M, "M")
    return minkowski_product(M[None], A)


def unique_elements(A):
    """The distinct elements of ``A`` (bitwise), in first-occurrence order."""
    A = as_set(A, "A")
    _, first = np.unique(A.reshape(A.shape[0], -1), axis=0, return_index=True)
    return A[np.sort(first)]
