"""jaxopt: ``ProximalGradient`` on the elastic net with implicit differentiation
(``implicit_diff=True``: jaxopt differentiates the proximal-gradient fixed point, solving its
linear system by normal-equation CG to ``tol = 1e-10``), ``n_iter`` inner iterations with
``tol = 0`` and the fixed step ``1/(L + λ2)``; float64. The function for a given ``n_iter``
is compiled in ``pre_run_hook`` (not timed). Elastic-net problems only.
"""

import numpy as np

from benchopt import BaseSolver


class Solver(BaseSolver):
    name = "jaxopt-implicit"
    requirements = ["pip:jax", "pip:jaxopt"]
    parameters = {}
    sampling_strategy = "iteration"

    def skip(self, bundle):
        if bundle.kind != "elastic-net":
            return True, "the peer implements the elastic net only"
        return False, None

    def set_objective(self, bundle):
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        a = bundle.arrays
        dense = [x.toarray() if hasattr(x, "toarray") else np.asarray(x) for x in
                 (a["X"], a["X_val"])]
        self.X, self.X_val = jnp.asarray(dense[0]), jnp.asarray(dense[1])
        self.y, self.y_val = jnp.asarray(np.asarray(a["y"])), jnp.asarray(np.asarray(a["y_val"]))
        self.lam = jnp.asarray(np.asarray(bundle.lam, dtype=float))
        L = float(np.linalg.norm(dense[0], 2) ** 2 / dense[0].shape[0])
        self.step = 1.0 / (L + float(bundle.lam[1]))
        self.fn, self.fn_iter = None, None

    def _build(self, n_iter):
        import functools
        import jax
        import jax.numpy as jnp
        from jaxopt import ProximalGradient, linear_solve, prox
        X, y, X_val, y_val = self.X, self.y, self.X_val, self.y_val
        n, n_val = X.shape[0], X_val.shape[0]

        def smooth(w, lam2):
            r = X @ w - y
            return r @ r / (2 * n) + 0.5 * lam2 * (w @ w)

        solver = ProximalGradient(
            fun=smooth, prox=prox.prox_lasso, maxiter=max(int(n_iter), 1), tol=0.0,
            stepsize=self.step, acceleration=False, implicit_diff=True,
            implicit_diff_solve=functools.partial(linear_solve.solve_normal_cg, tol=1e-10,
                                                  maxiter=10_000))

        def outer(lam):
            w = solver.run(jnp.zeros(X.shape[1]), lam[0], lam[1]).params
            r = X_val @ w - y_val
            return r @ r / (2 * n_val), w

        self.fn = jax.jit(jax.value_and_grad(outer, has_aux=True))
        self.fn_iter = n_iter

    def pre_run_hook(self, n_iter):
        if self.fn_iter != n_iter:
            self._build(n_iter)
            self.fn(self.lam)[1].block_until_ready()  # compile outside the timed run

    def run(self, n_iter):
        if int(n_iter) < 1:
            self.grad, self.w = np.zeros(2), np.zeros(self.X.shape[1])
            return
        (_, w), grad = self.fn(self.lam)
        self.grad, self.w = np.asarray(grad.block_until_ready()), np.asarray(w)

    def get_result(self):
        return dict(grad=self.grad, w=self.w)
