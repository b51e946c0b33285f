"""The oracle variances of Assumption 5.2 for the least-squares minibatch step, exactly
(docs/theory.md §9): the first constants of Theorem 5.4.

For a minibatch ``ξ`` of ``b`` rows, ``T̂ - T = -γ(ḡ_ξ - ḡ)`` with ``g_i = x_i(x_iᵀw - y_i)`` the
per-row gradients (the ridge term is common and cancels), ``∂_wT̂ - ∂_wT = -γ(H_ξ - H)`` with
``H_i = x_i x_iᵀ``, and ``∂_λ2T̂ - ∂_λ2T = -γ'(λ2)(ḡ_ξ - ḡ)``. The mean of ``b`` rows drawn
with replacement (``sampling="iid"``) has ``E‖ā_ξ - ā‖² = S/b``, and of a uniformly random
``b``-subset (``"epoch"``: each batch of a shuffled epoch, marginally) ``S/b · (n - b)/(n - 1)``,
with ``S = (1/n) Σ_i ‖a_i - ā‖²`` (finite-population correction). Hence

    σ0² = γ² c S_g,    σ1² = γ² c S_H (Frobenius norm: a valid bound for the operator norm),
    σ2² = γ'² c S_g,   c = 1/b (iid) or (n - b)/((n - 1) b) (epoch).

(Within an epoch the batches are dependent, so Assumption 5.3's independence holds for
``"iid"`` only; the marginal variances above hold for both.)
"""

import numpy as np

SAMPLINGS = ("iid", "epoch")


def sampling_factor(n, b, sampling):
    """``c``: ``E‖mean of a batch - full mean‖² = c · S``."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}; got {sampling!r}.")
    if not 1 <= b <= n:
        raise ValueError(f"batch_size must lie in [1, n] = [1, {n}]; got {b}.")
    return 1.0 / b if sampling == "iid" else (n - b) / ((n - 1) * b) if n > 1 else 0.0


def least_squares_oracle_variances(step, lam2, w, batch_size, sampling="iid"):
    """``(σ0², σ1², σ2²)`` of the minibatch least-squares step at ``w`` (module docstring);
    ``step`` a :class:`~ns_implicit.steps.least_squares.LeastSquaresStep` with a dense ``X``."""
    X = np.asarray(step.X, dtype=np.float64)
    y = np.asarray(step.y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n = X.shape[0]
    c = sampling_factor(n, int(batch_size), sampling)
    gamma, dgamma = step.step_size(float(lam2))
    G = X * (X @ w - y)[:, None]                       # rows g_i
    S_g = float(np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1)))
    H = X.T @ X / n
    norms = np.sum(X ** 2, axis=1)                    # ‖x_i‖²
    # ‖x_i x_iᵀ - H‖_F² = ‖x_i‖⁴ - 2 x_iᵀ H x_i + ‖H‖_F²
    S_H = float(np.mean(norms ** 2 - 2.0 * np.einsum("ij,jk,ik->i", X, H, X)) + np.sum(H ** 2))
    return gamma ** 2 * c * S_g, gamma ** 2 * c * S_H, dgamma ** 2 * c * S_g
