"""The projection onto the ℓ1 ball ``{‖w‖₁ <= r}``, docs/theory.md §15.4(e).

Inside (``‖u‖₁ < r``): ``G(u) = u``, ``A_G = I``, ``∂G/∂r = 0``. Outside: ``G(u) = σ ⊙ max(|u| - θ, 0)``
with ``σ = sign(u)`` and ``θ > 0`` the simplex threshold of ``|u|`` at radius ``r``; with the
support ``s = 1[|u| > θ]``:

    A_G = diag(s) - (s⊙σ)(s⊙σ)ᵀ/|s|,     ∂G/∂r = (s⊙σ)/|s|,     ∂G/∂γ = 0.

Two tie rules (:mod:`ns_implicit.kernels.simplex`): at ``‖u‖₁ = r`` the reference takes the
boundary branch (``θ = 0``; the interior with ``tie_active``), and an entry ``|u_i| = θ`` is out
of the support (in with ``tie_active``). Vertices: the interior selection at ``‖u‖₁ = r``, and
every in/out choice of the tied entries on the boundary branch.
"""

import itertools

import numpy as np

from ns_implicit.kernels.simplex import (l1_ball_inside, l1_ball_step, l1_norm,
                                         projection_support, simplex_threshold)
from ns_implicit.errors import SelectionCapError
from ns_implicit.operators.base import MAX_SELECTIONS, MaskSelection, enumerate_ties
from ns_implicit.operators.simplex import ProjectionSelection, RadiusOperator


class InteriorSelection(MaskSelection):
    """Inside the ball: ``A_G = I`` (a coordinate projection), ``B_G = 0``."""

    b_outside_rows = False

    def __init__(self, u, n_params):
        super().__init__(np.ones_like(u), u.dtype)
        self.n_params = n_params

    def B(self, y_G, y_gamma):
        return np.zeros_like(self.mask)

    def BT(self, v):
        return np.zeros(self.n_params, dtype=v.dtype), 0.0


class L1BallProjection(RadiusOperator):
    """The projection onto ``{‖w‖₁ <= r}`` (parameters of
    :class:`~ns_implicit.operators.simplex.RadiusOperator`; the reference rule takes the
    boundary branch at ``‖u‖₁ = r`` and puts ``|u_i| = θ`` out of the support)."""

    what = "l1 ball"

    def theta(self, u, lam_G):
        """``θ`` (0 inside the ball or on its boundary), float64."""
        u = np.ascontiguousarray(u)
        r = self.radius(lam_G)
        return 0.0 if l1_norm(u) <= r else float(simplex_threshold(np.abs(u), r))

    def apply(self, u, lam_G, gamma, w, out):
        return l1_ball_step(u, self.radius(lam_G), w, out)

    def _boundary(self, u, theta, tie_active):
        a = np.abs(u)
        support = np.empty_like(a)
        projection_support(a, a.dtype.type(theta), tie_active, support)
        return ProjectionSelection(support, np.sign(u), self.n_params)

    def select(self, u, lam_G, gamma, tie_active=None):
        tie_active = self.tie_active if tie_active is None else bool(tie_active)
        u = np.ascontiguousarray(u)
        if l1_ball_inside(l1_norm(u), self.radius(lam_G), tie_active):
            return InteriorSelection(u, self.n_params)
        return self._boundary(u, self.theta(u, lam_G), tie_active)

    def on_sphere(self, u, lam_G, tie_tol=0.0):
        """Is ``‖u‖₁`` within ``tie_tol · r`` of ``r`` (exactly ``r`` when ``tie_tol = 0``)?"""
        r = self.radius(lam_G)
        gap = abs(l1_norm(np.ascontiguousarray(u)) - r)
        return gap <= tie_tol * r if tie_tol > 0 else gap == 0

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        """Entries with ``||u_i| - θ| <= tie_tol · r`` on the boundary branch (exact when
        ``tie_tol = 0``), and every index when ``u`` is (nearly) on the sphere ``‖u‖₁ = r``
        (the branch itself is tied)."""
        u = np.ascontiguousarray(u)
        if self.on_sphere(u, lam_G, tie_tol):
            return np.arange(u.shape[0])
        if l1_norm(u) < self.radius(lam_G):
            return np.zeros(0, dtype=np.intp)
        gap = np.abs(np.abs(u).astype(np.float64) - self.theta(u, lam_G))
        return (np.flatnonzero(gap <= tie_tol * self.radius(lam_G)) if tie_tol > 0
                else np.flatnonzero(gap == 0))

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        """Every selection at ``u``: on the sphere, the interior one and the boundary branch at
        ``θ = 0`` with each choice of the zero entries (out, or in with either sign: the
        one-sided derivatives along ``±e_i``); outside, each in/out choice of the
        entries tied with ``θ``; inside, the identity."""
        u = np.ascontiguousarray(u)
        r = self.radius(lam_G)
        if self.on_sphere(u, lam_G, tie_tol):
            theta, a = 0.0, np.abs(u)
            entry_ties = np.flatnonzero(a <= tie_tol * r) if tie_tol > 0 else \
                np.flatnonzero(a == 0)
            out = [InteriorSelection(u, self.n_params)]
        elif l1_norm(u) < r:
            return [InteriorSelection(u, self.n_params)]
        else:
            theta, out = self.theta(u, lam_G), []
            entry_ties = self.ties(u, lam_G, gamma, tie_tol)
        base = (np.abs(u).astype(np.float64) > theta).astype(np.uint8)
        base[entry_ties] = 0
        sign = np.sign(u)
        zero = entry_ties[u[entry_ties] == 0]  # joins with either sign: in +, in -, or out
        if len(zero) and 3 ** len(zero) * 2 ** (len(entry_ties) - len(zero)) > cap:
            raise SelectionCapError(
                f"{len(entry_ties)} entries of u are tied on the l1 sphere, giving more "
                f"selections than cap={cap}; raise cap or perturb the radius.")
        for m in enumerate_ties(base, entry_ties, cap - len(out), what="entries"):
            for signs in itertools.product((1.0, -1.0), repeat=int(m[zero].sum())):
                sg = sign.copy()
                sg[zero[m[zero] == 1]] = signs
                if m.any():
                    out.append(ProjectionSelection(m.astype(u.dtype), sg, self.n_params))
        return out
