"""Elastic-net hyperparameter optimisation as one bilevel problem, docs/theory.md §11.2.

Inner: ``min_w ‖Xw - y‖²/(2n) + λ1‖w‖₁ + (λ2/2)‖w‖²`` solved as the fixed point of ISTA.
Outer: ``E(w) = ‖X_val w - y_val‖²/(2 n_val)``.

scikit-learn's ``ElasticNet(alpha, l1_ratio)`` minimises
``‖Xw - y‖²/(2n) + alpha·l1_ratio‖w‖₁ + (alpha(1 - l1_ratio)/2)‖w‖²``, so
``λ1 = alpha·l1_ratio`` and ``λ2 = alpha(1 - l1_ratio)``; conversely
``alpha = λ1 + λ2`` and ``l1_ratio = λ1 / (λ1 + λ2)`` (see :func:`to_sklearn`).
"""

import numbers

import numpy as np

from ns_implicit._validation import as_float_array, check_hyperparameters, checked
from ns_implicit.errors import NonFiniteError
from ns_implicit.maps.composite import CompositeMap
from ns_implicit.maps.elastic_net import ElasticNetMap, LassoMap
from ns_implicit.problems.base import BilevelProblem
from ns_implicit.steps.least_squares import LeastSquaresStep
from ns_implicit.bilevel.outer import ValidationMSE
from ns_implicit.data.synthetic import make_sparse_regression


def from_sklearn(alpha, l1_ratio):
    """``(λ1, λ2)`` for scikit-learn's ``ElasticNet(alpha, l1_ratio)``."""
    for name, value in (("alpha", alpha), ("l1_ratio", l1_ratio)):
        if isinstance(value, (str, bytes, bool)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number; got {value!r}.")
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be finite and >= 0; got {alpha}.")
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must lie in [0, 1]; got {l1_ratio}.")
    return np.array([alpha * l1_ratio, alpha * (1.0 - l1_ratio)])


def to_sklearn(lam):
    """``(alpha, l1_ratio)`` for ``λ = (λ1, λ2)``; ``l1_ratio = 0`` when both are zero."""
    lam1, lam2 = check_hyperparameters(lam, np.float64)
    with np.errstate(over="ignore"):  # an overflow is refused below, by name
        alpha = lam1 + lam2
    if not np.isfinite(alpha):
        raise ValueError(f"alpha = lam1 + lam2 overflows float64 (lam = ({lam1:g}, {lam2:g})); "
                         "scikit-learn's parameters cannot represent it: rescale the problem.")
    return alpha, (lam1 / alpha if alpha > 0 else 0.0)


def _check_scale(X, name):
    """``X`` as a float array, finite, and such that ``XᵀX`` does not overflow the dtype (it
    did: LinAlgError from the spectrum estimate). Its largest and smallest entries are also the
    finite test (NaN and ±inf propagate into them): two passes over ``X``."""
    with checked(X):
        X = as_float_array(X, name, ndim=2, allow_sparse=True)
    data = X.data if hasattr(X, "tocsr") and not isinstance(X, np.ndarray) else X
    # max(max, -min): two reductions without the temporary |data| (a copy of X)
    peak = max(float(data.max()), -float(data.min())) if data.size else 0.0
    if not np.isfinite(peak):
        raise ValueError(f"{name} contains NaN or infinite values; remove or impute them.")
    big = float(np.finfo(X.dtype).max)
    # ‖XᵀX‖ <= n·p·max|X|² (the Gram entries and the power iteration's products)
    if peak > 0 and np.log(peak) * 2 + np.log(max(X.shape[0], 1)) + np.log(max(X.shape[1], 1)) \
            >= np.log(big):
        raise NonFiniteError(
            f"{name} is too large for {X.dtype}: max|{name}| = {peak:.3g}, so {name}^T {name} "
            f"overflows (> {big:.3g}); rescale (standardise) the data, or use float64.")
    return X


def _centre(X, y, X_val, y_val, fit_intercept):
    """The training means ``(x̄, ȳ)`` when ``fit_intercept`` (zeros otherwise), with ``y`` and
    the validation split centred by them; the training design is left as given (the step
    centres it by ``offset=x̄`` without a copy, docs/theory.md §16.5). Returns
    ``(X, y, X_val, y_val, x̄, ȳ)``."""
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False; got {fit_intercept!r}.")
    X = as_float_array(X, "X", ndim=2, allow_sparse=True)
    p = X.shape[1]
    if not fit_intercept:
        return X, y, X_val, y_val, np.zeros(p, dtype=X.dtype), 0.0
    if not isinstance(X, np.ndarray):
        raise ValueError("fit_intercept=True needs a dense X: centring a scipy.sparse design "
                         "would make it dense; centre X yourself (X.toarray()) or add a "
                         "column of ones to it.")
    y = as_float_array(y, "y", ndim=1, dtype=X.dtype)
    X_val = as_float_array(X_val, "X_val", ndim=2, dtype=X.dtype)
    y_val = as_float_array(y_val, "y_val", ndim=1, dtype=X.dtype)
    if X_val.shape[1] != p:
        raise ValueError(f"X_val must have the same number of columns as X: "
                         f"{X_val.shape[1]} != {p}.")
    x_mean, y_mean = X.mean(axis=0), float(y.mean())
    # the validation rows in column order, as the validation loss keeps them
    return (X, y - y_mean, np.subtract(X_val, x_mean, order="F"), y_val - y_mean, x_mean,
            y_mean)


class ElasticNetProblem(BilevelProblem):
    """Training data, validation data and the ISTA map, bundled.

    Parameters
    ----------
    X, y : training split; X_val, y_val : validation split.
    step, gram, tie_active, spectrum : passed to
        :class:`~ns_implicit.maps.elastic_net.ElasticNetMap` (``spectrum``: docs/theory.md §16.1).
        ``gram`` may be the precomputed ``XᵀX/n`` of the ``X`` given here (before any
        centring, docs/theory.md §16.5), as :func:`~ns_implicit.tuning.cross_validation_problems`
        passes to a factory that takes ``gram``.
    fit_intercept : bool (default False, the paper's model)
        Fit an unpenalised intercept ``β0``. For a squared loss this is exactly the problem on
        data centred by the *training* means ``x̄, ȳ`` (``∂/∂β0 = 0`` gives
        ``β0 = ȳ - x̄ᵀw``, and substituting it centres both splits), which is what the map
        and the validation loss see; :meth:`intercept` returns ``β0`` for a solution ``w``.
        Dense ``X`` only (centring would make a sparse design dense).
    """

    def __init__(self, X, y, X_val, y_val, *, step="paper", gram="auto", tie_active=False,
                 fit_intercept=False, spectrum="auto"):
        X, X_val = _check_scale(X, "X"), _check_scale(X_val, "X_val")
        with checked(X, X_val):  # checked once, here; so are their centred copies
            X, y, X_val, y_val, self.X_offset, self.y_offset = _centre(X, y, X_val, y_val,
                                                                      fit_intercept)
        self.fit_intercept = bool(fit_intercept)
        with checked(X, X_val):
            try:
                self.map = self._make_map(X, y, step=step, gram=gram, tie_active=tie_active,
                                          spectrum=spectrum,
                                          offset=self.X_offset if fit_intercept else None)
            except np.linalg.LinAlgError as exc:  # the spectrum estimate of XᵀX/n failed
                raise NonFiniteError(f"the spectrum of X^T X / n could not be computed ({exc}): "
                                     "X is too large or ill-scaled for its dtype; rescale "
                                     "(standardise) X.") from exc
            self.outer = ValidationMSE(X_val, y_val, n_hyper=self.map.n_hyper,
                                       dtype=self.map.dtype)
        if self.outer.X_val.shape[1] != self.map.dim:
            raise ValueError(f"X_val must have the same number of columns as X: "
                             f"{self.outer.X_val.shape[1]} != {self.map.dim}.")

    @staticmethod
    def _make_map(X, y, **kwargs):
        return ElasticNetMap(X, y, **kwargs)

    def intercept(self, w):
        """``β0 = ȳ - x̄ᵀw`` (0 without ``fit_intercept``): predictions are ``X w + β0``."""
        w = as_float_array(w, "w", ndim=1, dtype=self.map.dtype)
        if w.shape[0] != self.map.dim:
            raise ValueError(f"w must have length p = {self.map.dim}; got {w.shape[0]}.")
        return float(self.y_offset - self.X_offset @ w)

    @classmethod
    def synthetic(cls, seed=3, dtype=np.float64, **kwargs):
        """The paper's Figure-1 data (docs/theory.md §12.2) or any :func:`make_sparse_regression` setting."""
        data = make_sparse_regression(seed=seed, dtype=dtype, **kwargs)
        return cls(data.X, data.y, data.X_val, data.y_val)

    @property
    def lam1_max(self):
        return self.map.lam1_max


class LassoProblem(ElasticNetProblem):
    """The lasso (``λ2 = 0``, ``λ = (λ1,)``) with its validation loss; ``p > n`` is accepted
    (docs/theory.md §15.6: :class:`~ns_implicit.maps.elastic_net.LassoMap`). ``step`` is
    ``"lipschitz"`` (``γ = 1/L``) and cannot be changed."""

    def __init__(self, X, y, X_val, y_val, *, gram="auto", tie_active=False,
                 fit_intercept=False, spectrum="auto"):
        super().__init__(X, y, X_val, y_val, step="lipschitz", gram=gram, tie_active=tie_active,
                         fit_intercept=fit_intercept, spectrum=spectrum)

    @staticmethod
    def _make_map(X, y, step, **kwargs):
        return LassoMap(X, y, **kwargs)


class LeastSquaresCompositeProblem(ElasticNetProblem):
    """A nonsmooth operator after the least-squares step ``γ = 1/(L + λ2)`` (``p > n`` accepted,
    docs/theory.md §15.6): the shared set-up of the weighted and the nonnegative lasso, whose
    subclasses name the operator in :meth:`_operator`. ``lam2``: a fixed ridge weight (default
    0) or None (one more hyperparameter, last)."""

    def __init__(self, X, y, X_val, y_val, *, lam2=0.0, gram="auto", tie_active=False,
                 fit_intercept=False, spectrum="auto"):
        self._lam2 = lam2
        super().__init__(X, y, X_val, y_val, step="lipschitz", gram=gram, tie_active=tie_active,
                         fit_intercept=fit_intercept, spectrum=spectrum)

    def _make_map(self, X, y, step, gram, tie_active, spectrum, offset):
        T = LeastSquaresStep(X, y, step=step, gram=gram, lam2=self._lam2, spectrum=spectrum,
                             offset=offset)
        return CompositeMap(self._operator(T.dim, tie_active), T)

    def _operator(self, dim, tie_active):
        raise NotImplementedError
