"""ITD: iterative differentiation through the solver, docs/theory.md §7 eq. (13).

Forward mode: ``J_0 = 0``, ``J_t = A_{t-1} J_{t-1} + B_{t-1}`` with
``(A_s, B_s) ∈ D_Φ(w_s, λ)``. Reverse mode (the experiments' mode) walks the stored
trajectory backwards:

    α = u, g = 0;  for s = t-1 … 0:  g += B_sᵀ α,  α = A_sᵀ α;   return g  (= J_tᵀ u).
"""

import numpy as np

from ns_implicit._validation import as_float_array, check_positive_float, check_positive_int
from ns_implicit.methods.result import MethodResult


def itd(phi, trajectory, u):
    """Reverse-mode ITD: ``J_tᵀ u`` through the stored iterates ``w_0, …, w_t``."""
    u = as_float_array(u, "u", ndim=1, dtype=phi.dtype)
    if u.shape[0] != phi.dim:
        raise ValueError(f"u must have length {phi.dim}; got {u.shape[0]}.")
    if trajectory is None or len(trajectory) == 0:
        raise ValueError("trajectory is empty: solve with store_trajectory=True first.")
    t = len(trajectory) - 1
    alpha = u.copy()
    g = np.zeros(phi.n_hyper, dtype=phi.dtype)
    for s in range(t - 1, -1, -1):
        sel = phi.selection(trajectory[s])
        g += sel.BT(alpha)
        alpha = sel.AT(alpha)
    return MethodResult(g, "itd", t, 0.0, True)


def itd_forward(phi, w0=None, *, iters=1000, tol=1e-10, on_step=None):
    """Forward-mode ITD: ``t`` steps of ``(w_{s+1}, J_{s+1}) = (Φ(w_s), A_s J_s + B_s)``.

    Stops after ``iters`` steps or when ``‖w_{s+1} - w_s‖ <= tol ‖w_{s+1}‖`` (``tol=0``: exactly
    ``iters`` steps, since ``J_t`` keeps converging after ``w_t`` has stopped moving). Returns the
    ``p × m`` Jacobian ``J_t`` as ``value``, with ``result.w = w_t`` and
    ``result.support_identified_at`` as in :class:`~ns_implicit.solvers.fixed_point.SolveResult`.
    ``on_step(t, w_t, J_t)`` is called after each step (e.g. to record ``J_tᵀ ∇E(w_t)``).
    """
    iters = check_positive_int(iters, "iters", minimum=0)
    tol = check_positive_float(tol, "tol", strict=False)
    w = np.zeros(phi.dim, dtype=phi.dtype) if w0 is None else phi.check_point(w0, "w0").copy()
    eye = np.eye(phi.n_hyper, dtype=phi.dtype)
    J = np.zeros((phi.dim, phi.n_hyper), dtype=phi.dtype)
    w_next = np.empty_like(w)
    residual, t, last_change = np.inf, 0, 0
    while t < iters and not (tol > 0 and residual <= tol):
        sel = phi.selection(w)
        J = np.column_stack([sel.A(J[:, j]) + sel.B(e) for j, e in enumerate(eye)])
        step, changed = phi.advance(w, w_next)
        w, w_next = w_next, w
        t += 1
        last_change = t if changed else last_change
        norm = np.linalg.norm(w)
        residual = step / norm if norm > 0 else step
        if on_step is not None:
            on_step(t, w, J)
    result = MethodResult(J, "itd-forward", t, float(residual), residual <= tol)
    result.w = w
    result.support_identified_at = last_change
    return result
