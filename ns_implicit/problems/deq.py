"""A ReLU equilibrium layer with a linear readout (docs/theory.md §15.8).

Inner: ``z* = ReLU(W z* + U x + b)`` for each of ``m`` inputs (the fixed point of
``relu ∘ AffineStep``, a contraction when ``‖W‖₂ < 1``). Outer: the squared loss of a fixed
linear readout, ``E(Z) = ‖Z r - t‖²/(2m)``. Hyperparameters: the layer's weights
``θ = (W, U, b)`` flattened (:meth:`ReLUEquilibriumProblem.pack`).
"""

import numpy as np

from ns_implicit._validation import as_float_array
from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.nonnegative import relu
from ns_implicit.problems.base import BilevelProblem
from ns_implicit.steps.affine import AffineStep


class ReadoutMSE:
    """``E(z) = ‖Z r - t‖²/(2m)`` with ``Z = z.reshape(m, d)``; ``∇_zE = ((Z r - t) rᵀ/m).ravel()``."""

    squared_error = True  # as ValidationMSE's: tuning one λ may minimise log E

    def __init__(self, readout, targets, m, d, n_hyper, dtype):
        self.r = as_float_array(readout, "readout", ndim=1, dtype=dtype)
        self.t = as_float_array(targets, "targets", ndim=1, dtype=dtype)
        if self.r.shape[0] != d:
            raise ValueError(f"readout must have length d = {d}; got {self.r.shape[0]}.")
        if self.t.shape[0] != m:
            raise ValueError(f"targets must have one entry per input (m = {m}); got "
                             f"{self.t.shape[0]}.")
        self.m, self.d, self.n_hyper = m, d, n_hyper

    def value(self, z, lam=None):
        res = z.reshape(self.m, self.d) @ self.r - self.t
        return float(res @ res) / (2.0 * self.m)

    def grad_w(self, z, lam=None):
        res = z.reshape(self.m, self.d) @ self.r - self.t
        return (np.outer(res, self.r) / self.m).ravel().astype(z.dtype, copy=False)

    def grad_lam(self, z, lam=None):
        return np.zeros(self.n_hyper, dtype=z.dtype)


class ReLUEquilibriumProblem(BilevelProblem):
    """Inputs, targets and a readout: the ReLU equilibrium layer as a bilevel problem.

    Parameters
    ----------
    X : (m, k) inputs (or one input, (k,)); width : the layer's width ``d``;
    targets : (m,) values the readout should produce; readout : (d,) fixed readout ``r``.
    tie_active : the derivative of ReLU taken at a zero pre-activation (False: 0).
    """

    def __init__(self, X, targets, readout, width, *, tie_active=False):
        T = AffineStep(X, width)
        self.map = CompositeMap(relu(tie_active=tie_active), T)
        self.outer = ReadoutMSE(readout, targets, T.m, T.d, self.map.n_hyper, T.dtype)

    def pack(self, W, U, b):
        """``θ`` from ``W`` (d × d), ``U`` (d × k), ``b`` (d)."""
        return self.map.T.pack(W, U, b)

    def unpack(self, theta):
        """``(W, U, b)`` from ``θ``."""
        return self.map.T.unpack(np.asarray(theta))
