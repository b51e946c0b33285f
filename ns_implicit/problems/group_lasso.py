"""The group lasso and the group elastic net (docs/theory.md §15.4(d), §15.10).

Inner: ``min_w ℓ(w) + Σ_g λ_g ω_g ‖w_g‖₂ (+ (λ2/2)‖w‖²)`` as the fixed point of block
soft-thresholding after the gradient step of ``ℓ``: least squares ``‖Xw - y‖²/(2n)``
(:class:`GroupLassoProblem`, outer: the validation mean squared error) or the binary logistic
loss (:class:`GroupLogisticProblem`, outer: the held-out logistic loss). Groups are one integer
label per feature; ``ω_g = √|g|`` unless ``group_weights`` is given.

Hyperparameters: ``λ = (λ1,)`` shared by every group, or one ``λ_g`` per group (in label order)
with ``per_group=True``; with ``lam2=None`` the ridge weight ``λ2`` comes last (the group
elastic net). With ``lam2=0`` (the default) ``p > n`` is accepted (``q = 1``, §15.6).
"""

import numpy as np

from ns_implicit.operators.group_soft_threshold import GroupSoftThreshold
from ns_implicit.problems.elastic_net import LeastSquaresCompositeProblem
from ns_implicit.problems.sparse_logreg import SparseLogisticProblem


class _Groups:
    """The group options shared by both bundles."""

    def _set_groups(self, groups, group_weights, per_group):
        self._group_options = dict(groups=groups, weights=group_weights, per_group=per_group)

    def _operator(self, dim, tie_active):
        G = GroupSoftThreshold(tie_active=tie_active, **self._group_options)
        if G.dim != dim:
            raise ValueError(f"groups must have one label per feature ({dim}); got {G.dim}.")
        return G

    @property
    def groups(self):
        """The block soft-thresholding operator (its ``labels``, ``weights``, ``group_of``)."""
        G = self.map.G
        return G.G if hasattr(G, "k") and hasattr(G, "G") else G  # inside an IdentityTail

    def _lam_max(self, gradient_at_zero):
        """Per group, the smallest ``λ_g`` that keeps ``w_g = 0`` at ``w = 0``:
        ``‖∇ℓ(0)_g‖/ω_g`` (infinite for an unpenalised group)."""
        G = self.groups
        norms = np.sqrt(np.bincount(G.group_of, weights=np.square(gradient_at_zero),
                                    minlength=G.n_groups))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(G.weights > 0, norms / np.where(G.weights > 0, G.weights, 1.0),
                            np.inf)


class GroupLassoProblem(_Groups, LeastSquaresCompositeProblem):
    """Training data, validation data and the group-lasso map (least squares), bundled.

    Parameters
    ----------
    X, y, X_val, y_val : the splits.
    groups : (p,) integer group labels, one per feature.
    group_weights : None (``√|g|``) or one weight >= 0 per group (label order).
    per_group : one ``λ_g`` per group (True) or one shared ``λ1`` (False, default).
    lam2 : float >= 0 (a fixed ridge weight; default 0) or None (``λ2`` a hyperparameter: the
        group elastic net).
    gram, tie_active, fit_intercept : as for
        :class:`~ns_implicit.problems.elastic_net.ElasticNetProblem`.
    """

    def __init__(self, X, y, X_val, y_val, groups, *, group_weights=None, per_group=False,
                 lam2=0.0, gram="auto", tie_active=False, fit_intercept=False):
        self._set_groups(groups, group_weights, per_group)
        super().__init__(X, y, X_val, y_val, lam2=lam2, gram=gram, tie_active=tie_active,
                         fit_intercept=fit_intercept)

    @property
    def lam_max(self):
        """Per group, ``‖(Xᵀy/n)_g‖/ω_g``: a ``λ_g`` above it keeps group ``g`` at zero."""
        return self._lam_max(np.asarray(self.map.T.b, dtype=np.float64))

    @property
    def lam1_max(self):
        """The smallest shared ``λ1`` whose solution is ``w = 0``."""
        return float(np.max(self.lam_max[np.isfinite(self.lam_max)], initial=0.0))


class GroupLogisticProblem(_Groups, SparseLogisticProblem):
    """Training data, validation data and the group-lasso map for binary logistic regression.

    Parameters
    ----------
    X, y : training split (labels -1/+1 or 0/1); X_val, y_val : validation split.
    groups, group_weights, per_group : as for :class:`GroupLassoProblem`.
    lam2, tie_active, fit_intercept : as for
        :class:`~ns_implicit.problems.sparse_logreg.SparseLogisticProblem` (the intercept is
        outside every group).
    """

    def __init__(self, X, y, X_val, y_val, groups, *, group_weights=None, per_group=False,
                 lam2=0.0, tie_active=False, fit_intercept=False):
        self._set_groups(groups, group_weights, per_group)
        super().__init__(X, y, X_val, y_val, lam2=lam2, tie_active=tie_active,
                         fit_intercept=fit_intercept)

    @property
    def lam_max(self):
        """Per group, ``‖∇ℓ(0, b*)_g‖/ω_g`` (``b*`` the intercept-only optimum)."""
        return self._lam_max(self.coef(self._gradient_at_null()).astype(np.float64))

    @property
    def lam1_max(self):
        return float(np.max(self.lam_max[np.isfinite(self.lam_max)], initial=0.0))
