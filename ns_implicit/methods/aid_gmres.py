"""AID on the full, unrestricted system with GMRES (scipy), THEORY.md §7.

Solves ``(I - Aᵀ) v = u`` on all coordinates, for users who do not want the active-set
reduction of :func:`~ns_implicit.methods.aid_cg.aid_cg`; the operator is not symmetric,
so GMRES (not CG) is the Krylov method.
"""

import numpy as np

from ._common import check_method_args, rel
from .result import MethodResult


def aid_gmres(phi, w, u, *, iters=1000, tol=1e-10):
    """``Bᵀ v`` with ``v`` from restarted GMRES on ``(I - Aᵀ) v = u`` (at most ``iters`` restarts)."""
    import scipy.sparse.linalg as spla  # imported on first use: keeps `import ns_implicit` light

    w, u, iters, tol = check_method_args(phi, w, u, iters, tol)
    sel = phi.selection(w)
    op = spla.LinearOperator((phi.dim, phi.dim), matvec=lambda v: v - sel.AT(v), dtype=u.dtype)
    count = [0]
    v, _ = spla.gmres(op, u, rtol=tol, atol=0.0, maxiter=max(iters, 1),
                      callback=lambda _: count.__setitem__(0, count[0] + 1),
                      callback_type="pr_norm")
    v = v.astype(u.dtype, copy=False)
    residual = rel(op.matvec(v) - u, u)
    return MethodResult(sel.BT(v), "aid-gmres", count[0], residual, residual <= tol)
