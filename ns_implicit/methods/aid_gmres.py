"""AID on the full, unrestricted system with GMRES (scipy), docs/theory.md §7.

Solves ``(I - Aᵀ) v = u`` on all coordinates, for users who do not want the active-set
reduction of :func:`~ns_implicit.methods.aid_cg.aid_cg`; the operator is not symmetric,
so GMRES (not CG) is the Krylov method, restarted every ``RESTART`` iterations.
"""

import numpy as np

from ns_implicit.methods._common import check_method_args, rel, unit_scale, unscale
from ns_implicit.methods.result import MethodResult

#: GMRES restart length (SciPy's default).
RESTART = 20


def aid_gmres(phi, w, u, *, iters=1000, tol=None):
    """``Bᵀ v`` with ``v`` from at most ``iters`` restarted-GMRES iterations on ``(I - Aᵀ) v = u``.

    (The budget counts iterations, not restart cycles: ``iters`` cycles of ``RESTART`` steps
    each would make an unreachable ``tol`` run ``RESTART`` times the budget.)
    """
    import scipy.sparse.linalg as spla  # imported on first use: keeps `import ns_implicit` light

    w, u, iters, tol = check_method_args(phi, w, u, iters, tol, "aid_gmres")
    sel = phi.selection(w)
    u, e = unit_scale(u)  # GMRES's norms on data at scale 1e-160 underflow (wrong "converged")
    op = spla.LinearOperator((phi.dim, phi.dim), matvec=lambda v: v - sel.AT(v), dtype=u.dtype)
    count = [0]

    def gmres(v0, restart, cycles):
        v, info = spla.gmres(op, u, x0=v0, rtol=tol, atol=0.0, restart=restart, maxiter=cycles,
                             callback=lambda _: count.__setitem__(0, count[0] + 1),
                             callback_type="pr_norm")
        return v.astype(u.dtype, copy=False), info == 0

    v, done = np.zeros_like(u), not u.any()
    full, last = divmod(iters, RESTART)  # SciPy's maxiter counts restart cycles
    if full and not done:
        v, done = gmres(v, RESTART, full)
    if last and not done:
        v, done = gmres(v, last, 1)
    residual = rel(op.matvec(v) - u, u)
    return MethodResult(unscale(sel.BT(v), e), "aid-gmres", count[0], residual, residual <= tol)
