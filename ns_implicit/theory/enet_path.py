"""The elastic-net solution path in ``λ1`` on a fixed signed support, docs/theory.md §11.2.

For fixed ``λ2`` and a support ``S`` with signs ``s``, the optimality conditions
``H_SS w_S - b_S + λ2 w_S + λ1 s = 0`` give the closed form

    ``w_S(λ1) = (H_SS + λ2 I)⁻¹(b_S - λ1 s) = w0 - λ1 dw``,  ``w_{S^c} = 0``,

with ``w0 = M⁻¹ b_S``, ``dw = M⁻¹ s``, ``M = H_SS + λ2 I``. The correlation
``c(λ1) = b - H w(λ1) = α + β λ1`` is affine too (``α = b - H w0``, ``β = H dw``). The signed
support stays optimal until a *breakpoint*: an inactive ``j`` reaches ``|c_j| = λ1`` (it
enters), or an active ``i`` reaches ``w_i = 0`` (it leaves). At a breakpoint that coordinate is
tied, ``|u_j| = γλ1 = τ`` (docs/theory.md §11.1).

:class:`SupportPath` is built from a :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`
through ``hessian_block``, ``hessian_vector`` and ``b`` only, so it serves the Gram and the
matrix-free paths alike. All of it is computed in float64.
"""

import numpy as np


class SupportPath:
    """Closed-form elastic-net solution on the signed support ``(S, s)`` as ``λ1`` varies.

    Parameters
    ----------
    T : LeastSquaresStep
        The least-squares step (its ``hessian_block``, ``hessian_vector``, ``b``, ``p``).
    lam2 : float
        The fixed ridge weight ``λ2``.
    S : sequence of int
        The support (may be empty: then ``w = 0`` and ``c = b``).
    s : sequence of ±1
        The signs of ``w_S``.
    """

    def __init__(self, T, lam2, S, s):
        self.T = T
        self.lam2 = float(lam2)
        self.S = np.asarray(S, dtype=np.intp).reshape(-1)
        self.s = np.asarray(s, dtype=np.float64).reshape(-1)
        if self.S.shape != self.s.shape:
            raise ValueError(f"S and s must have the same length; got {self.S.size} and "
                             f"{self.s.size}.")
        self.b = np.asarray(T.b, dtype=np.float64)
        k = self.S.size
        if k:
            self.M = T.hessian_block(self.S).astype(np.float64) + self.lam2 * np.eye(k)
            self.w0 = np.linalg.solve(self.M, self.b[self.S])    # w_S(λ1) = w0 - λ1 dw
            self.dw = np.linalg.solve(self.M, self.s)
        else:
            self.M = np.zeros((0, 0))
            self.w0 = self.dw = np.zeros(0)
        self._alpha = self._beta = None

    def w(self, lam1, drop=None):
        """``w(λ1)``: ``w_S = (H_SS + λ2 I)⁻¹(b_S - λ1 s)``, zeros elsewhere (and at ``drop``).

        One solve at ``λ1`` rather than ``w0 - λ1 dw``: no cancellation near a leaving event.
        """
        w = np.zeros(self.T.p)
        if self.S.size:
            w[self.S] = np.linalg.solve(self.M, self.b[self.S] - lam1 * self.s)
        if drop is not None:
            w[drop] = 0.0
        return w

    def direction(self):
        """``dw/dλ1`` as a full vector: ``-(H_SS + λ2 I)⁻¹ s`` on ``S``, zeros elsewhere."""
        d = np.zeros(self.T.p)
        d[self.S] = -self.dw
        return d

    def correlation(self):
        """``(α, β)`` with ``c(λ1) = b - H w(λ1) = α + β λ1`` (full vectors)."""
        if self._alpha is None:
            w0, dw = np.zeros(self.T.p), np.zeros(self.T.p)
            w0[self.S], dw[self.S] = self.w0, self.dw
            self._alpha = self.b - np.asarray(self.T.hessian_vector(w0), dtype=np.float64)
            self._beta = np.asarray(self.T.hessian_vector(dw), dtype=np.float64)
        return self._alpha, self._beta

    def _candidates(self):
        """``(p, 2)`` event values: inactive ``j`` entering at ``c_j = ±λ1``, active ``i``
        leaving at ``w_i = 0`` (second column NaN); non-finite where there is no event."""
        alpha, beta = self.correlation()
        cand = np.empty((self.T.p, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            cand[:, 0] = alpha / (1.0 - beta)       # α + βλ1 = +λ1
            cand[:, 1] = -alpha / (1.0 + beta)      # α + βλ1 = -λ1
            cand[self.S, 0] = self.w0 / self.dw     # w0 - λ1 dw = 0
        cand[self.S, 1] = np.nan
        return cand

    def breakpoints(self):
        """``(λ1, j)`` of every event with ``λ1 > 0``: ``j`` enters (``|c_j| = λ1``) or leaves
        (``w_j = 0``)."""
        cand = self._candidates()
        keep = np.isfinite(cand) & (cand > 0.0)
        return [(float(cand[i, k]), int(i)) for i, k in zip(*np.nonzero(keep))]

    def next_breakpoint(self, lam1, skip=None):
        """The largest event ``λ' < lam1`` (``λ' > 0``) as ``(λ', j)``, or None.

        ``skip`` is a coordinate to ignore (the one tied at ``lam1`` itself). Exact ties between
        events go to the smallest coordinate.
        """
        cand = self._candidates()
        valid = np.isfinite(cand) & (cand > 0.0) & (cand < lam1)
        if skip is not None:
            valid[skip] = False
        if not valid.any():
            return None
        flat = np.where(valid, cand, -np.inf).ravel()
        k = int(np.argmax(flat))
        return float(flat[k]), k // 2
