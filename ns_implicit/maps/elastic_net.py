"""The elastic-net fixed-point map (ISTA), THEORY.md §11.2.

``Φ(w, λ) = S_{γλ1}(w - γ(∇f(w) + λ2 w))``, ``f(w) = ‖Xw - y‖²/(2n)``, ``λ = (λ1, λ2)``:
the proximal-gradient map of ``f(w) + λ1‖w‖₁ + (λ2/2)‖w‖²`` whose fixed point is the
elastic-net solution. ``ElasticNetMap(X, y).at(lam)`` fixes ``λ`` and checks the
contraction factor.
"""

import numpy as np

from ns_implicit._validation import as_float_array, check_hyperparameters
from ns_implicit.errors import NotContractiveError
from ns_implicit.steps.least_squares import LeastSquaresStep
from ns_implicit.kernels.least_squares import gram_prox_gradient_step, prox_gradient_step
from ns_implicit.operators.soft_threshold import soft_threshold_with_selection
from ns_implicit.maps.selection import ProxGradientSelection


class ElasticNetMap:
    """ISTA map of the elastic net (THEORY §11.2).

    Parameters
    ----------
    X, y : training data (``X`` dense or ``scipy.sparse``; float32 or float64).
    step : ``"paper"`` for ``γ(λ2) = 2/(L + μ + 2λ2)`` or a fixed positive float.
    gram : ``"auto"``, True or False (see :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`).
    tie_active : bool
        Tie rule of the selection: False (reference) makes ``|u_i| = τ`` inactive,
        True makes it active (the other vertex of the conservative set).
    """

    n_hyper = 2

    def __init__(self, X, y, step="paper", gram="auto", tie_active=False):
        self.T = LeastSquaresStep(X, y, step=step, gram=gram)
        self.tie_active = bool(tie_active)
        self.dim = self.T.p
        self.dtype = self.T.dtype

    @property
    def lam1_max(self):
        """Smallest ``λ1`` whose solution is ``w = 0``: ``‖Xᵀy‖∞ / n``."""
        return float(np.max(np.abs(self.T.b))) if self.T.p else 0.0

    def at(self, lam):
        """The map ``Φ(·, λ)`` at fixed ``lam = (λ1, λ2)``."""
        return ElasticNetMapAt(self, lam)


class ElasticNetMapAt:
    """``Φ(·, λ)`` for one ``λ``: evaluation, one-call solver step and the §7 oracle."""

    def __init__(self, parent, lam):
        self.parent = parent
        T = parent.T
        self.lam = check_hyperparameters(lam, parent.dtype)
        lam1, lam2 = (float(v) for v in self.lam)
        if T.L + lam2 == 0.0:  # X = 0 and λ2 = 0: both the paper's step and q divide by zero
            raise NotContractiveError(
                f"the elastic-net map is not a contraction at lam={self.lam.tolist()}: X is "
                "identically zero (L = 0) and lam2 = 0, so the data term is constant; use lam2 > 0.")
        self.q = T.contraction_factor(lam2)
        gamma, dgamma = T.step_size(lam2)
        if not self.q < 1.0:
            if T.fixed_step is not None:
                fix = (f"use a step in (0, 2/(L + lam2)) = (0, {2.0 / (T.L + lam2):.6g}) "
                       "or step='paper'")
            else:
                fix = "use lam2 > 0 (the data term is not strongly convex: mu = 0)"
            raise NotContractiveError(
                f"the elastic-net map is not a contraction at lam={self.lam.tolist()}: "
                f"q = {self.q:.6g} >= 1 (L = {T.L:.6g}, mu = {T.mu:.6g}, step = {gamma:.6g}); {fix}.")
        self.gamma = parent.dtype.type(gamma)
        self.tau = parent.dtype.type(gamma * lam1)
        # ∇τ(λ) for τ = γ(λ2) λ1.
        self.dtau = np.array([gamma, lam1 * dgamma], dtype=parent.dtype)
        self.dim = parent.dim
        self.n_hyper = parent.n_hyper
        self.dtype = parent.dtype

    def check_point(self, w, name="w"):
        """Validate a point of the map's domain."""
        w = as_float_array(w, name, ndim=1, dtype=self.dtype)
        if w.shape[0] != self.dim:
            raise ValueError(f"{name} must have length p = {self.dim}; got {w.shape[0]}.")
        return w

    def advance(self, w, out):
        """``out = Φ(w, λ)``; returns ``(‖out - w‖, support_changed)``."""
        T = self.parent.T
        if T.H is not None and w.dtype == T.dtype and w.flags.c_contiguous:
            # Gram path: gradient and prox step fused in one compiled call.
            return gram_prox_gradient_step(T.H, T.b, w, self.lam[1], self.gamma, self.tau, out)
        grad = T.gradient(w)
        return prox_gradient_step(w, grad, self.lam[1], self.gamma, self.tau, out)

    def __call__(self, w):
        out = np.empty_like(w)
        self.advance(w, out)
        return out

    def selection(self, w, mask=None):
        """One ``(A, B) ∈ D_Φ(w, λ)`` (THEORY §7) with the map's tie rule, or the given mask."""
        lin = self.parent.T.linearize(w, self.lam)
        _, default_mask, sign, _ = soft_threshold_with_selection(
            lin.value, self.tau, self.parent.tie_active)
        return ProxGradientSelection(lin, default_mask if mask is None else mask, sign, self.dtau)

    def inner_point(self, w):
        """``u = T(w, λ)``, the point where ``G`` is evaluated."""
        return self.parent.T.linearize(w, self.lam).value
