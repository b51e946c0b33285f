"""Outer objectives ``E(w, λ)`` with their gradients (docs/theory.md §10)."""

import numpy as np

from ns_implicit._validation import as_float_array


class ValidationMSE:
    """``E(w) = ‖X_val w - y_val‖² / (2 n_val)``; ``∇_1E = X_valᵀ(X_val w - y_val)/n_val``, ``∇_2E = 0``.

    A dense ``X_val`` is kept in column order (copied once if it is not), so that ``X_val w``
    for a sparse ``w`` (the lasso family's solutions) reads only the columns of its support."""

    #: a squared error (``>= 0``, spanning decades along a regularisation path): with one
    #: hyperparameter the tuning driver minimises ``log E`` (:func:`~ns_implicit.tuning.tune`)
    squared_error = True

    def __init__(self, X_val, y_val, n_hyper=2, dtype=None):
        X_val = as_float_array(X_val, "X_val", ndim=2, dtype=dtype, allow_sparse=True,
                               order="F")
        y_val = as_float_array(y_val, "y_val", ndim=1, dtype=X_val.dtype)
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(f"y_val must have one entry per row of X_val: X_val has "
                             f"{X_val.shape[0]} rows, y_val has {y_val.shape[0]} entries.")
        if X_val.shape[0] == 0:
            raise ValueError("X_val must have at least one row.")
        self.X_val, self.y_val, self.n_hyper = X_val, y_val, n_hyper

    def residual(self, w):
        """``X_val w - y_val``; for a dense ``X_val`` and a ``w`` with at most a quarter of
        its entries nonzero, from the columns of the support only."""
        if isinstance(self.X_val, np.ndarray) and w.ndim == 1:
            S = np.flatnonzero(w)
            if 4 * S.size <= w.size:
                return self.X_val[:, S] @ w[S] - self.y_val
        return np.asarray(self.X_val @ w).ravel() - self.y_val

    def value(self, w, lam=None):
        r = self.residual(w)
        return float(r @ r) / (2.0 * self.X_val.shape[0])

    def grad_w(self, w, lam=None):
        r = self.residual(w)
        return np.asarray(self.X_val.T @ r).ravel() / w.dtype.type(self.X_val.shape[0])

    def grad_lam(self, w, lam=None):
        return np.zeros(self.n_hyper, dtype=w.dtype)


class ValidationLogLoss:
    """``E(w) = (1/n_val) Σ_i log(1 + exp(-y_i x_iᵀw))`` (labels ±1 or 0/1);
    ``∇_1E = -X_valᵀ(y ⊙ σ(-y ⊙ X_val w))/n_val``, ``∇_2E = 0``."""

    def __init__(self, X_val, y_val, n_hyper=1, dtype=None):
        from ns_implicit.steps.binary_logistic import signed_labels

        X_val = as_float_array(X_val, "X_val", ndim=2, dtype=dtype, allow_sparse=True)
        y_val = as_float_array(y_val, "y_val", ndim=1, dtype=X_val.dtype)
        if y_val.shape[0] != X_val.shape[0] or X_val.shape[0] == 0:
            raise ValueError(f"y_val must have one entry per row of X_val (at least one): "
                             f"X_val has {X_val.shape[0]} rows, y_val {y_val.shape[0]}.")
        self.X_val, self.y_val = X_val, signed_labels(y_val, "y_val")
        self.n_hyper = n_hyper

    def _margins(self, w):
        return self.y_val * np.asarray(self.X_val @ w).ravel()

    def value(self, w, lam=None):
        return float(np.mean(np.logaddexp(0.0, -self._margins(w))))

    def grad_w(self, w, lam=None):
        from scipy.special import expit

        r = self.y_val * expit(-self._margins(w))
        return (-np.asarray(self.X_val.T @ r).ravel() / self.X_val.shape[0]).astype(w.dtype)

    def grad_lam(self, w, lam=None):
        return np.zeros(self.n_hyper, dtype=w.dtype)
