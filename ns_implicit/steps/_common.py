"""What the gradient steps share: the design's validation, the step rule and the ridge weight
``λ2`` (a hyperparameter, ``λ_T = (λ2,)``, or fixed, ``λ_T = ()``)."""

import numpy as np

from ns_implicit._validation import as_float_array, check_positive_float


def check_design(X, y):
    """``(X, y, n, p)``: ``X`` 2-D (dense or ``scipy.sparse``, float32/64), ``y`` one entry per row."""
    X = as_float_array(X, "X", ndim=2, allow_sparse=True)
    y = as_float_array(y, "y", ndim=1, dtype=X.dtype)
    n, p = X.shape
    if n == 0 or p == 0:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}.")
    if y.shape[0] != n:
        raise ValueError(f"y must have one entry per row of X: X has {n} rows, "
                         f"y has {y.shape[0]} entries.")
    return X, y, n, p


def check_step_rule(step, rules):
    """``(fixed_step, rule)``: a positive float gives ``(γ, "fixed")``, a rule name ``(None, name)``."""
    if isinstance(step, str):
        if step not in rules:
            names = ", ".join(repr(r) for r in rules)
            raise ValueError(f"step must be {names} or a positive float; got {step!r}.")
        return None, step
    return check_positive_float(step, "step"), "fixed"


class RidgeWeight:
    """The ridge weight ``λ2`` of a step: the hyperparameter ``λ_T[0]`` (``lam2=None``) or a
    fixed number (``λ_T = ()``)."""

    def _init_ridge(self, lam2):
        self.fixed_lam2 = None if lam2 is None else check_positive_float(lam2, "lam2",
                                                                          strict=False)
        self.n_params = 1 if lam2 is None else 0
        self.param_names = ("lam2",) if lam2 is None else ()

    def ridge(self, lam_T):
        """``λ2``: the hyperparameter ``λ_T[0]`` or the fixed value."""
        return lam_T[0] if self.fixed_lam2 is None else self.fixed_lam2


def ridge_jvp(dT_dlam2, y):
    """``∂_λ2T y`` (zero when ``λ2`` is fixed: ``y`` is empty)."""
    return dT_dlam2 * y[0] if len(y) else np.zeros_like(dT_dlam2)


def ridge_vjp(dT_dlam2, v, n_params):
    """``(∂_λ2T)ᵀ v = <∂_λ2 T, v>`` (empty when ``λ2`` is fixed)."""
    return np.full(n_params, float(dT_dlam2 @ v) if n_params else 0.0, dtype=v.dtype)


class RidgeLinearization:
    """The ``λ2`` products of a gradient step's linearization (``dT_dlam2`` and ``step`` set by
    the subclass); ``∂_wT`` of a gradient step is symmetric."""

    symmetric = True

    def jvp_lam(self, y):
        """``∂_λ2T y``."""
        return ridge_jvp(self.dT_dlam2, y)

    def vjp_lam(self, v):
        """``(∂_λ2T)ᵀ v = <∂_λ2 T, v>``."""
        return ridge_vjp(self.dT_dlam2, v, self.step.n_params)


def batch_multiset(stream, J, n, batch_size):
    """``(rows, counts)``: the multiset union of the next ``J`` batches of ``stream`` (distinct
    rows and multiplicities), counted in chunks of ~1M indices (memory ``O(n)``)."""
    counts = np.zeros(n, dtype=np.int64)
    chunk = max(1, (1 << 20) // batch_size)
    for start in range(0, J, chunk):
        counts += np.bincount(stream.take(min(chunk, J - start)).ravel(), minlength=n)
    rows = np.flatnonzero(counts)
    return rows, counts[rows]
