"""Kernels of the multinomial logistic (softmax cross-entropy) step, docs/theory.md §11.3.

Row-wise pieces only; the products with the design (``X̃ W``, ``X̃ᵀ R``) are BLAS calls
made by :mod:`ns_implicit.steps.logistic`. With ``P = softmax(Z)`` row-wise and ``Y`` the
one-hot labels:

    softmax_cross_entropy:  P, R = P - Y and Σ_i CE_i = Σ_i [logsumexp(z_i) - z_{i,y_i}]
    softmax_jvp_rows:       dP = P ⊙ Z - P ⊙ ((P ⊙ Z) 1) 1ᵀ   (the softmax Jacobian times Z;
                            it is symmetric, so the same kernel gives the VJP)
    noise_vjp_rows:         out = s (R Vᵀ + D Wᵀ)              (docs/theory.md §11.3, VJP w.r.t. the noise)

Reductions are accumulated in float64 whatever the dtype of the arrays.
"""

import numpy as np

from ns_implicit._jit import njit


@njit
def softmax_cross_entropy(Z, labels, P, R):
    """``P = softmax(Z)``, ``R = P - onehot(labels)``; returns ``Σ_i CE(z_i, y_i)`` (float64).

    ``labels`` must lie in ``[0, c)`` (checked by the callers).
    """
    n, c = Z.shape
    total = 0.0
    for i in range(n):
        m = Z[i, 0]
        for k in range(1, c):
            if Z[i, k] > m:
                m = Z[i, k]
        s = 0.0
        for k in range(c):
            e = np.exp(Z[i, k] - m)
            P[i, k] = e
            s += e
        for k in range(c):
            P[i, k] = P[i, k] / s
            R[i, k] = P[i, k]
        y = labels[i]
        R[i, y] -= 1.0
        total += np.log(s) + m - Z[i, y]
    return total


@njit
def softmax_jvp_rows(P, Z, out):
    """``out[i] = P[i] ⊙ Z[i] - P[i] <P[i], Z[i]>``: the softmax Jacobian at row ``i`` times ``Z[i]``.

    ``(diag(p) - p pᵀ)`` is symmetric, so this is also the vector-Jacobian product.
    """
    n, c = P.shape
    for i in range(n):
        dot = 0.0
        for k in range(c):
            dot += P[i, k] * Z[i, k]
        for k in range(c):
            out[i, k] = P[i, k] * (Z[i, k] - dot)


@njit
def noise_vjp_rows(R, D, V, W, scale, out):
    """``out = scale (R Vᵀ + D Wᵀ)``: ``R, D`` are ``(p, c)``, ``V, W`` are ``(f, c)``, ``out`` ``(p, f)``.

    With ``R = P - Y`` and ``D = softmax_jvp(P, X̃ V)`` on the poisoned rows and
    ``scale = -γ/n`` this is the transpose product of ``∂T/∂Λ`` with ``V`` (docs/theory.md §11.3).
    """
    p, c = R.shape
    f = V.shape[0]
    for i in range(p):
        for j in range(f):
            acc = 0.0
            for k in range(c):
                acc += R[i, k] * V[j, k] + D[i, k] * W[j, k]
            out[i, j] = scale * acc
