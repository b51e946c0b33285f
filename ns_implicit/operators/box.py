"""The projection onto the box ``[0, C]``, docs/theory.md §15.4(c).

``G(u; C) = min(max(u, 0), C)`` (``γ`` plays no role). With the free set
``F = {0 < u_i < C}`` and the upper set ``U = {u_i >= C, i ∉ F}``:

    A_G = diag(1_F),     ∂G/∂C = 1_U,     ∂G/∂γ = 0.

Rows of ``B_G`` on ``U`` are nonzero where ``A_G`` vanishes (``b_outside_rows``): the exact
solve accounts for them (§15.2). Tie rule :func:`~ns_implicit.kernels.projections.box_free`:
``u_i = 0`` and ``u_i = C`` are clamped (free with ``tie_active``); at each such tie both
choices are vertices.
"""

import numpy as np

from ns_implicit._validation import check_positive_float
from ns_implicit.kernels.projections import box_masks, box_step
from ns_implicit.operators.base import MAX_SELECTIONS, MaskSelection, Operator, enumerate_ties


class BoxSelection(MaskSelection):
    """``(A_G, B_G)`` of the box projection at one point."""

    def __init__(self, free, upper, n_params):
        super().__init__(free, free.dtype)
        self.upper, self.n_params = upper, n_params

    def B(self, y_G, y_gamma):
        return self.upper * (float(y_G[0]) if self.n_params else 0.0)

    def BT(self, v):
        return np.full(self.n_params, float(self.upper @ v), dtype=v.dtype), 0.0


class BoxProjection(Operator):
    """The projection onto ``[0, C]``.

    Parameters
    ----------
    C : None (``C`` is a hyperparameter, named ``C``, > 0) or a fixed float > 0.
    tie_active : the vertex taken at ``u_i ∈ {0, C}`` (False: clamped, the reference).
    """

    def __init__(self, C=None, *, tie_active=False):
        self.fixed = None if C is None else check_positive_float(C, "C")
        self.n_params = 0 if C is not None else 1
        self.param_names = () if C is not None else ("C",)
        self.tie_active = bool(tie_active)

    def check_params(self, lam_G):
        if self.n_params and not lam_G[0] > 0:
            raise ValueError(f"C must be > 0 (the box [0, C] would be a point); got {lam_G[0]}.")
        return lam_G

    def bound(self, lam_G, dtype):
        return np.dtype(dtype).type(self.fixed if self.fixed is not None else lam_G[0])

    def apply(self, u, lam_G, gamma, w, out):
        return box_step(u, self.bound(lam_G, u.dtype), w, out)

    def select(self, u, lam_G, gamma, tie_active=None):
        tie_active = self.tie_active if tie_active is None else bool(tie_active)
        u = np.ascontiguousarray(u)
        free, upper = np.empty_like(u), np.empty_like(u)
        box_masks(u, self.bound(lam_G, u.dtype), tie_active, free, upper)
        return BoxSelection(free, upper, self.n_params)

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        """Indices with ``u_i`` within ``tie_tol · C`` of ``0`` or ``C`` (exact when 0)."""
        u = np.asarray(u, dtype=np.float64)
        C = float(self.bound(lam_G, np.float64))
        gap = np.minimum(np.abs(u), np.abs(u - C))
        return np.flatnonzero(gap <= tie_tol * C) if tie_tol > 0 else np.flatnonzero(gap == 0)

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        u = np.asarray(u)
        C = float(self.bound(lam_G, np.float64))
        ties = self.ties(u, lam_G, gamma, tie_tol)
        base = ((u > 0) & (u < C)).astype(np.uint8)
        base[ties] = 0
        top = np.asarray(u, np.float64) >= C
        top[ties] = np.abs(u[ties] - C) <= np.abs(u[ties])  # a (near-)tie clamps to its own end
        return [BoxSelection(m.astype(u.dtype), ((m == 0) & top).astype(u.dtype), self.n_params)
                for m in enumerate_ties(base, ties, cap)]
