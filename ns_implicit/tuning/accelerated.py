"""An accelerated warm start for the inner solve of a proximal-gradient map (docs/theory.md
§10): FISTA (Beck and Teboulle, 2009) with the gradient restart of O'Donoghue and Candès (2015).

The maps of the lasso, the elastic net, the weighted lasso and sparse logistic regression are
``Φ(w) = prox(w - γ∇ℓ(w))``; extrapolating between two of their steps is FISTA. Where the
loss is flat near the solution (logistic regression on nearly separable data, strongly
correlated features), the plain iteration contracts at ``1 - γμ`` per step and FISTA with
restarts at about ``1 - sqrt(γμ)``. The result only seeds the fixed-point iteration that the
hypergradient runs anyway (``w0``): that iteration's own stopping rule certifies the solution,
so the hypergradient is the same whatever this function returns.
"""

import numpy as np


def accelerated_solve(phi, w0=None, *, tol=1e-10, max_iter=100_000):
    """``(w, steps, converged)``: FISTA with gradient restarts on ``phi`` (a map at fixed λ,
    with ``advance``) from ``w0`` until the relative step ``‖Φ(y) - y‖ / ‖Φ(y)‖ <= tol``."""
    x = np.zeros(phi.dim, dtype=phi.dtype) if w0 is None else np.array(w0, dtype=phi.dtype)
    y, nxt, t = x.copy(), np.empty_like(x), 1.0
    for k in range(1, max_iter + 1):
        step, _ = phi.advance(y, nxt)  # nxt = Φ(y)
        norm = float(np.sqrt(nxt.dot(nxt)))
        if not (np.isfinite(step) and np.isfinite(norm)):
            return x, k, False  # the caller's fixed-point iteration reports the overflow
        if step <= tol * norm:
            return nxt, k, True
        if float((y - nxt).dot(nxt - x)) > 0.0:  # the momentum points uphill: restart
            t = 1.0
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = nxt + ((t - 1.0) / t_next) * (nxt - x)
        x, t = nxt.copy(), t_next
    return x, max_iter, False
