"""An operator on the leading coordinates, the identity on the last ``k`` (docs/theory.md
§15.4(f)): how an unpenalised intercept rides along a penalised model.

``G̃(u) = (G(u_{:p}), u_{p:})``; its selections are ``A = blockdiag(A_G, I_k)``,
``B = [B_G; 0]``: the tail is always active (the identity's conservative derivative is
``{1}``), never tied; ``G``'s tie rule and vertices apply to the leading block.
"""

import numpy as np

from ns_implicit.operators.base import MAX_SELECTIONS, Operator


class IdentityTailSelection:
    """``(A, B)`` of ``G̃``: ``G``'s selection on the leading block, the identity on the tail."""

    def __init__(self, gsel, p, k):
        self.gsel, self.p, self.k = gsel, p, k
        self.coordinate_projection = gsel.coordinate_projection
        self.symmetric = getattr(gsel, "symmetric", False)
        self.b_outside_rows = getattr(gsel, "b_outside_rows", True)
        if hasattr(gsel, "sqrt_A"):  # blockdiag(A_G^{1/2}, I_k), docs/theory.md §15.3
            self.sqrt_A = lambda x: np.concatenate([gsel.sqrt_A(x[:p]), x[p:]])

    @property
    def rows(self):
        return np.concatenate([self.gsel.rows, np.arange(self.p, self.p + self.k)])

    @property
    def mask(self):
        return np.concatenate([self.gsel.mask, np.ones(self.k, dtype=self.gsel.mask.dtype)])

    def A(self, x):
        return np.concatenate([self.gsel.A(x[:self.p]), x[self.p:]])

    def AT(self, v):
        return np.concatenate([self.gsel.AT(v[:self.p]), v[self.p:]])

    def B(self, y_G, y_gamma):
        head = self.gsel.B(y_G, y_gamma)
        return np.concatenate([head, np.zeros(self.k, dtype=head.dtype)])

    def BT(self, v):
        return self.gsel.BT(v[:self.p])

    def block(self):
        """Dense ``A[rows, rows]`` = ``blockdiag(A_G[rows_G, rows_G], I_k)``."""
        head = self.gsel.block()
        out = np.eye(head.shape[0] + self.k, dtype=head.dtype)
        out[:head.shape[0], :head.shape[0]] = head
        return out


class IdentityTail(Operator):
    """``G`` on all coordinates but the last ``k``, which pass through unchanged.

    Parameters
    ----------
    operator : the operator of the leading block (its hyperparameters are this one's).
    k : the number of trailing coordinates left alone (1: an intercept).
    """

    def __init__(self, operator, k=1):
        self.G, self.k = operator, int(k)
        self.n_params = operator.n_params
        self.param_names = tuple(getattr(operator, "param_names", ()))
        self.tie_active = operator.tie_active

    def check_params(self, lam_G):
        return self.G.check_params(lam_G)

    def value(self, u, lam_G, gamma):
        p = u.shape[0] - self.k
        return np.concatenate([self.G.value(u[:p], lam_G, gamma), u[p:]])

    def select(self, u, lam_G, gamma, tie_active=None):
        p = u.shape[0] - self.k
        return IdentityTailSelection(self.G.select(u[:p], lam_G, gamma, tie_active), p, self.k)

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        return self.G.ties(np.asarray(u)[:-self.k], lam_G, gamma, tie_tol)

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        p = np.asarray(u).shape[0] - self.k
        return [IdentityTailSelection(s, p, self.k)
                for s in self.G.vertices(np.asarray(u)[:p], lam_G, gamma, cap, tie_tol)]
