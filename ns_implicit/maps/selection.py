"""The oracle of THEORY.md §7: one selection ``(A, B) ∈ D_Φ(w, λ)`` as matrix-free products.

For ``Φ(w, λ) = S_{τ(λ)}(T(w, λ))`` the chain rule (THEORY §2 (P2), §9) with the mask
``m`` and ``s = sign(u)`` at ``u = T(w, λ)`` gives

    A = diag(m) ∂_wT,        B = diag(m) ∂_λT - (m ⊙ s) ∇τ(λ)ᵀ.

``A`` and ``B`` come from the same mask (the pair structure of THEORY §1). Rows outside the
active set ``S = {i : m_i = 1}`` of both are zero, so the linear systems of AID reduce to
``S`` (THEORY §8, discussion).
"""

import numpy as np


class ProxGradientSelection:
    """One element ``(A, B)`` of the selection derivative of ``S_τ ∘ T`` at a point.

    Parameters
    ----------
    lin : linearization of ``T`` at ``(w, λ)`` (``jvp_w``, ``vjp_w``, ``jvp_lam``,
        ``vjp_lam``, ``jac_w_block``).
    mask, sign : active mask (0/1) and ``sign(u)``.
    dtau : ``∇τ(λ)``, the gradient of the threshold in ``λ``, or None when ``τ`` does
        not depend on ``λ`` (then the ``∇τ`` terms are skipped: no work of size ``m``).
    """

    def __init__(self, lin, mask, sign, dtau):
        self.lin = lin
        self.mask = np.asarray(mask, dtype=lin.value.dtype)
        self.signed_mask = self.mask * sign
        self.dtau = dtau
        self.active = np.flatnonzero(mask)

    def A(self, x):
        """``A x = m ⊙ (∂_wT x)``."""
        return self.mask * self.lin.jvp_w(x)

    def AT(self, v):
        """``Aᵀ v = ∂_wTᵀ (m ⊙ v)``."""
        return self.lin.vjp_w(self.mask * v)

    def B(self, y):
        """``B y = m ⊙ (∂_λT y) - (m ⊙ s) <∇τ, y>``."""
        out = self.mask * self.lin.jvp_lam(y)
        if self.dtau is not None:
            out = out - self.signed_mask * float(self.dtau @ y)
        return out

    def BT(self, v):
        """``Bᵀ v = ∂_λTᵀ (m ⊙ v) - ∇τ <m ⊙ s, v>``."""
        out = self.lin.vjp_lam(self.mask * v)
        if self.dtau is not None:
            out = out - self.dtau * float(self.signed_mask @ v)
        return out

    def active_block_norm(self):
        """``q_S = ‖A[S, S]‖₂``: the contraction factor of the active block, the observed
        linear rate of ITD and AID after support identification (THEORY §8 item 4)."""
        block = np.eye(len(self.active)) - self.restricted_matrix().astype(np.float64)
        return float(np.linalg.norm(block, 2)) if len(self.active) else 0.0

    def restricted_matrix(self):
        """Dense ``(I - A)[S, S] = I - (∂_wT)[S, S]`` on the active set ``S``.

        For a gradient step ``∂_wT = I - γ∇²ℓ`` this is ``γ∇²ℓ[S, S]``: symmetric positive
        definite whenever the map is a contraction.
        """
        M = -self.lin.jac_w_block(self.active)  # I - block without forming I: same values
        M.flat[::M.shape[0] + 1] += 1.0
        return M
