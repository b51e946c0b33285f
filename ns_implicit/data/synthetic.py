"""The paper's seeded synthetic sparse-regression generator, docs/theory.md §12.1.

Matches the distributions of the authors' ``make_sparse_regression`` (not their bits):
``w_gen[i] = |N(0, 1)|`` on the first ``n_informative`` features, rows ``x ~ N(0, Σ)``,
``y = X w_gen + noise · N(0, 1)``, then a train / validation / test split.
"""

from dataclasses import dataclass

import numpy as np

from ns_implicit._validation import check_positive_float, check_positive_int


@dataclass
class SplitData:
    """Train / validation / test arrays and the generating coefficients."""

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    w_true: np.ndarray


def _covariance_factor(rng, n_informative, effective_rank):
    """Square root of Σ_II = U diag(s / s_max) Uᵀ with ``A ~ U[0,1)^{k×r} = U diag(s) Vᵀ``."""
    A = rng.random((n_informative, effective_rank))
    U, s, _ = np.linalg.svd(A, full_matrices=True)
    s_full = np.zeros(n_informative)
    s_full[: len(s)] = s / s.max()
    return U * np.sqrt(s_full)


def make_sparse_regression(n_samples=500, n_features=100, n_informative=30, noise=0.1,
                           correlated=False, effective_rank=30, val_size=0.4, test_size=0.4,
                           seed=3, dtype=np.float64):
    """Seeded synthetic data with the paper's split (defaults: docs/theory.md §12.2, Figure 1).

    ``val_size + test_size`` of the rows are held out, and the held-out part is split with
    ``test_size`` (as a fraction of it) going to test: defaults give 20% / 48% / 32%.
    """
    n_samples = check_positive_int(n_samples, "n_samples", minimum=3)
    n_features = check_positive_int(n_features, "n_features")
    n_informative = check_positive_int(n_informative, "n_informative", minimum=0)
    if n_informative > n_features:
        raise ValueError(f"n_informative={n_informative} must be <= n_features={n_features}.")
    noise = check_positive_float(noise, "noise", strict=False)
    effective_rank = check_positive_int(effective_rank, "effective_rank")
    for name, frac in (("val_size", val_size), ("test_size", test_size)):
        if not 0.0 < frac < 1.0:
            raise ValueError(f"{name} must lie in (0, 1); got {frac}.")
    if val_size + test_size >= 1.0:
        raise ValueError(f"val_size + test_size must be < 1; got {val_size + test_size}.")
    rng = np.random.default_rng(seed)
    w_true = np.zeros(n_features)
    w_true[:n_informative] = np.abs(rng.standard_normal(n_informative))
    X = rng.standard_normal((n_samples, n_features))
    if correlated and n_informative > 0:
        factor = _covariance_factor(rng, n_informative, effective_rank)
        X[:, :n_informative] = X[:, :n_informative] @ factor.T
    y = X @ w_true + noise * rng.standard_normal(n_samples)
    perm = rng.permutation(n_samples)
    n_held = int(round((val_size + test_size) * n_samples))
    n_test = int(round(test_size * n_held))
    train, val, test = perm[n_held:], perm[: n_held - n_test], perm[n_held - n_test: n_held]
    cast = lambda a: np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    return SplitData(cast(X[train]), cast(y[train]), cast(X[val]), cast(y[val]),
                     cast(X[test]), cast(y[test]), cast(w_true))
