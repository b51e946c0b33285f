"""The record every method returns."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class MethodResult:
    """``value`` is ``Jᵀu`` (reverse mode) or the Jacobian ``J`` (forward mode).

    ``iterations`` counts the method's own loop (linear-system or unrolled steps);
    ``residual`` is the method's last relative residual (0 for direct solves);
    ``history`` (when asked) holds the estimate after each iteration.
    """

    value: np.ndarray
    method: str
    iterations: int
    residual: float
    converged: bool
    history: list = field(default=None, repr=False)
