"""The oracle of docs/theory.md §7 for ``Φ = G ∘ T``: one selection ``(A, B) ∈ D_Φ(w, λ)``.

With a linearization of ``T`` at ``(w, λ_T)`` and a selection ``(A_G, B_G)`` of ``G`` at
``u = T(w, λ)`` (docs/theory.md §15.1):

    A = A_G ∂_wT,        B = [∂_{λ_G}G,  A_G ∂_{λ_T}T + ∂_γG ∇γ(λ_T)ᵀ].

Rows of ``A`` vanish outside ``R = rows(A_G)``; rows of ``B`` may not (a box projection at
its upper bound), which :func:`~ns_implicit.methods.exact.exact` accounts for (§15.2).
"""

import numpy as np


class Selection:
    """One element ``(A, B)`` of the selection derivative of ``G ∘ T`` at a point.

    Parameters
    ----------
    lin : linearization of ``T`` (``value``, ``jvp_w``, ``vjp_w``, ``jvp_lam``, ``vjp_lam``,
        ``jac_w_block``, ``symmetric``).
    gsel : selection of ``G`` at ``lin.value`` (protocol of :mod:`ns_implicit.operators`).
    n_G : number of the operator's hyperparameters (they come first in ``λ``).
    dgamma : ``∇γ(λ_T)`` (length ``n_T``) or None when the step size is constant.
    """

    def __init__(self, lin, gsel, n_G, dgamma):
        self.lin, self.gsel, self.n_G, self.dgamma = lin, gsel, n_G, dgamma
        #: ``(I - A)[R, R]`` is symmetric positive definite for a contraction (§15.3)
        self.spd = bool(gsel.coordinate_projection and getattr(lin, "symmetric", False))
        #: ``A_G`` is symmetric positive semidefinite with an explicit square root ``Σ`` and
        #: ``∂_wT`` is symmetric: ``I - ΣHΣ`` is SPD (§15.3, the symmetric reformulation)
        self.spd_root = bool(not self.spd and getattr(gsel, "symmetric", False)
                             and hasattr(gsel, "sqrt_A") and getattr(lin, "symmetric", False))
        #: rows of ``B`` may be nonzero outside ``R`` (only ``B_G``'s can: ``A_G ∂_λT`` cannot)
        self.b_outside_rows = bool(getattr(gsel, "b_outside_rows", True))

    @property
    def rows(self):
        """The row set ``R`` outside which rows of ``A`` vanish (``G``'s active set)."""
        return self.gsel.rows

    active = rows  # the name of ``R`` for a separable operator

    @property
    def mask(self):
        """``A_G``'s 0/1 diagonal (coordinate projections only)."""
        return self.gsel.mask

    def A(self, x):
        """``A x = A_G (∂_wT x)``."""
        return self.gsel.A(self.lin.jvp_w(x))

    def AT(self, v):
        """``Aᵀ v = ∂_wTᵀ (A_Gᵀ v)``."""
        return self.lin.vjp_w(self.gsel.AT(v))

    def B(self, y):
        """``B y = ∂_{λ_G}G y_G + A_G ∂_{λ_T}T y_T + ∂_γG <∇γ, y_T>``."""
        y_G, y_T = y[:self.n_G], y[self.n_G:]
        y_gamma = float(self.dgamma @ y_T) if self.dgamma is not None else 0.0
        out = self.gsel.B(y_G, y_gamma)
        if len(y_T):
            out = out + self.gsel.A(self.lin.jvp_lam(y_T))
        return out

    def jvp(self, J):
        """``A J + B`` for a ``p × n_hyper`` matrix ``J`` (one step of forward ITD)."""
        eye = np.eye(J.shape[1], dtype=J.dtype)
        return np.column_stack([self.A(J[:, j]) + self.B(e) for j, e in enumerate(eye)])

    def BT(self, v):
        """``Bᵀ v = (∂_{λ_G}Gᵀ v, ∂_{λ_T}Tᵀ A_Gᵀ v + ∇γ ∂_γGᵀ v)``."""
        return self._BT(v, self.gsel.AT(v))

    def vjp(self, v):
        """``(Aᵀ v, Bᵀ v)``, sharing ``A_Gᵀ v`` (one step of reverse ITD)."""
        z = self.gsel.AT(v)
        return self.lin.vjp_w(z), self._BT(v, z)

    def _BT(self, v, z):
        """``Bᵀ v`` given ``z = A_Gᵀ v``."""
        g_G, g_gamma = self.gsel.BT(v)
        g_T = self.lin.vjp_lam(z)
        if self.dgamma is not None and g_gamma != 0.0:
            g_T += g_gamma * self.dgamma
        return np.concatenate((g_G, g_T)).astype(v.dtype, copy=False) if self.n_G else g_T

    def root_product(self, x):
        """``Σ ∂_wT Σ x`` with ``Σ = A_G^{1/2}`` (selections tagged ``spd_root``, §15.3)."""
        return self.gsel.sqrt_A(self.lin.jvp_w(self.gsel.sqrt_A(x)))

    def root_lift(self, z):
        """``∂_wTᵀ Σ z``: with ``z = Σ v``, ``v = u + ∂_wTᵀ Σ z`` solves ``(I - Aᵀ) v = u``."""
        return self.lin.vjp_w(self.gsel.sqrt_A(z))

    def restricted_operator(self):
        """``x_R ↦ (I - A[R, R])ᵀ x_R`` on ``|R|``-vectors from the step's restricted products
        (``I - ∂_wT[R, R]`` for a coordinate projection after a symmetric step: ``spd``), or
        None when the step has none. A product then costs what the columns ``R`` of the design
        cost, not the whole design (docs/theory.md §15.2)."""
        if not (self.spd and hasattr(self.lin, "restricted_jvp_w")):
            return None
        block = self.lin.restricted_jvp_w(self.rows)
        return lambda x: x - block(x)

    def restricted_matrix(self):
        """Dense ``(I - A)[R, R]``: ``I - ∂_wT[R, R]`` for a coordinate projection ``A_G``,
        ``I - A_G[R, R] ∂_wT[R, R]`` otherwise (``A_G`` symmetric and zero outside ``R``,
        docs/theory.md §15.2). For a gradient step with a coordinate projection this is
        ``γ∇²ℓ[R, R]`` + ridge: symmetric positive definite whenever the map contracts."""
        R = self.rows
        M = self.lin.jac_w_block(R)  # a fresh array
        if not self.gsel.coordinate_projection:
            M = self.gsel.block().astype(M.dtype, copy=False) @ M
        M = -M
        M.flat[::M.shape[0] + 1] += 1.0
        return M

    def active_block_norm(self):
        """``q_S = ‖A[R, R]‖₂``: the contraction factor of the active block, the observed
        linear rate of ITD and AID after support identification (docs/theory.md §8 item 4)."""
        if not len(self.rows):
            return 0.0
        block = np.eye(len(self.rows)) - self.restricted_matrix().astype(np.float64)
        return float(np.linalg.norm(block, 2))
