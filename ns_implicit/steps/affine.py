"""The affine step of an equilibrium layer, ``T(z, θ) = W z + U x + b`` (docs/theory.md §15.8).

For a batch of ``m`` inputs ``X`` (m × k) the state is ``Z`` (m × d), flattened as
``z = Z.ravel()``, and ``T(Z, θ) = Z Wᵀ + X Uᵀ + 1 bᵀ``. The hyperparameters are the layer's
weights ``θ = (W.ravel(), U.ravel(), b)`` (length ``d² + d k + d``). With
:func:`~ns_implicit.operators.relu` this is the ReLU equilibrium layer
``z* = ReLU(W z* + U x + b)``.

``∂_zT [V] = V Wᵀ`` (not symmetric: AID-CG does not apply, ``exact`` solves by LU),
``∂_θT [dW, dU, db] = Z dWᵀ + X dUᵀ + 1 dbᵀ`` and its transpose
``V ↦ (VᵀZ, VᵀX, Vᵀ1)``. ``q = ‖W‖₂`` is the contraction factor (ReLU is nonexpansive);
``q >= 1`` is refused. There is no step size: ``γ = 1``.
"""

import numpy as np

from ns_implicit._validation import as_float_array
from ns_implicit.errors import NotContractiveError


class AffineStep:
    """``T(z, θ) = W z + U x + b`` on a batch of inputs (module docstring).

    Parameters
    ----------
    X : (m, k) array of inputs (or a single input of shape (k,)); float32 or float64.
    width : the layer's width ``d``.
    """

    n_params = None  # set per instance (d² + dk + d)

    def __init__(self, X, width):
        X = as_float_array(X, "X", dtype=None)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X must be a (m, k) array of inputs (m, k >= 1); got shape "
                             f"{X.shape}.")
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
            raise ValueError(f"width must be an integer >= 1; got {width!r}.")
        self.X, self.m, self.k, self.d = X, X.shape[0], X.shape[1], int(width)
        self.dtype = X.dtype
        self.dim = self.m * self.d
        self.n_params = self.d * self.d + self.d * self.k + self.d

    def pack(self, W, U, b):
        """``θ`` from the weights ``W`` (d × d), ``U`` (d × k), ``b`` (d)."""
        d, k = self.d, self.k
        W, U, b = (np.asarray(a, dtype=np.float64) for a in (W, U, b))
        for name, a, shape in (("W", W, (d, d)), ("U", U, (d, k)), ("b", b, (d,))):
            if a.shape != shape:
                raise ValueError(f"{name} must have shape {shape}; got {a.shape}.")
        return np.concatenate([W.ravel(), U.ravel(), b])

    def unpack(self, theta):
        """``(W, U, b)`` from ``θ`` (views)."""
        d, k = self.d, self.k
        return (theta[:d * d].reshape(d, d), theta[d * d:d * d + d * k].reshape(d, k),
                theta[d * d + d * k:])

    def check_params(self, theta):
        """``θ`` as a finite 1-D array of length ``d² + dk + d`` in the step's dtype."""
        theta = as_float_array(theta, "theta", ndim=1)
        if theta.shape[0] != self.n_params:
            raise ValueError(f"theta must have length d*d + d*k + d = {self.n_params} "
                             f"(d = {self.d}, k = {self.k}); got {theta.shape[0]}: build it "
                             "with step.pack(W, U, b).")
        return theta.astype(self.dtype, copy=False)

    def at(self, theta):
        """The step at ``θ``; raises :class:`NotContractiveError` when ``‖W‖₂ >= 1``."""
        return AffineStepAt(self, theta)


class AffineStepAt:
    """``T(·, θ)`` at one ``θ``."""

    def __init__(self, step, theta):
        self.step, self.lam = step, theta
        self.W, self.U, self.b = step.unpack(theta)
        self.q = float(np.linalg.norm(self.W.astype(np.float64), 2))
        if not self.q < 1.0:
            raise NotContractiveError(
                f"the equilibrium layer is not a contraction: ||W||_2 = {self.q:.6g} >= 1 "
                "(ReLU is nonexpansive, so ||W||_2 < 1 makes the layer one); rescale W, e.g. "
                "W * 0.9 / ||W||_2.")
        self.gamma = step.dtype.type(1.0)
        self.dgamma = None
        self._offset = step.X @ self.U.T + self.b  # X Uᵀ + 1 bᵀ, per θ

    def evaluate(self, z, out):
        """``out = T(z, θ)``."""
        Z = z.reshape(self.step.m, self.step.d)
        out[:] = (Z @ self.W.T + self._offset).ravel()

    def linearize(self, z):
        return AffineLinearization(self, z)


class AffineLinearization:
    """``T`` and its derivatives at one state (module docstring)."""

    symmetric = False  # ∂_zT = I_m ⊗ W

    def __init__(self, step_at, z):
        self.at, s = step_at, step_at.step
        self.Z = z.reshape(s.m, s.d)
        self.value = (self.Z @ step_at.W.T + step_at._offset).ravel()

    def _shape(self, v):
        return v.reshape(self.at.step.m, self.at.step.d)

    def jvp_w(self, x):
        return (self._shape(x) @ self.at.W.T).ravel()

    def vjp_w(self, v):
        return (self._shape(v) @ self.at.W).ravel()

    def jvp_lam(self, y):
        dW, dU, db = self.at.step.unpack(y)
        return (self.Z @ dW.T + self.at.step.X @ dU.T + db).ravel().astype(self.Z.dtype)

    def vjp_lam(self, v):
        V = self._shape(v)
        return np.concatenate([(V.T @ self.Z).ravel(), (V.T @ self.at.step.X).ravel(),
                               V.sum(axis=0)]).astype(v.dtype, copy=False)

    def jac_w_block(self, R):
        """Dense ``∂_zT[R, R]``: entry ``((i, a), (j, c)) = δ_ij W[a, c]`` for ``r = i d + a``."""
        d = self.at.step.d
        i, a = np.divmod(np.asarray(R), d)
        return np.where(i[:, None] == i[None, :], self.at.W[a[:, None], a[None, :]],
                        0.0).astype(self.Z.dtype)
