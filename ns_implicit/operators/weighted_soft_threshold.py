"""Weighted soft-thresholding, the prox of ``γ Σ_i λ_i |w_i|`` (docs/theory.md §15.4(a)).

``G(u; λ, γ)_i = sign(u_i) max(|u_i| - γλ_i, 0)`` with one weight per coordinate — the
weighted lasso's ``p`` hyperparameters (a zero weight leaves the coordinate unpenalized).
Selection at ``u`` with mask ``m`` and ``s = sign(u)``:

    A_G = diag(m),     ∂G/∂λ = -γ diag(m ⊙ s),     ∂G/∂γ = -(m ⊙ s ⊙ λ).

Tie rule: soft-thresholding's own (:func:`~ns_implicit.kernels.soft_threshold.soft_threshold_active`)
per coordinate: ``|u_i| > τ_i`` active, ``>=`` with ``tie_active``.
"""

import numpy as np

from ns_implicit.kernels.soft_threshold import (weighted_soft_threshold_masks,
                                               weighted_soft_threshold_step)
from ns_implicit.operators.base import MAX_SELECTIONS, MaskSelection, Operator, enumerate_ties


class WeightedSoftThresholdSelection(MaskSelection):
    """``(A_G, B_G)`` of weighted soft-thresholding at one point."""

    b_outside_rows = False

    def __init__(self, mask, signed_mask, lam, gamma):
        super().__init__(mask, signed_mask.dtype)
        self.signed_mask, self.lam, self.gamma = signed_mask, lam, float(gamma)

    def B(self, y_G, y_gamma):
        """``-(m ⊙ s) ⊙ (γ y_G + λ y_γ)``."""
        return -self.signed_mask * (self.gamma * y_G + self.lam * y_gamma)

    def BT(self, v):
        """``(-γ (m ⊙ s ⊙ v), -<m ⊙ s ⊙ λ, v>)``."""
        sv = self.signed_mask * v
        return -self.gamma * sv, -float(sv @ self.lam)


class WeightedSoftThreshold(Operator):
    """Soft-thresholding with one hyperparameter ``λ_i >= 0`` per coordinate.

    Parameters
    ----------
    dim : the number of coordinates ``p`` (= the number of hyperparameters).
    tie_active : the vertex taken at a tie ``|u_i| = γλ_i`` (False: inactive, the reference).
    """

    def __init__(self, dim, *, tie_active=False):
        self.n_params = int(dim)
        self.param_names = tuple(f"lam[{i}]" for i in range(self.n_params))
        self.tie_active = bool(tie_active)

    def thresholds(self, lam_G, gamma):
        return (np.asarray(lam_G) * gamma).astype(np.asarray(lam_G).dtype)

    def apply(self, u, lam_G, gamma, w, out):
        return weighted_soft_threshold_step(u, self.thresholds(lam_G, gamma).astype(u.dtype), w,
                                            out)

    def masks(self, u, tau, tie_active=None):
        """``(m, m ⊙ sign(u))`` at ``u`` for the thresholds ``τ`` (the compiled tie rule)."""
        tie_active = self.tie_active if tie_active is None else bool(tie_active)
        u = np.ascontiguousarray(u)
        mask, signed = np.empty_like(u), np.empty_like(u)
        weighted_soft_threshold_masks(u, tau.astype(u.dtype), tie_active, mask, signed)
        return mask, signed

    def select(self, u, lam_G, gamma, tie_active=None):
        mask, signed = self.masks(u, self.thresholds(lam_G, gamma), tie_active)
        return WeightedSoftThresholdSelection(mask, signed, np.asarray(lam_G, u.dtype), gamma)

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        """Indices with ``||u_i| - τ_i| <= tie_tol · τ_i`` (exact equality when ``tie_tol = 0``)."""
        tau = self.thresholds(lam_G, gamma).astype(np.float64)
        gap = np.abs(np.abs(np.asarray(u, dtype=np.float64)) - tau)
        return np.flatnonzero(gap <= tie_tol * tau) if tie_tol > 0 else np.flatnonzero(gap == 0)

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        """Every selection at ``u``: each 0/1 choice at the (near-)tied coordinates."""
        tau = self.thresholds(lam_G, gamma)
        ties = self.ties(u, lam_G, gamma, tie_tol)
        u = np.array(u, copy=True)
        u[ties] = np.sign(u[ties]) * tau[ties]  # snap near-ties (a no-op for exact ones)
        base, _ = self.masks(u, tau, tie_active=False)
        sign, lam = np.sign(u), np.asarray(lam_G, u.dtype)
        return [WeightedSoftThresholdSelection(m.astype(u.dtype), m * sign, lam, gamma)
                for m in enumerate_ties(base.astype(np.uint8), ties, cap)]
