"""AID-CG on the selection's row set, docs/theory.md §7–§8, §15.2–§15.3.

The full system ``(I - Aᵀ) v = u`` is not symmetric for a prox-gradient map
(``A = diag(m)(I - γQ)``), so it is not a conjugate-gradient target. Rows of ``A`` vanish
outside the row set ``R`` of the selection, so (§15.2)

    (I - A[R, R])ᵀ v_R = u_R,     v = u + Aᵀ v̄   (v̄ = v_R lifted by zeros),     ĝ = Bᵀ v.

When ``A_G`` is a coordinate projection after a symmetric contraction (the selection's
``spd`` tag, §15.3), ``I - A[R, R] = I - ∂_wT[R, R]`` is symmetric positive definite and plain
CG solves it in at most ``|R|`` steps. Otherwise (block soft-thresholding, projections onto
the simplex) the restricted system is not symmetric and CG would return a wrong answer:
:func:`aid_cg` raises :class:`NotSymmetricError` naming the methods that apply.
Stops when ``‖r‖ <= tol ‖u_R‖``. ``v0`` warm-starts CG at ``v0[R]``.
"""

import numpy as np

from ns_implicit.errors import NotSymmetricError
from ns_implicit.methods._common import check_method_args, check_warm_start
from ns_implicit.methods.result import MethodResult


def aid_cg(phi, w, u, *, iters=1000, tol=1e-10, history=False, v0=None):
    """``B[S]ᵀ v_S`` with ``v_S`` from ``iters`` CG steps on ``(I - A[S, S])ᵀ v_S = u_S``.

    CG starts at ``v0[S]`` (default 0); the record carries the lifted ``v`` as ``result.v``.
    """
    w, u, iters, tol = check_method_args(phi, w, u, iters, tol)
    sel = phi.selection(w)
    if not sel.spd:
        raise NotSymmetricError(
            "aid-cg needs a symmetric positive definite restricted system (I - A)[R, R], and "
            "this map's selection is not tagged so (its operator's A_G is not a coordinate "
            "projection, or its step's Jacobian is not symmetric; docs/theory.md §15.3); use "
            "method 'exact', 'aid-gmres' or 'aid-fp'.")
    S = sel.rows
    padded = np.zeros_like(u)

    def lift(x):
        padded[S] = x
        return padded

    def full(x):  # v from v_R: v̄, or u + Aᵀv̄ when rows of B live outside R (§15.2)
        v_bar = lift(x).copy()
        return u + sel.AT(v_bar) if sel.b_outside_rows else v_bar

    def system(x):  # x ↦ (I - A[S, S])ᵀ x
        return x - sel.AT(lift(x))[S]

    b = u[S]
    bnorm = float(np.linalg.norm(b))
    v0 = v0 if bnorm > 0 else None  # u_S = 0 has the solution v_S = 0
    x = check_warm_start(v0, phi)[S]
    r = b - system(x) if v0 is not None else b.copy()
    d = r.copy()
    rr = float(r @ r)
    hist = [] if history else None
    i = 0
    while i < iters and bnorm > 0 and np.sqrt(rr) > tol * bnorm:
        Md = system(d)
        curvature = float(d @ Md)
        if not curvature > 0:  # round-off level reached (the system is SPD): stop
            break
        alpha = rr / curvature
        x = x + alpha * d
        r = r - alpha * Md
        rr_next = float(r @ r)
        d = r + (rr_next / rr) * d
        rr = rr_next
        i += 1
        if hist is not None:
            hist.append(sel.BT(full(x)))
    residual = np.sqrt(rr) / bnorm if bnorm > 0 else 0.0
    v = full(x)
    result = MethodResult(sel.BT(v), "aid-cg", i, float(residual), residual <= tol, hist)
    result.v = v
    return result
