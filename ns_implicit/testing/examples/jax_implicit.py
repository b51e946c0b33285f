"""A JAX backend: implicit differentiation of the ISTA fixed point with jaxopt (docs/theory.md §11.2).

``jaxopt.implicit_diff.custom_fixed_point`` differentiates ``w = Φ(w, λ)``,
``Φ(w, λ) = S_{γλ1}(w - γ(∇f(w) + λ2 w))`` with ``γ = 2/(L + μ + 2λ2)``, by solving the adjoint
system ``(I - ∂_wΦ)ᵀ v = ∇E(w)`` (here with a dense LU solve, exact for small ``p``); JAX's
automatic differentiation supplies ``∂_wΦ`` and ``∂_λΦ`` from the code of ``Φ`` below.

At a tie ``|u_i| = τ`` the derivative JAX gives to ``maximum(|u_i| - τ, 0)`` is 0.5 (it
splits ties evenly), a convex combination of the two selections (docs/theory.md §11.1); elsewhere it
is the mask ``1[|u| > τ]``. Computations are in float64 (``jax.enable_x64``).

Requires the ``jax`` extra: ``pip install "ns_implicit[jax]"``.
"""

import numpy as np

try:
    import jax
    import jax.numpy as jnp
    from jaxopt import implicit_diff, linear_solve
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("this example needs JAX and jaxopt: pip install 'ns_implicit[jax]'") from exc


#: Relative step tolerance and budget of the inner fixed-point iteration.
TOL, MAX_ITER = 1e-13, 100_000


def ista_map(w, lam, H, b, L, mu):
    """``Φ(w, λ)``: one proximal-gradient step of the elastic net."""
    gamma = 2.0 / (L + mu + 2.0 * lam[1])
    u = w - gamma * (H @ w - b + lam[1] * w)
    return jnp.sign(u) * jnp.maximum(jnp.abs(u) - gamma * lam[0], 0.0)


@implicit_diff.custom_fixed_point(ista_map, solve=linear_solve.solve_lu)
def solve_inner(w0, lam, H, b, L, mu):
    """Fixed-point iteration of :func:`ista_map` (not differentiated through: jaxopt
    differentiates the fixed-point equation instead). Same signature as ``ista_map``."""
    def not_done(state):
        w, step, t = state
        return (step > TOL * jnp.linalg.norm(w)) & (t < MAX_ITER)

    def advance(state):
        w, _, t = state
        w_new = ista_map(w, lam, H, b, L, mu)
        return w_new, jnp.linalg.norm(w_new - w), t + 1

    w, _, _ = jax.lax.while_loop(not_done, advance, (w0, jnp.inf, 0))
    return w


def validation_loss(lam, H, b, L, mu, X_val, y_val):
    """``E(w(λ)) = ‖X_val w(λ) - y_val‖² / (2 n_val)``."""
    w = solve_inner(jnp.zeros(H.shape[0], H.dtype), lam, H, b, L, mu)
    r = X_val @ w - y_val
    return r @ r / (2.0 * X_val.shape[0])


#: ``∇_λ E(w(λ))``, compiled once per array shape.
_grad_lam = jax.jit(jax.grad(validation_loss))


def hypergradient(X, y, X_val, y_val, lam1, lam2):
    """``[dE/dlam1, dE/dlam2]`` (the candidate convention of :mod:`ns_implicit.testing`)."""
    n, p = X.shape
    H, b = X.T @ X / n, X.T @ y / n
    ev = np.linalg.eigvalsh(H)
    L, mu = float(ev[-1]), (max(float(ev[0]), 0.0) if n >= p else 0.0)
    with jax.enable_x64(True):
        grad = _grad_lam(jnp.array([lam1, lam2]), jnp.asarray(H), jnp.asarray(b), L, mu,
                         jnp.asarray(X_val), jnp.asarray(y_val))
        return np.asarray(grad)
