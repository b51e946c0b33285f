"""Conservative sets of a composite map in vertex form, docs/theory.md §4, §6, §7.

At a point ``(w, λ)`` the selection derivative ``D_Φ(w, λ)`` of ``Φ = G ∘ T`` is the
finite set of pairs ``(A, B)``, one per vertex of the operator's conservative set at
``u = T(w, λ)`` (``phi.selections``; for soft-thresholding every 0/1 choice at the
coordinates where ``|u_i| = τ``, the mask fixed elsewhere). From it:

* the implicit set (10): ``{(I - A)⁻¹B : (A, B) ∈ D_Φ(w(λ), λ)}`` — :func:`implicit_jacobians`;
* the fixed-point set (11): the fixed point of ``𝒳 ↦ {AX + B}``, infinite in general;
  :func:`fixed_point_set` returns a finite inner approximation with a certified radius;
* the ITD set iterates ``𝒟_t = {AX + B : (A, B) ∈ D_Φ(w_{t-1}), X ∈ 𝒟_{t-1}}``, ``𝒟_0 = {0}``
  (:func:`itd_set_iterates`) and the AID-FP set ``{Σ_{i<k} AⁱB}`` (:func:`aid_fp_set`).

Everything is dense (``p × p`` and ``p × m`` matrices, float64): meant for small ``p``.

The enumeration cap
-------------------
A point with ``k`` ties has ``2**k`` selections, and set iterates multiply their sizes.
Every function takes ``cap`` (default :data:`MAX_SELECTIONS` = 4096): the number of
selections at one point (checked by the operator's ``vertices``) and the number of
elements of any set built here may not exceed it; past it a
:class:`~ns_implicit.errors.SelectionCapError` says which set, how large, and what to change.

Near-ties
---------
``tie_tol`` (default 0: exact equality, the oracle's own test) treats points within
``tie_tol`` (relative) of a kink as at the kink (soft-thresholding:
``||u_i| - τ| <= tie_tol · τ``). A solution built to sit exactly at a kink (for
example by :func:`ns_implicit.theory.instances.kink_instance`) is only at the kink up to
round-off; ``tie_tol`` lets its selection set be the kink's.
"""

import numpy as np

from ns_implicit._validation import check_contraction, check_positive_float, check_positive_int
from ns_implicit.theory.conservative import as_set
from ns_implicit.errors import SelectionCapError
from ns_implicit.operators.base import MAX_SELECTIONS

__all__ = ["MAX_SELECTIONS", "selections", "selection_matrices", "implicit_jacobians",
           "fixed_point_set", "itd_set_iterates", "itd_set_step", "aid_fp_set", "dense_pair",
           "tied_coordinates"]


def _check_cap(cap):
    return check_positive_int(cap, "cap")


def tied_coordinates(phi, w, *, tie_tol=0.0):
    """Indices ``i`` at a kink of the operator at ``u = T(w, λ)``: ``||u_i| - τ| <= tie_tol · τ``
    for soft-thresholding (exact equality when 0)."""
    tie_tol = check_positive_float(tie_tol, "tie_tol", strict=False)
    w = phi.check_point(w, "w")
    return phi.G.ties(np.asarray(phi.inner_point(w)), phi.lam_G, phi.gamma, tie_tol)


def selections(phi, w, cap=MAX_SELECTIONS, *, tie_tol=0.0):
    """All selections ``(A, B) ∈ D_Φ(w, λ)`` at ``w``: one per vertex of the operator's
    conservative set at ``u = T(w, λ)`` (docs/theory.md §4, §15.4).

    Raises :class:`~ns_implicit.errors.SelectionCapError` past ``cap`` selections.
    """
    cap = _check_cap(cap)
    tie_tol = check_positive_float(tie_tol, "tie_tol", strict=False)
    w = phi.check_point(w, "w")
    return phi.selections(w, cap, tie_tol)


def dense_pair(sel, dim, n_hyper):
    """The dense ``(A, B)`` (float64, ``p × p`` and ``p × m``) of one selection."""
    dtype = sel.lin.value.dtype
    eye_p = np.eye(dim, dtype=dtype)
    eye_m = np.eye(n_hyper, dtype=dtype)
    A = np.column_stack([sel.A(e) for e in eye_p]).astype(np.float64)
    B = np.column_stack([sel.B(e) for e in eye_m]).astype(np.float64)
    return A, B


def selection_matrices(phi, w, cap=MAX_SELECTIONS, *, tie_tol=0.0):
    """``(A, B)`` of every selection at ``w`` as arrays ``(N, p, p)`` and ``(N, p, m)``."""
    pairs = [dense_pair(s, phi.dim, phi.n_hyper) for s in selections(phi, w, cap, tie_tol=tie_tol)]
    return np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])


def implicit_jacobians(phi, w, cap=MAX_SELECTIONS, *, tie_tol=0.0):
    """``(I - A)⁻¹B`` for every selection at ``w``: the vertex form of the implicit set (10).

    Returns an array ``(N, p, m)`` (float64), one Jacobian per selection mask (duplicates
    kept, in mask order). At the fixed point ``w(λ)`` these are the candidate derivatives
    of ``w(·)`` (docs/theory.md §6; P5 of §2).
    """
    A, B = selection_matrices(phi, w, cap, tie_tol=tie_tol)
    eye = np.eye(phi.dim)
    return np.linalg.solve(eye[None] - A, B)


def _check_size(n, cap, what):
    if n > cap:
        raise SelectionCapError(
            f"{what} would hold {n} elements, more than cap={cap}; raise cap, use fewer "
            "iterations, or move the point off the ties.")


def _apply_set_map(A, B, X, cap, what):
    """``{A_j X + B_j}`` over all pairs and all ``X`` (distinct elements only)."""
    _check_size(A.shape[0] * X.shape[0], cap, what)
    out = (np.einsum("jpq,xqm->jxpm", A, X) + B[:, None]).reshape((-1,) + X.shape[1:])
    _, first = np.unique(out.reshape(out.shape[0], -1), axis=0, return_index=True)
    return out[np.sort(first)]


def fixed_point_set(phi, w, *, depth=None, cap=MAX_SELECTIONS, tie_tol=0.0):
    """Inner approximation of the fixed-point set (11) at ``w = w(λ)``, with its accuracy.

    Returns ``(elements, radius)``: ``elements = 𝒥ⁿ(𝒟_imp)`` with ``𝒥(𝒳) = {AX + B}`` over
    the selections at ``w`` and ``n = depth`` (default: the largest depth whose set stays
    within ``cap``). Since ``𝒟_imp ⊆ 𝒟_fix`` and ``𝒥`` keeps ``𝒟_fix`` (Lemma 3.2(c)),
    every element lies in ``𝒟_fix``: distances to ``elements`` are upper bounds of distances
    to ``𝒟_fix``. ``𝒥`` is a ``q``-contraction for the Hausdorff distance, so every point of
    ``𝒟_fix`` is within ``radius = qⁿ · 2 max_j ‖B_j‖_F / (1 - q)`` (Frobenius) of
    ``elements``; ``radius = 0`` when there is a single selection (then ``𝒟_fix = 𝒟_imp``).
    """
    cap = _check_cap(cap)
    A, B = selection_matrices(phi, w, cap, tie_tol=tie_tol)
    eye = np.eye(phi.dim)
    X = np.linalg.solve(eye[None] - A, B)
    _, first = np.unique(X.reshape(X.shape[0], -1), axis=0, return_index=True)
    X = X[np.sort(first)]
    N = A.shape[0]
    if N == 1:
        return X, 0.0
    if depth is None:
        depth = 0
        size = X.shape[0]
        while size * N <= cap:
            size *= N
            depth += 1
    depth = check_positive_int(depth, "depth", minimum=0)
    for _ in range(depth):
        X = _apply_set_map(A, B, X, cap, f"the fixed-point set iterate (depth {depth})")
    q = float(check_contraction(phi, "the fixed-point set's radius").q)
    L_fro = float(np.max(np.linalg.norm(B, axis=(1, 2))))
    return X, q ** depth * 2.0 * L_fro / (1.0 - q)


def itd_set_step(phi, w, X, *, cap=MAX_SELECTIONS, tie_tol=0.0):
    """One ITD set step: ``{A X + B : (A, B) ∈ D_Φ(w, λ), X ∈ 𝒳}`` (distinct elements).

    ``X`` is the previous set, an array ``(N, p, m)``; raises
    :class:`~ns_implicit.errors.SelectionCapError` past ``cap`` elements.
    """
    cap = _check_cap(cap)
    X = as_set(X, "X", shape=(phi.dim, phi.n_hyper))
    A, B = selection_matrices(phi, w, cap, tie_tol=tie_tol)
    return _apply_set_map(A, B, X, cap, "the ITD set")


def itd_set_iterates(phi, points, *, cap=MAX_SELECTIONS, tie_tol=0.0):
    """The ITD sets ``𝒟_0 = {0}, …, 𝒟_T`` along the iterates ``points = (w_0, …, w_{T-1})``.

    ``𝒟_{t} = {A X + B : (A, B) ∈ D_Φ(w_{t-1}, λ), X ∈ 𝒟_{t-1}}`` (docs/theory.md §7 eq. (13)): every
    output ITD can produce, over all admissible selections. ``points`` is any sequence of
    iterates (e.g. a :class:`~ns_implicit.solvers.fixed_point.Trajectory` without its last point). Returns
    a list of arrays ``(N_t, p, m)``. A run that stays on a tie doubles the set at every
    step: expect :class:`~ns_implicit.errors.SelectionCapError` after ``log2(cap)`` such steps.
    """
    X = np.zeros((1, phi.dim, phi.n_hyper))
    sets = [X]
    for t, w in enumerate(points):
        w = phi.check_point(w, f"points[{t}]")
        try:
            X = itd_set_step(phi, w, X, cap=cap, tie_tol=tie_tol)
        except SelectionCapError as exc:
            raise SelectionCapError(f"at t={t + 1}: {exc}") from None
        sets.append(X)
    return sets


def aid_fp_set(phi, w, k, *, cap=MAX_SELECTIONS, tie_tol=0.0):
    """``{Σ_{i<k} AⁱB : (A, B) ∈ D_Φ(w, λ)}`` (docs/theory.md §7 eq. (14)); array ``(N, p, m)``.

    Computed by the AID-FP recursion ``J⁽ⁱ⁾ = A J⁽ⁱ⁻¹⁾ + B`` (``J⁽⁰⁾ = 0``) for each
    selection — the same pair for all ``k`` steps, as AID-FP does.
    """
    k = check_positive_int(k, "k", minimum=0)
    A, B = selection_matrices(phi, w, cap, tie_tol=tie_tol)
    J = np.zeros_like(B)
    for _ in range(k):
        J = np.einsum("jpq,jqm->jpm", A, J) + B
    return J
