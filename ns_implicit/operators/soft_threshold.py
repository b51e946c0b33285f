"""Soft-thresholding, the prox of ``γλ‖·‖₁`` (docs/theory.md §11.1, §15.4(a)).

``G(u; λ, γ) = S_τ(u)``, ``τ = γλ``, ``S_τ(u)_i = sign(u_i) max(|u_i| - τ, 0)``.

Selection at ``u`` with mask ``m`` and ``s = sign(u)``:

    A_G = diag(m),     ∂G/∂λ = -γ (m ⊙ s),     ∂G/∂γ = -λ (m ⊙ s).

Tie rule (the compiled :func:`~ns_implicit.kernels.soft_threshold.soft_threshold_active`,
the only place that decides): ``m_i = 1[|u_i| > τ]``, or ``1[|u_i| >= τ]`` with
``tie_active=True``. At ties every 0/1 choice of the tied coordinates is a selection:
:meth:`SoftThreshold.vertices` enumerates them (the vertices of the conservative set).
"""

import numpy as np

from ns_implicit._validation import check_positive_float
from ns_implicit.kernels.soft_threshold import (soft_threshold_masks, soft_threshold_selection,
                                               soft_threshold_step)
from ns_implicit.operators.base import MAX_SELECTIONS, MaskSelection, enumerate_ties


class SoftThresholdSelection(MaskSelection):
    """``(A_G, B_G)`` of soft-thresholding at one point (docs/theory.md §15.4(a))."""

    b_outside_rows = False  # B_G = -(m ⊙ s)(…) vanishes where m does

    def __init__(self, mask, signed_mask, lam, gamma, n_params):
        super().__init__(mask, signed_mask.dtype)
        self.signed_mask = signed_mask  # m ⊙ sign(u)
        self.lam, self.gamma, self.n_params = float(lam), float(gamma), n_params
        self._g_G = np.empty(n_params, dtype=signed_mask.dtype)

    def B(self, y_G, y_gamma):
        """``∂_λG y_G + ∂_γG y_γ = -(m ⊙ s)(γ y_G + λ y_γ)``."""
        coef = self.lam * y_gamma + (self.gamma * float(y_G[0]) if self.n_params else 0.0)
        return self.signed_mask * (-coef)

    def BT(self, v):
        """``(∂_λGᵀ v, ∂_γGᵀ v) = (-γ <m ⊙ s, v>, -λ <m ⊙ s, v>)``."""
        c = float(self.signed_mask @ v)
        g_G = self._g_G.copy()
        g_G[:] = -self.gamma * c
        return g_G, -self.lam * c


class SoftThreshold:
    """Soft-thresholding ``S_{γλ}``.

    Parameters
    ----------
    lam : None or float >= 0
        None: ``λ`` is a hyperparameter (``n_params = 1``, named ``lam1``, the ℓ1 weight of
        the elastic net). A number: ``λ`` fixed (``n_params = 0``).
    tie_active : bool
        The vertex taken at a tie ``|u_i| = τ``: inactive (False, reference) or active.
    """

    def __init__(self, lam=None, *, tie_active=False):
        self.fixed = None if lam is None else check_positive_float(lam, "lam1", strict=False)
        self.n_params = 0 if lam is not None else 1
        self.param_names = () if lam is not None else ("lam1",)
        self.tie_active = bool(tie_active)

    def check_params(self, lam_G):
        """``λ_G`` as given (validated by the map: finite, >= 0)."""
        return lam_G

    def weight(self, lam_G):
        """``λ``: the hyperparameter or the fixed value."""
        return self.fixed if self.fixed is not None else float(lam_G[0])

    def threshold(self, lam_G, gamma):
        """``τ = γλ``, in ``γ``'s dtype."""
        return type(gamma)(gamma * self.weight(lam_G))

    def threshold_gradient(self, lam_G, gamma):
        """``(∂τ/∂λ_G, ∂τ/∂γ) = ((γ,) or (), λ)``."""
        return np.full(self.n_params, float(gamma)), self.weight(lam_G)

    def value(self, u, lam_G, gamma):
        u = np.ascontiguousarray(u)
        out = np.empty_like(u)
        soft_threshold_step(u, u.dtype.type(self.threshold(lam_G, gamma)), u, out)
        return out

    def apply(self, u, lam_G, gamma, w, out):
        return soft_threshold_step(u, u.dtype.type(self.threshold(lam_G, gamma)), w, out)

    def masks(self, u, tau, tie_active=None):
        """``(m, m ⊙ sign(u))`` at ``u`` for the threshold ``τ`` (the compiled tie rule)."""
        tie_active = self.tie_active if tie_active is None else bool(tie_active)
        u = np.ascontiguousarray(u)
        mask, signed = np.empty_like(u), np.empty_like(u)
        soft_threshold_masks(u, u.dtype.type(tau), tie_active, mask, signed)
        return mask, signed

    def select(self, u, lam_G, gamma, tie_active=None):
        mask, signed = self.masks(u, self.threshold(lam_G, gamma), tie_active)
        return SoftThresholdSelection(mask, signed, self.weight(lam_G), gamma, self.n_params)

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        """Indices with ``||u_i| - τ| <= tie_tol · τ`` (exact equality when ``tie_tol = 0``)."""
        tau = float(self.threshold(lam_G, gamma))
        gap = np.abs(np.abs(np.asarray(u)).astype(np.float64) - tau)
        return np.flatnonzero(gap <= tie_tol * tau) if tie_tol > 0 else np.flatnonzero(gap == 0)

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        """Every selection at ``u``: each 0/1 choice at the (near-)tied coordinates."""
        tau = self.threshold(lam_G, gamma)
        ties = self.ties(u, lam_G, gamma, tie_tol)
        u = np.array(u, copy=True)
        if float(tau) == 0.0 and np.any(u[ties] == 0):
            raise ValueError(
                "lam1 = 0 and some u_i = 0: the selections of the identity map S_0 at u_i = 0 "
                "differ in the sign of their lam1-derivative, which the mask enumeration does "
                "not cover; use lam1 > 0.")
        u[ties] = np.sign(u[ties]) * tau  # snap near-ties (a no-op for exact ones)
        base, _ = self.masks(u, tau, tie_active=False)
        sign = np.sign(u)
        lam = self.weight(lam_G)
        return [SoftThresholdSelection(m.astype(u.dtype), m * sign, lam, gamma, self.n_params)
                for m in enumerate_ties(base.astype(np.uint8), ties, cap)]


def soft_threshold_with_selection(u, tau, tie_active=False):
    """``(S_τ(u), mask, sign, n_ties)`` with the reference tie rule (or the other vertex)."""
    u = np.ascontiguousarray(u)
    out = np.empty_like(u)
    mask = np.empty(u.shape[0], dtype=np.uint8)
    sign = np.empty_like(u)
    ties = soft_threshold_selection(u, u.dtype.type(tau), bool(tie_active), out, mask, sign)
    return out, mask, sign, ties


def tie_masks(u, tau, cap=MAX_SELECTIONS):
    """All selection masks of ``S_τ`` at ``u``: every 0/1 assignment of the tied coordinates."""
    u = np.asarray(u)
    base = soft_threshold_with_selection(u, tau)[1]
    return enumerate_ties(base, np.flatnonzero(np.abs(u) == tau), cap)
