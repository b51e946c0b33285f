"""Nonnegative soft-thresholding ``max(u - γλ, 0)`` and, with ``λ = 0``, the projection onto
the nonnegative orthant (ReLU), docs/theory.md §15.4(b).

The prox of ``γλ Σ_i w_i`` plus the indicator of ``w >= 0``. Selection at ``u``:

    A_G = diag(m),     ∂G/∂λ = -γ m,     ∂G/∂γ = -λ m,

with the tie rule :func:`~ns_implicit.kernels.projections.nonnegative_active`: ``m_i = 1[u_i > τ]``
(``>=`` with ``tie_active``); at ``u_i = τ`` both choices are vertices.
"""

import numpy as np

from ns_implicit._validation import check_positive_float
from ns_implicit.kernels.projections import nonnegative_masks, nonnegative_step
from ns_implicit.operators.base import MAX_SELECTIONS, MaskSelection, Operator, enumerate_ties


class NonnegativeSelection(MaskSelection):
    """``(A_G, B_G)`` of nonnegative soft-thresholding at one point."""

    b_outside_rows = False

    def __init__(self, mask, lam, gamma, n_params):
        super().__init__(mask, mask.dtype)
        self.lam, self.gamma, self.n_params = float(lam), float(gamma), n_params

    def B(self, y_G, y_gamma):
        coef = self.lam * y_gamma + (self.gamma * float(y_G[0]) if self.n_params else 0.0)
        return self.mask * (-coef)

    def BT(self, v):
        c = float(self.mask @ v)
        return np.full(self.n_params, -self.gamma * c, dtype=v.dtype), -self.lam * c


class NonnegativeSoftThreshold(Operator):
    """``max(u - γλ, 0)``.

    Parameters
    ----------
    lam : None (``λ`` is a hyperparameter, named ``lam1``) or a fixed float >= 0; ``lam=0`` is
        the projection onto the nonnegative orthant, i.e. ReLU (see :func:`relu`).
    tie_active : the vertex taken at a tie ``u_i = γλ``.
    """

    def __init__(self, lam=None, *, tie_active=False):
        self.fixed = None if lam is None else check_positive_float(lam, "lam1", strict=False)
        self.n_params = 0 if lam is not None else 1
        self.param_names = () if lam is not None else ("lam1",)
        self.tie_active = bool(tie_active)

    def weight(self, lam_G):
        return self.fixed if self.fixed is not None else float(lam_G[0])

    def threshold(self, lam_G, gamma):
        """``τ = γλ``, in ``γ``'s dtype."""
        return type(gamma)(gamma * self.weight(lam_G))

    def value(self, u, lam_G, gamma):
        out = np.empty_like(u)
        self.apply(u, lam_G, gamma, u, out)
        return out

    def apply(self, u, lam_G, gamma, w, out):
        return nonnegative_step(u, u.dtype.type(self.threshold(lam_G, gamma)), w, out)

    def select(self, u, lam_G, gamma, tie_active=None):
        tie_active = self.tie_active if tie_active is None else bool(tie_active)
        u = np.ascontiguousarray(u)
        mask = np.empty_like(u)
        nonnegative_masks(u, u.dtype.type(self.threshold(lam_G, gamma)), tie_active, mask)
        return NonnegativeSelection(mask, self.weight(lam_G), gamma, self.n_params)

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        """Indices with ``|u_i - τ| <= tie_tol · max(τ, 1e-300)`` (exact equality when 0)."""
        tau = float(self.threshold(lam_G, gamma))
        gap = np.abs(np.asarray(u, dtype=np.float64) - tau)
        return np.flatnonzero(gap <= tie_tol * tau) if tie_tol > 0 else np.flatnonzero(gap == 0)

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        tau = self.threshold(lam_G, gamma)
        ties = self.ties(u, lam_G, gamma, tie_tol)
        base = (np.asarray(u) > tau).astype(np.uint8)
        base[ties] = 0
        lam = self.weight(lam_G)
        dtype = np.asarray(u).dtype
        return [NonnegativeSelection(m.astype(dtype), lam, gamma, self.n_params)
                for m in enumerate_ties(base, ties, cap)]


def relu(*, tie_active=False):
    """The projection onto the nonnegative orthant, ``max(u, 0)``: the ReLU of an equilibrium
    layer (no hyperparameter; ``tie_active`` picks the derivative 1 at ``u_i = 0``)."""
    return NonnegativeSoftThreshold(0.0, tie_active=tie_active)
