"""The multinomial logistic gradient step ``T`` of data poisoning, docs/theory.md §11.3.

Training rows ``X`` (n × f), labels ``y ∈ {0, …, c-1}``, weights ``W`` (f × c). The rows
``i_1, …, i_p`` are poisoned: the hyperparameter is the noise ``Λ`` (p × f) added to them,
``X̃(Λ) = X + MΛ``. With ``P = softmax(X̃W)`` row-wise and ``Y`` one-hot,

    ℓ(W; Λ) = (1/n) Σ_i CE(W ᵀx̃_i, y_i),     ∇_Wℓ = X̃ᵀ(P - Y)/n,
    T(W, Λ) = W - γ (∇_Wℓ(W; Λ) + λ2 W)      (γ constant: it does not depend on Λ).

``W`` and ``Λ`` travel as flat C-order vectors ``w = W.ravel()`` (length ``f·c``) and
``λ = Λ.ravel()`` (length ``p·f``) so that the generic methods apply.

Derivatives at ``(W, Λ)`` (docs/theory.md §11.3), all matrix-free:

* ``∇²ℓ[V] = X̃ᵀ dP/n`` with ``dP = P ⊙ Z - P ⊙ ((P ⊙ Z)1)1ᵀ``, ``Z = X̃V``;
  ``∂_wT = I - γ(∇²ℓ + λ2 I)`` is symmetric.
* ``∂_ΛT[E] = -(γ/n)(Eᵀ R_I + X̃_Iᵀ softmax'(P_I)[E W])`` with ``R = P - Y`` (rows ``I`` only).
* ``(∂_ΛT)ᵀ[V] = -(γ/n)(R_I Vᵀ + D_I Wᵀ)``, ``D_I = softmax'(P_I)[X̃_I V]`` (rows ``I`` of the
  ``n × f`` matrix of docs/theory.md §11.3; the other rows carry no hyperparameter).

Storage: the poisoned rows are kept as one ``p × f`` block and the clean rows as another,
so a noisy design costs only ``p × f`` new numbers and ``X̃W = [X̃_I W; X_rest W]``.

Step rules (``step=``):

``"paper"``
    ``γ = 2/(L' + μ' + 2λ2)`` with ``L', μ'`` the extreme eigenvalues of ``X̃ᵀX̃/n`` at the
    reference noise divided by ``opt_L_mu_div`` (the paper's 10; default ``c``, which is 10
    for MNIST); ``q`` from the same divided values,
    ``q = max(|1 - γ(L' + λ2)|, |1 - γ(μ' + λ2)|)``. This is the authors' estimate, not a
    proof: ``∇²ℓ(0) = X̃ᵀX̃/n ⊗ (I/c - 11ᵀ/c²)`` has top eigenvalue ``L/c``, so with the
    divisor ``c`` the rule is exact at ``W = 0``; elsewhere the softmax curvature is smaller
    in practice. (A divisor larger than ``c`` makes the iteration oscillate near ``W = 0``.)
``"safe"``
    ``γ = 1/(L/2 + λ2)``. Since ``0 ⪯ diag(p) - ppᵀ ⪯ I/2`` (Gershgorin), ``0 ⪯ ∇²ℓ ⪯ (L/2) I``
    and ``q = max(|1 - γλ2|, |1 - γ(L/2 + λ2)|)`` is a proven contraction factor; the factor
    two of headroom keeps ``q < 1`` while the noise at most doubles ``L``.
a float
    a fixed ``γ``, with the proven ``q`` of the safe rule.

``L`` (and ``μ``) are recomputed for every noise ``Λ`` by :meth:`MultinomialLogisticStep.spectrum`
so that the contraction check follows the attack.
"""

import copy

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from ns_implicit._validation import as_float_array, check_positive_float
from ns_implicit.errors import NotContractiveError
from ns_implicit.kernels.logistic import noise_vjp_rows, softmax_cross_entropy, softmax_jvp_rows

#: Largest feature count for which the spectrum of ``X̃ᵀX̃/n`` is computed densely.
DENSE_SPECTRUM_MAX = 3000
#: Largest active set for which :meth:`LogisticLinearization.jac_w_block` forms a dense block
#: (a float64 block of this size is 128 MB).
MAX_ACTIVE_BLOCK = 4096
STEP_RULES = ("paper", "safe")


def check_labels(y, n_classes, n_rows, name="y"):
    """Integer class labels in ``[0, n_classes)``, one per row."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional (one label per row); got shape {arr.shape}.")
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} must have one label per row: {n_rows} rows, {arr.shape[0]} labels.")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold integer class labels; got non-integer values.")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels; got dtype {arr.dtype}.")
    labels = arr.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{name} has labels outside [0, {n_classes}) (min {labels.min()}, "
                         f"max {labels.max()}); relabel the classes 0..{n_classes - 1} or set "
                         f"n_classes.")
    return np.ascontiguousarray(labels)


def check_noise(noise, shape, dtype, name="noise"):
    """The noise ``Λ`` as a ``(p, f)`` array (a flat vector of length ``p·f`` is accepted)."""
    arr = as_float_array(noise, name, dtype=dtype)
    p, f = shape
    if arr.shape == (p * f,):
        arr = arr.reshape(p, f)
    if arr.shape != (p, f):
        raise ValueError(f"{name} must have shape (n_poison, n_features) = ({p}, {f}) or be a "
                         f"flat vector of length {p * f}; got shape {arr.shape}.")
    return arr


def check_poison_idx(poison_idx, n):
    """Distinct row indices in ``[0, n)``, at least one."""
    idx = np.asarray(poison_idx)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise TypeError(f"poison_idx must be a 1-D array of integer row indices; got "
                        f"dtype {idx.dtype}, shape {idx.shape}.")
    if idx.size == 0:
        raise ValueError("poison_idx is empty: choose at least one poisoned row.")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"poison_idx must index the {n} training rows; got values in "
                         f"[{idx.min()}, {idx.max()}].")
    if np.unique(idx).size != idx.size:
        raise ValueError("poison_idx has repeated rows; draw them without replacement "
                         "(numpy.random.Generator.choice(n, p, replace=False)).")
    return idx.astype(np.int64)


class MultinomialLogisticStep:
    """Inner map ``T`` of data poisoning (docs/theory.md §11.3): a gradient step on
    ``ℓ(W; Λ) + (λ2/2)‖W‖²`` with the noise ``Λ`` on the rows ``poison_idx``.

    Parameters
    ----------
    X : (n, f) array, float32 or float64 (kept). y : (n,) integer labels in ``[0, n_classes)``.
    poison_idx : (p,) distinct row indices receiving the noise.
    n_classes : c. lam2 : the ridge weight λ2 > 0 (fixed, not a hyperparameter).
    step : ``"paper"``, ``"safe"`` or a positive float (see the module docstring).
    noise_ref : the noise ``Λ_0`` at which ``L, μ`` (hence ``γ``) are computed; default 0.
    opt_L_mu_div : the divisor of ``L, μ`` in the paper's rule (default ``n_classes``: the
        paper's 10 on MNIST).
    """

    def __init__(self, X, y, poison_idx, *, n_classes=10, lam2=0.1, step="paper",
                 noise_ref=None, opt_L_mu_div=None):
        X = as_float_array(X, "X", ndim=2)
        n, f = X.shape
        if n == 0 or f == 0:
            raise ValueError(f"X must have at least one row and one column; got shape {X.shape}.")
        self.n_classes = int(n_classes)
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2; got {n_classes}.")
        labels = check_labels(y, self.n_classes, n)
        idx = check_poison_idx(poison_idx, n)
        rest = np.setdiff1d(np.arange(n), idx)
        self.dtype = X.dtype
        self.n, self.n_features, self.n_poison = n, f, idx.size
        self.poison_idx = idx
        #: row order of the internal blocks: poisoned rows first (in ``poison_idx`` order).
        self.row_order = np.concatenate([idx, rest])
        self.X_poison = np.ascontiguousarray(X[idx])
        self.X_rest = np.ascontiguousarray(X[rest])
        self.labels = np.ascontiguousarray(labels[self.row_order])
        self.lam2 = check_positive_float(lam2, "lam2")
        self.dim = f * self.n_classes
        self.n_hyper = self.n_poison * f
        self.noise_shape = (self.n_poison, f)
        self._gram_rest = None
        if n >= f and f <= DENSE_SPECTRUM_MAX:
            Xr = self.X_rest.astype(np.float64)
            self._gram_rest = Xr.T @ Xr
        if isinstance(step, str):
            if step not in STEP_RULES:
                raise ValueError(f"step must be 'paper', 'safe' or a positive float; got {step!r}.")
            self.rule = step
        else:
            self.rule = "fixed"
            self.gamma = check_positive_float(step, "step")
        self.opt_L_mu_div = (float(self.n_classes) if opt_L_mu_div is None
                             else check_positive_float(opt_L_mu_div, "opt_L_mu_div"))
        self._set_reference(noise_ref)

    def _set_reference(self, noise_ref):
        """Compute ``L, μ`` at the reference noise and, for the paper/safe rules, ``γ``."""
        ref = (np.zeros(self.noise_shape, self.dtype) if noise_ref is None
               else check_noise(noise_ref, self.noise_shape, self.dtype, "noise_ref"))
        self.L_ref, self.mu_ref = self.spectrum(self.X_poison + ref)
        if self.rule == "paper":
            div = self.opt_L_mu_div
            self.gamma = 2.0 / ((self.L_ref + self.mu_ref) / div + 2.0 * self.lam2)
        elif self.rule == "safe":
            self.gamma = 1.0 / (self.L_ref / 2.0 + self.lam2)

    def with_noise_ref(self, noise_ref):
        """The same step (data shared, not copied) with ``γ`` recomputed at ``noise_ref``.

        The fixed point and its implicit derivative do not depend on ``γ`` (docs/theory.md §11.2),
        so this changes only the speed and the contraction factor.
        """
        new = copy.copy(self)
        new._set_reference(noise_ref)
        return new

    # -- step size and contraction -------------------------------------------
    def spectrum(self, X_poison_noisy):
        """``(L, μ)``: extreme eigenvalues of ``X̃ᵀX̃/n`` for the poisoned block ``X̃_I``.

        Dense when ``min(n, f) <= DENSE_SPECTRUM_MAX`` (the ``n × n`` Gram ``X̃X̃ᵀ/n`` when
        ``n < f``, with ``μ = 0``; else the ``f × f`` one); otherwise Lanczos for ``L`` and the
        lower bound ``μ = 0``.
        """
        Xp = np.asarray(X_poison_noisy, dtype=np.float64)
        if self.n < self.n_features and self.n <= DENSE_SPECTRUM_MAX:
            Xt = np.vstack([Xp, self.X_rest.astype(np.float64)])
            ev = scipy.linalg.eigvalsh(Xt @ Xt.T / self.n)
            return float(ev[-1]), 0.0
        if self._gram_rest is not None:
            ev = scipy.linalg.eigvalsh((self._gram_rest + Xp.T @ Xp) / self.n)
            return float(ev[-1]), float(max(ev[0], 0.0))
        Xr = self.X_rest

        def matvec(v):
            return (Xp.T @ (Xp @ v) + Xr.T @ (Xr @ v)) / self.n

        op = scipy.sparse.linalg.LinearOperator((self.n_features,) * 2, matvec=matvec,
                                                dtype=np.float64)
        L = scipy.sparse.linalg.eigsh(op, k=1, which="LA", return_eigenvectors=False)[0]
        return float(L), 0.0

    def contraction_factor(self, L, mu):
        """``q`` for a design with spectrum ``(L, μ)`` (see the module docstring)."""
        g, lam2 = self.gamma, self.lam2
        if self.rule == "paper":
            div = self.opt_L_mu_div
            return max(abs(1.0 - g * (L / div + lam2)), abs(1.0 - g * (mu / div + lam2)))
        return max(abs(1.0 - g * lam2), abs(1.0 - g * (L / 2.0 + lam2)))

    @property
    def n_params(self):
        return self.n_hyper

    def check_params(self, noise):
        """The noise ``Λ`` as a ``(p, f)`` array (a flat vector of length ``p·f`` is accepted)."""
        return check_noise(noise, self.noise_shape, self.dtype)

    def minibatch(self, batch_size):
        """The minibatch oracle ``T̂`` of this step (NSID/SID, the stochastic solver)."""
        from ns_implicit.steps.minibatch_logistic import MinibatchLogistic

        return MinibatchLogistic(self, batch_size)

    def at(self, noise):
        """``T(·, Λ)`` for one noise ``Λ`` (shape ``(p, f)`` or flat); raises
        :class:`~ns_implicit.errors.NotContractiveError` when ``q >= 1`` at this noise."""
        return LogisticStepAt(self, self.check_params(noise))


class LogisticStepAt:
    """``T(·, Λ)``: the noisy design ``X̃(Λ)`` as two row blocks, and the smooth part."""

    def __init__(self, step, noise):
        self.step = step
        self.noise = noise
        self.X_poison = step.X_poison + noise
        self.X_rest = step.X_rest
        self.gamma = step.dtype.type(step.gamma)
        self.lam2 = step.dtype.type(step.lam2)
        self.inv_n = step.dtype.type(1.0 / step.n)
        self.shape_w = (step.n_features, step.n_classes)
        self.lam = noise.reshape(-1)
        self.dgamma = None  # γ does not depend on Λ
        self.L, self.mu = self.spectrum()
        self.q = step.contraction_factor(self.L, self.mu)
        if not self.q < 1.0:
            kind = ("estimated by the paper's rule" if step.rule == "paper"
                    else "bounded with 0 <= Hessian <= L/2")
            raise NotContractiveError(
                f"the poisoning map is not a contraction at this noise: q = {self.q:.6g} >= 1 "
                f"({kind}; L = {self.L:.6g}, step = {step.gamma:.6g} computed at L_ref = "
                f"{step.L_ref:.6g}). The noise has grown the spectrum of the design: rebuild the map "
                "with noise_ref set to this noise (map.with_noise_ref(noise)), or use a smaller step.")

    def check_point(self, w, name="w"):
        """Validate a point: the flat weights ``W`` (length ``f·c``) or ``W`` itself."""
        w = as_float_array(w, name, dtype=self.step.dtype)
        if w.shape == self.shape_w:
            w = w.reshape(-1)
        if w.shape != (self.step.dim,):
            raise ValueError(f"{name} must be the flat weights of length f*c = {self.step.dim} "
                             f"(or shape {self.shape_w}); got shape {w.shape}.")
        return w

    def evaluate(self, w, out):
        """``out = T(w, Λ) = w - γ(∇ℓ(w) + λ2 w)``."""
        out[:] = w - self.gamma * (self.gradient(w) + self.lam2 * w)

    def spectrum(self):
        return self.step.spectrum(self.X_poison)

    def matmul(self, V):
        """``X̃ V`` (n × c), rows in the internal order (poisoned rows first)."""
        p = self.step.n_poison
        out = np.empty((self.step.n, V.shape[1]), dtype=self.step.dtype)
        np.dot(self.X_poison, V, out=out[:p])
        np.dot(self.X_rest, V, out=out[p:])
        return out

    def rmatmul(self, R):
        """``X̃ᵀ R`` (f × c) for an ``n × c`` array ``R`` in the internal row order."""
        p = self.step.n_poison
        return self.X_poison.T @ R[:p] + self.X_rest.T @ R[p:]

    def forward(self, w):
        """``(P, R, Σ_i CE_i)`` at ``W = w.reshape(f, c)``."""
        Z = self.matmul(w.reshape(self.shape_w))
        P = np.empty_like(Z)
        R = np.empty_like(Z)
        total = softmax_cross_entropy(Z, self.step.labels, P, R)
        return P, R, total

    def gradient(self, w):
        """``∇_Wℓ(W; Λ)`` as a flat vector."""
        _, R, _ = self.forward(w)
        return (self.rmatmul(R) * self.inv_n).ravel()

    def loss(self, w):
        """``ℓ(W; Λ)``: the mean training cross-entropy."""
        return self.forward(w)[2] / self.step.n

    def hessian_vector(self, P, v):
        """``∇²ℓ[V]`` (flat) at the softmax outputs ``P``."""
        V = v.reshape(self.shape_w)
        dP = np.empty_like(P)
        softmax_jvp_rows(P, self.matmul(V), dP)
        return (self.rmatmul(dP) * self.inv_n).ravel()

    def linearize(self, w):
        """The value ``u = T(w, Λ)`` and the products of ``∂_wT``, ``∂_ΛT`` at ``(w, Λ)``."""
        return LogisticLinearization(self, w)


class LogisticLinearization:
    """``T`` and its derivatives at one point ``(w, Λ)`` (docs/theory.md §11.3)."""

    symmetric = True  # ∂_wT

    def __init__(self, at, w):
        self.at = at
        self.W = w.reshape(at.shape_w)
        self.P, self.R, total = at.forward(w)
        self.loss = total / at.step.n
        grad = (at.rmatmul(self.R) * at.inv_n).ravel()
        self.value = w - at.gamma * (grad + at.lam2 * w)

    def jvp_w(self, x):
        """``∂_wT x = x - γ(∇²ℓ[x] + λ2 x)``."""
        at = self.at
        return x - at.gamma * (at.hessian_vector(self.P, x) + at.lam2 * x)

    vjp_w = jvp_w  # ∂_wT is symmetric

    def jvp_lam(self, y):
        """``∂_ΛT[E] = -(γ/n)(Eᵀ R_I + X̃_Iᵀ softmax'(P_I)[E W])`` for ``E = y.reshape(p, f)``."""
        at = self.at
        p = at.step.n_poison
        E = y.reshape(at.step.noise_shape)
        D = np.empty((p, at.step.n_classes), dtype=at.step.dtype)
        softmax_jvp_rows(self.P[:p], E @ self.W, D)
        out = E.T @ self.R[:p] + at.X_poison.T @ D
        return (-at.gamma * at.inv_n) * out.ravel()

    def vjp_lam(self, v):
        """``(∂_ΛT)ᵀ[V] = -(γ/n)(R_I Vᵀ + D_I Wᵀ)``, ``D_I = softmax'(P_I)[X̃_I V]`` (flat, p·f)."""
        at = self.at
        p = at.step.n_poison
        V = np.ascontiguousarray(v.reshape(at.shape_w))
        D = np.empty((p, at.step.n_classes), dtype=at.step.dtype)
        softmax_jvp_rows(self.P[:p], at.X_poison @ V, D)
        out = np.empty(at.step.noise_shape, dtype=at.step.dtype)
        noise_vjp_rows(self.R[:p], D, V, self.W, -at.gamma * at.inv_n, out)
        return out.ravel()

    def jac_w_block(self, S):
        """Dense ``(∂_wT)[S, S] = I - γ(∇²ℓ[S, S] + λ2 I)`` for flat indices ``S``.

        With ``a = (j, k)`` (feature, class), ``f_a = X̃[:, j]`` and ``g_a = f_a ⊙ P[:, k]``:
        ``∇²ℓ[a, b] = (δ_{k_a k_b} f_aᵀ g_b - g_aᵀ g_b)/n``; two ``n × |S|`` products,
        ``O(n|S|²)`` time and ``|S|²`` memory. Refuses ``|S| > MAX_ACTIVE_BLOCK``.
        """
        at = self.at
        S = np.asarray(S)
        if S.size > MAX_ACTIVE_BLOCK:
            raise ValueError(
                f"the active set has {S.size} entries, more than MAX_ACTIVE_BLOCK = "
                f"{MAX_ACTIVE_BLOCK}; a dense block would take {8 * S.size ** 2 / 1e6:.0f} MB. "
                "Use method='aid-cg' with a tight tol (e.g. 1e-12) instead of 'exact'.")
        j, k = np.divmod(S, at.step.n_classes)
        F = np.vstack([at.X_poison[:, j], at.X_rest[:, j]])
        G = F * self.P[:, k]
        H = ((F.T @ G) * (k[:, None] == k[None, :]) - G.T @ G) * at.inv_n
        block = -at.gamma * H
        block[np.diag_indices_from(block)] += 1.0 - at.gamma * at.lam2
        return block
