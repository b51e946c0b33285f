"""The projection onto the simplex ``Δ_r = {w >= 0, Σ_i w_i = r}``, docs/theory.md §15.4(e).

``G(u; r) = max(u - θ, 0)`` with the threshold ``θ`` of
:func:`~ns_implicit.kernels.simplex.simplex_threshold` (``γ`` plays no role; ``r = 1`` is the
probability simplex). With the support ``s = 1[u - θ > 0]`` (eq. (27)):

    A_G = diag(s) - s sᵀ/|s|,     ∂G/∂r = s/|s|,     ∂G/∂γ = 0.

``A_G`` is an orthogonal projection (symmetric, idempotent), not a coordinate projection: the
exact solve uses LU, AID-CG the symmetric reformulation of §15.3 with ``A_G^{1/2} = A_G``.
Tie rule (:func:`~ns_implicit.kernels.simplex.simplex_active`): ``u_i = θ`` is out of the
support (in with ``tie_active``); at each such tie both choices are vertices.
:class:`ProjectionSelection` is shared with the ℓ1 ball (signed supports).
"""

import numpy as np

from ns_implicit._validation import check_positive_float
from ns_implicit.kernels.simplex import projection_support, simplex_step, simplex_threshold
from ns_implicit.operators.base import MAX_SELECTIONS, Operator, enumerate_ties


class ProjectionSelection:
    """``A_G = diag(s) - σσᵀ/|s|`` and ``∂G/∂r = σ/|s|`` with ``σ = s ⊙ sign`` (``sign = 1``
    for the simplex): the selection of a projection onto a simplex or an ℓ1 sphere."""

    coordinate_projection = False
    symmetric = True
    b_outside_rows = False  # σ vanishes outside the support

    def __init__(self, support, sign, n_params):
        self.support = support
        self.sigma = support * sign
        self.size = float(support.sum())  # |s| >= 1 for r > 0
        self.n_params = n_params

    @property
    def rows(self):
        return np.flatnonzero(self.support)

    def A(self, x):
        """``s ⊙ x - σ (σᵀx)/|s|``."""
        return self.support * x - self.sigma * (float(self.sigma @ x) / self.size)

    AT = A  # symmetric
    sqrt_A = A  # an orthogonal projection is its own square root

    def B(self, y_G, y_gamma):
        """``(σ/|s|) y_r``."""
        return self.sigma * ((float(y_G[0]) if self.n_params else 0.0) / self.size)

    def BT(self, v):
        return np.full(self.n_params, float(self.sigma @ v) / self.size, dtype=v.dtype), 0.0

    def block(self):
        """Dense ``A_G[rows, rows] = I - σ_R σ_Rᵀ/|s|``."""
        sig = self.sigma[self.rows]
        return np.eye(len(sig), dtype=sig.dtype) - np.outer(sig, sig) / self.size


class RadiusOperator(Operator):
    """The hyperparameter of a projection onto a set of radius ``r`` (the simplex, the ℓ1 ball).

    Parameters
    ----------
    radius : None (``r`` is a hyperparameter, named ``radius``, > 0) or a fixed float > 0.
    tie_active : the vertex taken at a tie (False: the reference rule, see the subclass).
    """

    what = "set"

    def __init__(self, radius=None, *, tie_active=False):
        self.fixed = None if radius is None else check_positive_float(radius, "radius")
        self.n_params = 0 if radius is not None else 1
        self.param_names = () if radius is not None else ("radius",)
        self.tie_active = bool(tie_active)

    def check_params(self, lam_G):
        if self.n_params and not lam_G[0] > 0:
            raise ValueError(f"radius must be > 0 (the {self.what} of radius 0 is a point); "
                             f"got {lam_G[0]}.")
        return lam_G

    def radius(self, lam_G):
        return float(self.fixed if self.fixed is not None else lam_G[0])


class SimplexProjection(RadiusOperator):
    """The projection onto ``{w >= 0, Σw = r}`` (parameters of :class:`RadiusOperator`; the
    reference rule puts ``u_i = θ`` out of the support)."""

    what = "simplex"

    def theta(self, u, lam_G):
        """``θ`` of ``u`` at radius ``r`` (float64)."""
        return float(simplex_threshold(np.ascontiguousarray(u), self.radius(lam_G)))

    def apply(self, u, lam_G, gamma, w, out):
        return simplex_step(u, self.radius(lam_G), w, out)

    def _support(self, a, theta, tie_active):
        support = np.empty_like(a)
        projection_support(np.ascontiguousarray(a), a.dtype.type(theta), tie_active, support)
        return support

    def select(self, u, lam_G, gamma, tie_active=None):
        tie_active = self.tie_active if tie_active is None else bool(tie_active)
        u = np.ascontiguousarray(u)
        support = self._support(u, self.theta(u, lam_G), tie_active)
        return ProjectionSelection(support, np.ones_like(u), self.n_params)

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        """Entries with ``|u_i - θ| <= tie_tol · r`` (exact equality when ``tie_tol = 0``)."""
        u = np.asarray(u)
        gap = np.abs(np.asarray(u, np.float64) - self.theta(u, lam_G))
        return (np.flatnonzero(gap <= tie_tol * self.radius(lam_G)) if tie_tol > 0
                else np.flatnonzero(gap == 0))

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        """Every selection at ``u``: each in/out choice of the (near-)tied entries."""
        u = np.ascontiguousarray(u)
        ties = self.ties(u, lam_G, gamma, tie_tol)
        base = self._support(u, self.theta(u, lam_G), False).astype(np.uint8)
        return [ProjectionSelection(m.astype(u.dtype), np.ones_like(u), self.n_params)
                for m in enumerate_ties(base, ties, cap, what="entries") if m.any()]
