"""Data poisoning as one bilevel problem, docs/theory.md §11.3, §12.4.

Inner: elastic-net multinomial logistic regression (``λ1 = 0.02``, ``λ2 = 0.1`` fixed) on
training images whose rows ``i_1, …, i_p`` carry the noise ``Λ`` (p × 784), solved as the
fixed point of the prox-gradient map :class:`~ns_implicit.maps.poisoning.PoisoningMap`.
Outer: ``E(W) = -(1/n_v) Σ CE(Wᵀx^v_i, y^v_i)`` — minimising ``E`` maximises the validation
cross-entropy (the attacker's goal); ``∇_2E = 0``. The hyperparameter is ``λ = Λ.ravel()``.

Methods (``hypergradient(noise, method)``; all reverse mode, nothing of size ``m = p·784``
other than vectors):

``aid-cg``
    The full system ``(I - Aᵀ)v = u`` is not symmetric, but rows outside the active set
    ``S`` of ``A`` and ``B`` vanish, so only ``(I - A[S, S])ᵀ v_S = u_S`` is solved, with
    ``I - A[S, S] = γ(∇²ℓ + λ2 I)[S, S]``: the Hessian of the smooth part of the inner
    objective restricted to ``S``, times ``γ > 0``. It is symmetric (a Hessian) and positive
    definite (``∇²ℓ ⪰ 0`` and ``λ2 > 0``), hence a valid conjugate-gradient target — for any
    step ``γ > 0``, including the paper's aggressive one, and converging in at most ``|S|``
    steps at a rate set by ``√cond``.
``exact``
    The same system by a direct (Cholesky, float64) solve: the restricted block is formed by
    :meth:`~ns_implicit.steps.logistic.LogisticLinearization.jac_w_block` from two
    ``n × |S|`` products (``O(n|S|²)`` time, ``|S|²`` memory). Chosen over a tightly
    converged CG because it is an independent yardstick (a second Krylov solve would agree
    with AID-CG by construction) and because ``|S|`` is small here: at the paper's
    ``λ1 = 0.02`` about 700 of the 7,840 weights are nonzero on MNIST (a 4 MB block). Above
    ``MAX_ACTIVE_BLOCK = 4096`` active weights it raises and points to ``aid-cg``.
``aid-fp``, ``aid-gmres``, ``itd``
    As for any map (AID-FP converges at the restricted contraction rate, slowly here:
    ``1 - γλ2 ≈ 0.996`` per step with the paper's step on MNIST; ITD stores the iterates).

Poisoned rows are drawn **without replacement** (:func:`choose_poisoned_rows`). The authors'
code drew them with replacement (``torch.randint``), so a row could be picked twice and then
received a single perturbation: their ``p`` rows were fewer distinct rows (about 26% instead
of 30% of the training set for ``p = 0.3 n``). Ours are ``p`` distinct rows.
"""

import numpy as np

from ns_implicit._validation import as_float_array, check_positive_int
from ns_implicit.bilevel.hypergradient import hypergradient
from ns_implicit.data.mnist import N_CLASSES, mnist_split
from ns_implicit.steps.logistic import check_labels
from ns_implicit.kernels.logistic import softmax_cross_entropy
from ns_implicit.maps.poisoning import PoisoningMap
from ns_implicit.methods.registry import method_names
from ns_implicit.solvers.fixed_point import fixed_point_iteration

#: Reverse-mode methods usable with a million hyperparameters.
#: Reverse-mode deterministic methods (forward modes would build p*f columns).
METHODS = method_names(("implicit", "unrolled"), forward=False)


def choose_poisoned_rows(n_train, n_poison, rng):
    """``n_poison`` distinct training rows (sorted), drawn with ``rng.choice(replace=False)``."""
    n_train = check_positive_int(n_train, "n_train")
    n_poison = check_positive_int(n_poison, "n_poison")
    if n_poison > n_train:
        raise ValueError(f"n_poison = {n_poison} exceeds the {n_train} training rows; "
                         "poisoned rows are distinct, so n_poison <= n_train.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (numpy.random.default_rng(seed)).")
    return np.sort(rng.choice(n_train, size=n_poison, replace=False))


class NegativeCrossEntropy:
    """``E(w) = -(1/n_v) Σ_i CE(Wᵀx_i, y_i)``; ``∇_1E = -X_valᵀ(P - Y)/n_v``; ``∇_2E = 0``."""

    def __init__(self, X_val, y_val, n_classes, n_hyper, dtype=None):
        self.X_val = as_float_array(X_val, "X_val", ndim=2, dtype=dtype)
        if self.X_val.shape[0] == 0:
            raise ValueError("X_val must have at least one row.")
        self.labels = check_labels(y_val, n_classes, self.X_val.shape[0], "y_val")
        self.n_classes, self.n_hyper = n_classes, n_hyper

    def _forward(self, w):
        Z = self.X_val @ w.reshape(self.X_val.shape[1], self.n_classes)
        P, R = np.empty_like(Z), np.empty_like(Z)
        return R, softmax_cross_entropy(Z, self.labels, P, R)

    def cross_entropy(self, w):
        """The mean validation cross-entropy (``= -E(w)``)."""
        return self._forward(w)[1] / self.X_val.shape[0]

    def value(self, w, lam=None):
        return -self.cross_entropy(w)

    def grad_w(self, w, lam=None):
        R, _ = self._forward(w)
        return -(self.X_val.T @ R).ravel() / w.dtype.type(self.X_val.shape[0])

    def grad_lam(self, w, lam=None):
        return np.zeros(self.n_hyper, dtype=w.dtype)


def accuracy(W, X, y):
    """Fraction of rows of ``X`` whose arg-max class under ``W`` (f × c) is ``y``."""
    return float(np.mean(np.argmax(X @ W, axis=1) == y))


class PoisoningProblem:
    """Training data with poisoned rows, validation (and test) data and the map, bundled.

    Parameters
    ----------
    X, y : training images (n × f) and labels; X_val, y_val : validation split (the attacker's
        objective); X_test, y_test : optional test split (for :meth:`accuracy`).
    poison_idx : distinct training rows receiving the noise.
    lam1, lam2, n_classes, step, noise_ref, tie_active : see
        :class:`~ns_implicit.maps.poisoning.PoisoningMap`.
    """

    def __init__(self, X, y, X_val, y_val, poison_idx, *, X_test=None, y_test=None, lam1=0.02,
                 lam2=0.1, n_classes=N_CLASSES, step="paper", noise_ref=None, tie_active=False):
        self.map = PoisoningMap(X, y, poison_idx, lam1=lam1, lam2=lam2, n_classes=n_classes,
                                step=step, noise_ref=noise_ref, tie_active=tie_active)
        f = self.map.T.n_features
        self.outer = NegativeCrossEntropy(X_val, y_val, n_classes, self.map.n_hyper,
                                          dtype=self.map.dtype)
        self._check_width(self.outer.X_val, "X_val", f)
        self.test = None
        if (X_test is None) != (y_test is None):
            raise ValueError("pass both X_test and y_test, or neither.")
        if X_test is not None:
            X_test = as_float_array(X_test, "X_test", ndim=2, dtype=self.map.dtype)
            self._check_width(X_test, "X_test", f)
            self.test = (X_test, check_labels(y_test, n_classes, X_test.shape[0], "y_test"))

    @staticmethod
    def _check_width(X, name, f):
        if X.shape[1] != f:
            raise ValueError(f"{name} has {X.shape[1]} columns but the training images have {f}: "
                             "all images must be flattened to the same width (784 for MNIST).")

    @classmethod
    def from_mnist(cls, n_poison=600, *, n_train=2000, n_val=1500, n_test=1500, seed=0,
                   mnist_dir=None, dtype=np.float64, **kwargs):
        """The §12.4 problem on real MNIST: a seeded split (:func:`~ns_implicit.data.mnist_split`)
        and ``n_poison`` distinct poisoned rows drawn by ``default_rng([seed, 1])``."""
        data = mnist_split(n_train, n_val, n_test, seed=seed, mnist_dir=mnist_dir, dtype=dtype)
        idx = choose_poisoned_rows(n_train, n_poison, np.random.default_rng([seed, 1]))
        problem = cls(data.X, data.y, data.X_val, data.y_val, idx, X_test=data.X_test,
                      y_test=data.y_test, **kwargs)
        problem.source = data.source
        return problem

    # -- shapes ----------------------------------------------------------------
    @property
    def noise_shape(self):
        return self.map.noise_shape

    @property
    def n_poison(self):
        return self.map.noise_shape[0]

    @property
    def n_hyperparameters(self):
        return self.map.n_hyper

    def zero_noise(self):
        return np.zeros(self.noise_shape, dtype=self.map.dtype)

    # -- solving and differentiating -------------------------------------------
    def solve(self, noise, **kwargs):
        """Train on the poisoned data: :func:`~ns_implicit.solvers.fixed_point.fixed_point_iteration`."""
        return fixed_point_iteration(self.map.at(noise), **kwargs)

    def outer_value(self, noise, *, tol=1e-13, max_iter=200_000):
        """``f(Λ) = E(w(Λ))`` with a tightly solved inner problem (for finite differences)."""
        return self.outer.value(self.solve(noise, tol=tol, max_iter=max_iter).w)

    def hypergradient(self, noise, method="aid-cg", **kwargs):
        """``∇f(Λ)`` (flat, length ``p·f``; see :func:`~ns_implicit.bilevel.hypergradient.hypergradient`)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)} for the poisoning "
                             f"problem (forward modes would build p*f columns); got {method!r}.")
        return hypergradient(self.map, self.outer, noise, method, **kwargs)

    def accuracy(self, w, split="test"):
        """Classification accuracy of the weights ``w`` on the ``"val"`` or ``"test"`` split."""
        W = self.map.weights(w)
        if split == "val":
            return accuracy(W, self.outer.X_val, self.outer.labels)
        if split == "test":
            if self.test is None:
                raise ValueError("this problem has no test split; pass X_test and y_test.")
            return accuracy(W, *self.test)
        raise ValueError(f"split must be 'val' or 'test'; got {split!r}.")
