"""Shared helpers for the test suite."""

import numpy as np
import pytest

from ns_implicit import ElasticNetProblem, make_sparse_regression


def make_problem(n_train=60, p=20, seed=0, dtype=np.float64, **kwargs):
    """A seeded elastic-net problem with ``n_train`` training rows."""
    data = make_sparse_regression(n_samples=int(round(n_train / 0.2)), n_features=p,
                                  n_informative=min(p, max(1, p // 3)), seed=seed, dtype=dtype)
    return ElasticNetProblem(data.X, data.y, data.X_val, data.y_val, **kwargs)


def closed_form_jacobian(X, w, lam2):
    """Independent implicit-function-theorem Jacobian (docs/theory.md §11.2, §13 item 2):
    ``w'_S = -(H_SS + λ2 I)⁻¹ [sign(w_S), w_S]``, zero off the support ``S``."""
    n, p = X.shape
    S = np.flatnonzero(w)
    H = (X.T @ X) / n
    J = np.zeros((p, 2))
    if len(S):
        M = H[np.ix_(S, S)] + lam2 * np.eye(len(S))
        J[S] = -np.linalg.solve(M, np.column_stack([np.sign(w[S]), w[S]]))
    return J


def kink_margin(phi, w):
    """``min_i ||u_i| - τ|`` at ``u = T(w, λ)``: the distance of the point to the nearest kink."""
    u = phi.inner_point(w)
    return float(np.min(np.abs(np.abs(u) - phi.tau)))


@pytest.fixture
def small_problem():
    return make_problem()
