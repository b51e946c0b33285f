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
    step : ``"paper"`` for ``γ(λ2) = 2/(L + μ + 2λ2)`` or a fixed positive float.
    gram : ``"auto"``, True or False (see :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`).
    tie_active : bool
        Tie rule of the selection: False (reference) makes ``|u_i| = τ`` inactive,
        True makes it active (the other vertex of the conservative set).
    """

    def __init__(self, X, y, step="paper", gram="auto", tie_active=False):
        super().__init__(SoftThreshold(tie_active=tie_active),
                         LeastSquaresStep(X, y, step=step, gram=gram))

    @property
    def lam1_max(self):
        """Smallest ``λ1`` whose solution is ``w = 0``: ``‖Xᵀy‖∞ / n``."""
        return float(np.max(np.abs(self.T.b))) if self.T.p else 0.0
