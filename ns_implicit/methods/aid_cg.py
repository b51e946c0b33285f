"""AID-CG on the active set, THEORY.md §7–§8.

The full system ``(I - Aᵀ) v = u`` is not symmetric for a prox-gradient map
(``A = diag(m)(I - γQ)``), so it is not a conjugate-gradient target. Rows outside the
active set ``S`` of ``A`` and ``B`` vanish, so ``ĝ = B[S]ᵀ v_S`` needs only

    (I - A[S, S])ᵀ v_S = u_S,     I - A[S, S] = γ ∇²ℓ[S, S]  (symmetric positive definite),

which plain CG solves in at most ``|S|`` steps. Stops when ``‖r‖ <= tol ‖u_S‖``. ``v0``
warm-starts CG at ``v0[S]`` (e.g. ``result.v`` of a previous call at a nearby point).
"""

import numpy as np

from ns_implicit.methods._common import check_method_args, check_warm_start
from ns_implicit.methods.result import MethodResult


def aid_cg(phi, w, u, *, iters=1000, tol=1e-10, history=False, v0=None):
    """``B[S]ᵀ v_S`` with ``v_S`` from ``iters`` CG steps on ``(I - A[S, S])ᵀ v_S = u_S``.

    CG starts at ``v0[S]`` (default 0); the record carries the lifted ``v`` as ``result.v``.
    """
    w, u, iters, tol = check_method_args(phi, w, u, iters, tol)
    sel = phi.selection(w)
    S = sel.active
    padded = np.zeros_like(u)

    def lift(x):
        padded[S] = x
        return padded

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
            hist.append(sel.BT(lift(x)))
    residual = np.sqrt(rr) / bnorm if bnorm > 0 else 0.0
    result = MethodResult(sel.BT(lift(x)), "aid-cg", i, float(residual), residual <= tol, hist)
    result.v = lift(x).copy()
    return result
