"""AID-CG on the selection's row set, docs/theory.md §7–§8, §15.2–§15.3.

The full system ``(I - Aᵀ) v = u`` is not symmetric for a prox-gradient map
(``A = diag(m)(I - γQ)``), so it is not a conjugate-gradient target. Rows of ``A`` vanish
outside the row set ``R`` of the selection, so (§15.2)

    (I - A[R, R])ᵀ v_R = u_R,     v = u + Aᵀ v̄   (v̄ = v_R lifted by zeros),     ĝ = Bᵀ v.

When ``A_G`` is a coordinate projection after a symmetric contraction (the selection's
``spd`` tag, §15.3), ``I - A[R, R] = I - ∂_wT[R, R]`` is symmetric positive definite and plain
CG solves it in at most ``|R|`` steps. When ``A_G`` is symmetric positive semidefinite with an
explicit square root ``Σ`` (block soft-thresholding, projections onto the simplex and the ℓ1
ball: the ``spd_root`` tag), CG runs on the symmetric form of §15.3,
``(I - Σ H Σ)[R, R] z_R = (Σu)_R``, ``v = u + HΣz`` (``H = ∂_wT``); its residual ``r`` bounds
the original one, ``‖(I - Aᵀ)v - u‖ = ‖HΣr‖ <= q‖r‖``, and ``‖Σu‖ <= ‖u‖``, so ``converged``
certifies the original relative residual too. Otherwise (a non-symmetric step, the ReLU
layer) CG would return a wrong answer: :func:`aid_cg` raises :class:`NotSymmetricError`
naming the methods that apply.
Stops when ``‖r‖ <= tol ‖u_R‖``, or earlier when CG can make no further progress in
floating point: a non-positive or non-finite curvature ``dᵀMd``, a recursive residual at
round-off (``‖r‖ <= eps‖u_R‖``), or one that has not reached a new minimum for
``STALL + 2|R|`` steps (with ``tol = 0`` CG used to iterate past round-off until
it blew up to 1e83); the best iterate seen is returned and ``converged`` stays honest
(``residual <= tol``). ``v0`` warm-starts CG at ``v0[R]``. CG runs on ``u`` rescaled by a power
of two (``max|u| ~ 1``): the squares ``rᵀr`` of data at scale ``1e-85`` used to underflow to 0
and stop CG at ``v = 0`` reporting convergence.
"""

from math import isfinite, sqrt

import numpy as np

from ns_implicit.errors import NotSymmetricError
from ns_implicit.methods._common import (check_method_args, check_warm_start, norm, unit_scale,
                                         unscale)
from ns_implicit.methods.result import MethodResult

#: steps without a new smallest residual after which CG stops: ``STALL + 2|R|`` (CG's
#: residual is not monotone on ill-conditioned systems, but exact CG ends within ``|R|`` steps).
STALL = 50


def aid_cg(phi, w, u, *, iters=1000, tol=None, history=False, v0=None):
    """``B[S]ᵀ v_S`` with ``v_S`` from ``iters`` CG steps on ``(I - A[S, S])ᵀ v_S = u_S``.

    CG starts at ``v0[S]`` (default 0); the record carries the lifted ``v`` as ``result.v``.
    """
    w, u, iters, tol = check_method_args(phi, w, u, iters, tol, "aid_cg")
    sel = phi.selection(w)
    if not (sel.spd or sel.spd_root):
        raise NotSymmetricError(
            "aid-cg needs a symmetric positive definite system: a coordinate-projection A_G, or "
            "a symmetric positive semidefinite A_G with a square root, after a step with a "
            "symmetric Jacobian (docs/theory.md §15.3); this map's selection is neither; use "
            "method 'exact', 'aid-gmres' or 'aid-fp'.")
    S = sel.rows
    u, e = unit_scale(u)
    padded = np.zeros_like(u)

    def lift(x):
        padded[S] = x
        return padded

    if sel.spd:
        def full(x):  # v from v_R: v̄, or u + Aᵀv̄ when rows of B live outside R (§15.2)
            v_bar = lift(x).copy()
            return u + sel.AT(v_bar) if sel.b_outside_rows else v_bar

        # through the columns S only, when the selection and its step offer it
        restricted = getattr(sel, "restricted_operator", lambda: None)()

        def system(x):  # x ↦ (I - A[S, S])ᵀ x
            return restricted(x) if restricted is not None else x - sel.AT(lift(x))[S]

        b = u[S]
        start = lambda v: v[S]  # noqa: E731
    else:  # the symmetric form of §15.3: z = Σv solves (I - ΣHΣ) z = Σu, v = u + HΣz
        def full(x):
            return u + sel.root_lift(lift(x))

        def system(x):
            return x - sel.root_product(lift(x))[S]

        b = sel.gsel.sqrt_A(u)[S]
        start = lambda v: sel.gsel.sqrt_A(v)[S]  # noqa: E731

    bnorm = norm(b)
    v0 = v0 if bnorm > 0 else None  # u_S = 0 has the solution v_S = 0
    x = start(check_warm_start(v0, phi, e))
    r = b - system(x) if v0 is not None else b.copy()
    d = r.copy()
    rr = float(r @ r)  # b is unit-scaled: rr neither overflows nor underflows before round-off
    best_x, best_rr, since_best = x, rr, 0
    floor = float(np.finfo(u.dtype).eps) * bnorm  # the recursive residual cannot mean less
    patience = STALL + 2 * len(S)
    hist = [] if history else None
    i = 0
    stop = max(tol * bnorm, floor)
    while i < iters and bnorm > 0 and sqrt(rr) > stop and since_best < patience:
        Md = system(d)
        curvature = float(d @ Md)
        if not (isfinite(curvature) and curvature > 0):  # round-off level (the system is SPD)
            break
        alpha = rr / curvature
        x = x + alpha * d
        r = r - alpha * Md
        rr_next = float(r @ r)
        if not isfinite(rr_next):  # a non-finite x or r shows in ‖r‖²
            break
        d = r + (rr_next / rr) * d if rr > 0 else r
        rr = rr_next
        i += 1
        if rr < best_rr:
            best_x, best_rr, since_best = x, rr, 0
        else:
            since_best += 1
        if hist is not None:
            hist.append(unscale(sel.BT(full(x)), e))
    x = best_x
    # the recursive residual of the returned (best) iterate, as CG reports it; the true
    # residual b - Mx carries the round-off of the matrix product (~eps·cond in float32)
    residual = np.sqrt(best_rr) / bnorm if bnorm > 0 else 0.0
    v = full(x)
    result = MethodResult(unscale(sel.BT(v), e), "aid-cg", i, float(residual), residual <= tol,
                          hist)
    result.v = unscale(v, e)
    return result
