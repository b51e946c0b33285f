"""The data-poisoning fixed-point map, docs/theory.md §11.3: soft-thresholding ∘ multinomial logistic.

``Φ(w, λ) = S_{γλ1}(T(w, λ))`` with ``T`` the multinomial-logistic gradient step of
:mod:`ns_implicit.steps.logistic`: proximal gradient on

    ℓ(W; Λ) + (λ2/2)‖W‖²_F + λ1‖W‖₁,

whose fixed point is the elastic-net multinomial logistic regression trained on the data
with the noise ``Λ`` on the poisoned rows. The hyperparameter ``λ`` is ``Λ.ravel()``
(``p·f`` numbers, all the step's); ``λ1, λ2`` are fixed. ``γ`` and therefore ``τ = γλ1`` do
not depend on ``λ``, so the selection is ``A = diag(m)∂_wT``, ``B = diag(m)∂_ΛT``.
"""

import copy

import numpy as np

from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.soft_threshold import SoftThreshold
from ns_implicit.steps.logistic import MultinomialLogisticStep


class PoisoningMap(CompositeMap):
    """ISTA map of elastic-net multinomial logistic regression with poisoned rows (docs/theory.md §11.3).

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
        T = MultinomialLogisticStep(X, y, poison_idx, n_classes=n_classes, lam2=lam2,
                                    step=step, noise_ref=noise_ref, opt_L_mu_div=opt_L_mu_div)
        super().__init__(SoftThreshold(lam1, tie_active=tie_active), T)
        self.lam1 = self.G.fixed
        self.noise_shape = T.noise_shape

    @property
    def gamma(self):
        return self.T.gamma

    @property
    def tau(self):
        return self.T.gamma * self.lam1

    def with_noise_ref(self, noise_ref):
        """The same map (data shared) with the step recomputed at ``noise_ref``.

        Use it when the noise has grown the spectrum of the design so much that
        :meth:`at` raises :class:`~ns_implicit.errors.NotContractiveError`; the fixed point
        and its implicit derivative are unchanged (docs/theory.md §11.2, γ-independence).
        """
        new = copy.copy(self)
        new.T = self.T.with_noise_ref(noise_ref)
        return new

    def weights(self, w):
        """``W`` (f × c) from the flat ``w`` (a view)."""
        return np.asarray(w).reshape(self.T.n_features, self.T.n_classes)
