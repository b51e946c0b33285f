"""The exact hypergradient: a direct solve on the selection's row set (docs/theory.md §6
eq. (10), §15.2).

At a point ``w`` with selection ``(A, B)`` whose rows of ``A`` vanish outside ``R``:

    (I - A[R, R])ᵀ v_R = u_R,     v = u + Aᵀ v̄   (v̄ = v_R lifted by zeros),     Jᵀu = Bᵀ v;

forward, ``J[Rᶜ] = B[Rᶜ]`` and ``J[R] = (I - A[R, R])⁻¹ (B[R] + A[R, Rᶜ] B[Rᶜ])``. Rows of
``B`` outside ``R`` (a box projection at its upper bound) are thereby accounted for; for
soft-thresholding they vanish and ``v = v̄`` on ``R``. The restricted system is solved by
Cholesky when the selection is tagged symmetric positive definite (a coordinate-projection
``A_G`` after a symmetric contraction, §15.3) and by LU otherwise.

At the fixed point ``w(λ)`` this is the implicit conservative derivative; for the elastic
net ``J[S] = -(H[S, S] + λ2 I)⁻¹ [sign(w_S), w_S]`` (docs/theory.md §13 item 2). This is the
yardstick every other method is measured against.
"""

import numpy as np

from ns_implicit.errors import NotContractiveError
from ns_implicit.methods._common import check_method_args, unit_scale, unscale
from ns_implicit.methods.result import MethodResult


def _solve(M, rhs, spd, q, condition=False):
    """Solve ``M x = rhs`` in float64: Cholesky (LAPACK ``posv``) when ``spd``, else LU
    (NumPy's LAPACK ``gesv``).

    ``posv`` is called directly (SciPy's raw LAPACK binding: no wrapper overhead, 2-3x faster
    than ``gesv`` at |R| = 30-200). For an SPD system of a ``q``-contraction the eigenvalues
    lie in ``[1 - q, 1 + q]``; when that does not bound the condition number by
    ``1/(100 |R| eps)`` (``q = 1``: the lasso, docs/theory.md §15.6, or ``q`` within round-off
    of 1) the reciprocal condition number is checked, since a singular system passes Cholesky
    with a round-off-sized pivot (an exactly singular ``M`` rounds to ``rcond`` of a few
    ``|R| eps``; below ``100 |R| eps`` the solve would carry a relative error above
    ``1/(100 |R|)`` anyway): :class:`NotContractiveError` names the cause and the fix.
    Otherwise a matrix tagged SPD that is not positive definite in floating point falls back
    to LU; a singular one raises ``LinAlgError``. The LU path (non-symmetric systems: block
    soft-thresholding, the simplex, the ReLU layer) checks ``rcond`` the same way whenever ``q``
    does not certify the conditioning (``‖A‖ <= q`` bounds the 2-norm condition number by
    ``(1 + q)/(1 - q)`` for any ``A``).

    Returns ``(x, rcond)``: ``rcond`` is LAPACK's estimate of the reciprocal 1-norm condition
    number of ``M`` (``pocon`` / ``gecon``), the record's measure of how far the restricted
    system is from singular (the nonsmooth implicit function theorem's condition, §6, §15.6),
    computed when the check needs it or ``condition`` asks for it (else None: it costs about
    as much as the Cholesky solve of a small system).
    """
    M = M.astype(np.float64, copy=False)
    rhs = rhs.astype(np.float64, copy=False)
    rcond_min = 100 * M.shape[0] * np.finfo(np.float64).eps
    certified = q < 1.0 and (1.0 - q) / (1.0 + q) >= rcond_min
    if spd:
        from scipy.linalg.lapack import dpocon, dposv  # on first use: keeps the import light

        c, x, info = dposv(M, rhs, lower=1)
        if info == 0 and certified and not condition:
            return x, None
        rcond = float(dpocon(c, np.abs(M).sum(axis=0).max(), uplo="L")[0]) if info == 0 else 0.0
        if info == 0 and (certified or rcond >= rcond_min):
            return x, rcond
        if not certified:
            _singular(M.shape[0], rcond, q)
    x, rcond = _lu_solve(M, rhs, certified)
    if not certified and rcond < rcond_min:
        _singular(M.shape[0], rcond, q)
    return x, rcond


def _singular(size, rcond, q):
    raise NotContractiveError(
        f"the restricted system (I - A)[R, R] on the {size} active coordinates "
        f"is singular at this point (reciprocal condition number {rcond:.2g}) and the "
        f"map is not a contraction that rules this out (q = {q:.17g}), so the "
        "hypergradient is not defined here (for the lasso: more active features than "
        "samples, which a converged solution in general position does not have, or "
        "collinear features); solve w more tightly, use a larger lam1, or lam2 > 0 "
        "(an elastic net).")


def _lu_solve(M, rhs, certified=True):
    """``(x, rcond)`` by LU (LAPACK ``getrf``/``getrs``/``gecon``); ``LinAlgError`` when singular
    (:class:`NotContractiveError` when ``q`` does not rule that out, ``certified=False``)."""
    import scipy.linalg
    from scipy.linalg.lapack import dgecon

    lu, piv = scipy.linalg.lu_factor(M, check_finite=False)
    if not np.all(np.diag(lu)):
        if not certified:
            return None, 0.0
        raise np.linalg.LinAlgError("Singular matrix")
    rcond = dgecon(lu, np.abs(M).sum(axis=0).max(), norm="1")[0]
    return scipy.linalg.lu_solve((lu, piv), rhs, check_finite=False), float(rcond)


def exact(phi, w, u, *, condition=False):
    """``Jᵀu`` by a direct solve on the row set (float64 internally).

    ``result.rcond`` is LAPACK's estimate of the reciprocal condition number of the restricted
    system ``(I - A)[R, R]`` when it was computed: always for a non-symmetric system or a map
    whose ``q`` does not certify the conditioning (``q = 1``, §15.6), and on request
    (``condition=True``); None otherwise (a ``q``-contraction bounds it by ``(1 - q)/(1 + q)``).

    The solve runs on ``u`` rescaled by a power of two and the answer is scaled back, so
    only a hypergradient that itself overflows the dtype raises
    :class:`~ns_implicit.errors.NonFiniteError`.
    """
    w, u, _, _ = check_method_args(phi, w, u, 0, 0.0, "exact")
    sel = phi.selection(w)
    u, e = unit_scale(u)
    R = sel.rows
    v_bar = np.zeros_like(u)
    rcond = 1.0  # R empty: the system is the identity
    if len(R):
        v_bar[R], rcond = _solve(sel.restricted_matrix().T, u[R], sel.spd, float(phi.q),
                                 condition)
    # v = u + Aᵀv̄ equals v̄ on R; off R it is needed only where rows of B live outside R
    v = u + sel.AT(v_bar) if sel.b_outside_rows else v_bar
    result = MethodResult(unscale(sel.BT(v), e), "exact", 0, 0.0, True)
    result.rcond = rcond  # LAPACK's estimate for (I - A)[R, R] (docs/theory.md §6, §15.6)
    return result


def exact_jacobian(phi, w):
    """The ``p × m`` Jacobian ``J = (I - A)⁻¹B`` at ``w`` by a direct solve on ``R``."""
    w, _, _, _ = check_method_args(phi, w, np.zeros(getattr(phi, "dim", 0)), 0, 0.0,
                                   "exact_jacobian")
    sel = phi.selection(w)
    R = sel.rows
    eye = np.eye(phi.n_hyper, dtype=phi.dtype)
    Bmat = np.column_stack([sel.B(e) for e in eye])
    J = Bmat.copy()  # rows outside R: J = B (those rows of A vanish)
    if len(R):
        rhs = Bmat[R]
        if sel.b_outside_rows:  # + A[R, Rᶜ] B[Rᶜ]
            outside = Bmat.copy()
            outside[R] = 0
            rhs = rhs + np.column_stack([sel.A(outside[:, j]) for j in range(phi.n_hyper)])[R]
        J[R], rcond = _solve(sel.restricted_matrix(), rhs, sel.spd, float(phi.q))
    else:
        rcond = 1.0
    result = MethodResult(J, "exact-jacobian", 0, 0.0, True)
    result.rcond = rcond
    return result
