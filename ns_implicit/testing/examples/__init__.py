"""Example backends written against the candidate convention of :mod:`ns_implicit.testing`.

Each module exposes ``hypergradient(X, y, X_val, y_val, lam1, lam2) -> [dE/dlam1, dE/dlam2]``
for the elastic net of docs/theory.md §11.2 with ``E(w) = ‖X_val w - y_val‖²/(2 n_val)``:

* :mod:`.numpy_implicit` — plain NumPy, ISTA then a dense implicit solve (no extras needed);
* :mod:`.jax_implicit` — JAX + jaxopt, implicit differentiation of the ISTA fixed point
  (extra ``jax``);
* :mod:`.torch_unrolled` — PyTorch, reverse mode through unrolled ISTA (extra ``torch``).

Check one with ``ns-implicit check-backend ns_implicit.testing.examples.numpy_implicit:hypergradient``.
"""
