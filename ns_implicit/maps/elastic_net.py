"""The elastic-net fixed-point map (ISTA), docs/theory.md §11.2: soft-thresholding ∘ least squares.

``Φ(w, λ) = S_{γλ1}(w - γ(∇f(w) + λ2 w))``, ``f(w) = ‖Xw - y‖²/(2n)``, ``λ = (λ1, λ2)``:
the proximal-gradient map of ``f(w) + λ1‖w‖₁ + (λ2/2)‖w‖²`` whose fixed point is the
elastic-net solution — the composite of :class:`~ns_implicit.operators.SoftThreshold`
(hyperparameter ``λ1``) and :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`
(hyperparameter ``λ2``).
"""

import numpy as np

from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.soft_threshold import SoftThreshold
from ns_implicit.steps.least_squares import LeastSquaresStep


class ElasticNetMap(CompositeMap):
    """ISTA map of the elastic net (docs/theory.md §11.2).

    Parameters
    ----------
    X, y : training data (``X`` dense or ``scipy.sparse``; float32 or float64).
    step : ``"paper"`` for ``γ(λ2) = 2/(L + μ + 2λ2)``, ``"lipschitz"`` for ``1/(L + λ2)``, or
        a fixed positive float.
    gram : ``"auto"``, True or False (see :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`).
    tie_active : bool
        Tie rule of the selection: False (reference) makes ``|u_i| = τ`` inactive,
        True makes it active (the other vertex of the conservative set).
    lam2 : None (``λ = (λ1, λ2)``) or a fixed ridge weight (``λ = (λ1,)``).
    spectrum : ``"auto"``, ``"exact"`` or ``"bound"`` (see
        :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`, docs/theory.md §16.1).
    offset : None or the column means to centre ``X`` by, without a copy (see
        :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`, docs/theory.md §16.5).
    """

    def __init__(self, X, y, step="paper", gram="auto", tie_active=False, lam2=None,
                 spectrum="auto", offset=None):
        super().__init__(SoftThreshold(tie_active=tie_active),
                         LeastSquaresStep(X, y, step=step, gram=gram, lam2=lam2,
                                          spectrum=spectrum, offset=offset))

    @property
    def lam1_max(self):
        """Smallest ``λ1`` whose solution is ``w = 0``: ``‖Xᵀy‖∞ / n``."""
        return float(np.max(np.abs(self.T.b))) if self.T.p else 0.0


class LassoMap(ElasticNetMap):
    """ISTA map of the lasso ``‖Xw - y‖²/(2n) + λ1‖w‖₁`` (docs/theory.md §15.6), ``λ = (λ1,)``.

    The step is ``γ = 1/L``. With ``p > n`` (or any singular ``XᵀX``) the map is not a
    contraction (``q = 1``) but it is averaged, so the fixed-point iteration converges; the
    hypergradient is defined when the restricted system ``H[S, S]`` on the identified support
    is positive definite (a unique lasso solution), which :func:`~ns_implicit.methods.exact.exact`
    checks (it raises :class:`~ns_implicit.errors.NotContractiveError` naming the fix otherwise).
    """

    def __init__(self, X, y, gram="auto", tie_active=False, spectrum="auto", offset=None):
        super().__init__(X, y, step="lipschitz", gram=gram, tie_active=tie_active, lam2=0.0,
                         spectrum=spectrum, offset=offset)
