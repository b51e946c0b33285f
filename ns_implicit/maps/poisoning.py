"""The data-poisoning fixed-point map, THEORY.md §11.3.

``Φ(w, λ) = S_{γλ1}(T(w, λ))`` with ``T`` the multinomial-logistic gradient step of
:mod:`ns_implicit.steps.logistic`: proximal gradient on

    ℓ(W; Λ) + (λ2/2)‖W‖²_F + λ1‖W‖₁,

whose fixed point is the elastic-net multinomial logistic regression trained on the data
with the noise ``Λ`` on the poisoned rows. The hyperparameter ``λ`` is ``Λ.ravel()``
(``p·f`` numbers); ``λ1, λ2`` are fixed. ``γ`` and therefore ``τ = γλ1`` do not depend on
``λ``, so the selection is ``A = diag(m)∂_wT``, ``B = diag(m)∂_ΛT`` (no ``∇τ`` term).
Follows the map protocol of :mod:`ns_implicit.maps`.
"""

import copy

import numpy as np

from ns_implicit._validation import as_float_array, check_positive_float
from ns_implicit.errors import NotContractiveError
from ns_implicit.steps.logistic import MultinomialLogisticStep, check_noise
from ns_implicit.kernels.least_squares import prox_gradient_step
from ns_implicit.operators.soft_threshold import soft_threshold_with_selection
from ns_implicit.maps.selection import ProxGradientSelection


class PoisoningMap:
    """ISTA map of elastic-net multinomial logistic regression with poisoned rows (THEORY §11.3).

    Parameters
    ----------
    X, y : training images (n × f, float32 or float64) and integer labels in ``[0, n_classes)``.
    poison_idx : (p,) distinct indices of the poisoned rows.
    lam1, lam2 : fixed elastic-net weights (paper: 0.02, 0.1); ``lam2 > 0``.
    n_classes : c (10 for MNIST).
    step : ``"paper"`` (``γ = 2/(L' + μ' + 2λ2)``, ``L', μ'`` divided by ``opt_L_mu_div``,
        default ``n_classes`` = the paper's 10 on MNIST),
        ``"safe"`` (proven contraction) or a float; see :mod:`ns_implicit.steps.logistic`.
    noise_ref : the noise at which ``γ`` is computed (the paper: the initial noise; default 0).
    tie_active : the tie rule of the selection (False: ``|u_i| = τ`` inactive).
    """

    def __init__(self, X, y, poison_idx, *, lam1=0.02, lam2=0.1, n_classes=10, step="paper",
                 noise_ref=None, opt_L_mu_div=None, tie_active=False):
        self.T = MultinomialLogisticStep(X, y, poison_idx, n_classes=n_classes, lam2=lam2,
                                         step=step, noise_ref=noise_ref,
                                         opt_L_mu_div=opt_L_mu_div)
        self.lam1 = check_positive_float(lam1, "lam1", strict=False)
        self.tie_active = bool(tie_active)
        self.dim = self.T.dim
        self.n_hyper = self.T.n_hyper
        self.dtype = self.T.dtype
        self.noise_shape = self.T.noise_shape
        self.gamma = self.T.gamma
        self.tau = self.gamma * self.lam1

    def with_noise_ref(self, noise_ref):
        """The same map (data shared) with the step recomputed at ``noise_ref``.

        Use it when the noise has grown the spectrum of the design so much that
        :meth:`at` raises :class:`~ns_implicit.errors.NotContractiveError`; the fixed point
        and its implicit derivative are unchanged (THEORY §11.2, γ-independence).
        """
        new = copy.copy(self)
        new.T = self.T.with_noise_ref(noise_ref)
        new.gamma = new.T.gamma
        new.tau = new.gamma * new.lam1
        return new

    def at(self, lam):
        """The map ``Φ(·, Λ)``; ``lam`` is the noise, shape ``(p, f)`` or flat ``p·f``."""
        return PoisoningMapAt(self, lam)

    def weights(self, w):
        """``W`` (f × c) from the flat ``w`` (a view)."""
        return np.asarray(w).reshape(self.T.n_features, self.T.n_classes)


class PoisoningMapAt:
    """``Φ(·, Λ)`` for one noise: evaluation, one-call solver step and the §7 oracle."""

    def __init__(self, parent, lam):
        self.parent = parent
        noise = check_noise(lam, parent.noise_shape, parent.dtype)
        self.lam = noise.reshape(-1)
        self.noise = noise
        self.T = parent.T.at(noise)
        self.L, self.mu = self.T.spectrum()
        self.q = parent.T.contraction_factor(self.L, self.mu)
        if not self.q < 1.0:
            T = parent.T
            kind = ("estimated by the paper's rule" if T.rule == "paper"
                    else "bounded with 0 <= Hessian <= L/2")
            raise NotContractiveError(
                f"the poisoning map is not a contraction at this noise: q = {self.q:.6g} >= 1 "
                f"({kind}; L = {self.L:.6g}, step = {T.gamma:.6g} computed at L_ref = "
                f"{T.L_ref:.6g}). The noise has grown the spectrum of the design: rebuild the map "
                "with noise_ref set to this noise (map.with_noise_ref(noise)), or use a smaller step.")
        self.gamma = parent.dtype.type(parent.gamma)
        self.tau = parent.dtype.type(parent.tau)
        self.dtau = None  # τ does not depend on λ
        self.lam2 = parent.dtype.type(parent.T.lam2)
        self.dim = parent.dim
        self.n_hyper = parent.n_hyper
        self.dtype = parent.dtype

    def check_point(self, w, name="w"):
        """Validate a point of the map's domain (flat ``W``, length ``f·c``)."""
        w = as_float_array(w, name, dtype=self.dtype)
        if w.shape == (self.parent.T.n_features, self.parent.T.n_classes):
            w = w.reshape(-1)
        if w.shape != (self.dim,):
            raise ValueError(f"{name} must be the flat weights of length f*c = {self.dim} "
                             f"(or shape {(self.parent.T.n_features, self.parent.T.n_classes)}); "
                             f"got shape {w.shape}.")
        return w

    def advance(self, w, out):
        """``out = Φ(w, Λ)``; returns ``(‖out - w‖, support_changed)``."""
        return prox_gradient_step(w, self.T.gradient(w), self.lam2, self.gamma, self.tau, out)

    def __call__(self, w):
        out = np.empty_like(w)
        self.advance(w, out)
        return out

    def selection(self, w, mask=None):
        """One ``(A, B) ∈ D_Φ(w, Λ)`` (THEORY §7) with the map's tie rule, or the given mask."""
        lin = self.T.linearize(w)
        _, default_mask, sign, _ = soft_threshold_with_selection(
            lin.value, self.tau, self.parent.tie_active)
        return ProxGradientSelection(lin, default_mask if mask is None else mask, sign, None)

    def inner_point(self, w):
        """``u = T(w, Λ)``, the point where ``G`` is evaluated."""
        return self.T.linearize(w).value
