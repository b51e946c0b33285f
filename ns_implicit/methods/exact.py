"""The exact hypergradient: a direct solve on the active set (THEORY.md §6 eq. (10), §11.2).

At a point ``w`` with selection ``(A, B)`` and active set ``S``,

    Jᵀu = B[S]ᵀ (I - A[S, S])⁻ᵀ u_S,        J = (I - A)⁻¹B  with  J[S] = (I - A[S, S])⁻¹ B[S],  J[Sᶜ] = 0.

At the fixed point ``w(λ)`` this is the implicit conservative derivative; for the elastic
net ``J[S] = -(H[S, S] + λ2 I)⁻¹ [sign(w_S), w_S]`` (THEORY §13 item 2). This is the
yardstick every other method is measured against.
"""

import numpy as np

from ns_implicit.methods._common import check_method_args
from ns_implicit.methods.result import MethodResult


def _solve(M, rhs):
    """Solve ``M x = rhs`` in float64 (LAPACK ``gesv`` through NumPy).

    NumPy's LAPACK shares NumPy's BLAS thread pool; SciPy ships a second OpenBLAS whose
    threads compete with NumPy's still-spinning ones right after a NumPy product (15x
    slower for a 206 x 206 system after a 1000 x 1000 product on 2 cores). ``gesv`` needs
    no symmetry and raises ``LinAlgError`` when ``M`` is singular.
    """
    return np.linalg.solve(M.astype(np.float64, copy=False), rhs.astype(np.float64, copy=False))


def exact(phi, w, u):
    """``Jᵀu`` by a direct solve on the active set (float64 internally)."""
    w, u, _, _ = check_method_args(phi, w, u, 0, 0.0)
    sel = phi.selection(w)
    S = sel.active
    v = np.zeros_like(u)
    if len(S):
        v[S] = _solve(sel.restricted_matrix().T, u[S])
    return MethodResult(sel.BT(v), "exact", 0, 0.0, True)


def exact_jacobian(phi, w):
    """The ``p × m`` Jacobian ``J = (I - A)⁻¹B`` at ``w`` by a direct solve on ``S``."""
    w = phi.check_point(w, "w")
    sel = phi.selection(w)
    S = sel.active
    J = np.zeros((phi.dim, phi.n_hyper), dtype=phi.dtype)
    if len(S):
        Bmat = np.column_stack([sel.B(e) for e in np.eye(phi.n_hyper, dtype=phi.dtype)])
        J[S] = _solve(sel.restricted_matrix(), Bmat[S])
    return MethodResult(J, "exact-jacobian", 0, 0.0, True)
