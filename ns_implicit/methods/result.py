"""The record every method returns."""

from dataclasses import dataclass, field
from math import isfinite

import numpy as np

from ns_implicit.errors import NonFiniteError


@dataclass
class MethodResult:
    """``value`` is ``Jᵀu`` (reverse mode) or the Jacobian ``J`` (forward mode).

    ``iterations`` counts the method's own loop (linear-system or unrolled steps);
    ``residual`` is the method's last relative residual (0 for direct solves);
    ``converged`` says the residual met the method's tolerance;
    ``history`` (when asked) holds the estimate after each iteration.

    Every record is finite: a NaN or infinite ``value`` or ``residual`` (float overflow on
    huge data) raises :class:`~ns_implicit.errors.NonFiniteError` instead of being returned.
    """

    value: np.ndarray
    method: str
    iterations: int
    residual: float
    converged: bool
    history: list = field(default=None, repr=False)

    def __post_init__(self):
        value = np.asarray(self.value)
        if not (isfinite(self.residual) and np.isfinite(value).all()):
            raise NonFiniteError(
                f"{self.method} produced a non-finite result (value {describe_values(value)}, "
                f"residual {self.residual}) from finite input: float overflow in {value.dtype}; "
                "rescale (standardise) X, y and the validation data, or compute in float64.")
        self.converged = bool(self.converged)


def describe_values(value, max_items=4):
    flat = np.asarray(value).reshape(-1)
    text = ", ".join(f"{v:.3g}" for v in flat[:max_items])
    return f"[{text}{', ...' if flat.size > max_items else ''}]"
