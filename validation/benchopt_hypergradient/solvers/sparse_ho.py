"""sparse-ho (Bertrand et al., 2020): ``ImplicitForward`` on its ``ElasticNet`` with the
``HeldOutMSE`` criterion, ``n_iter`` coordinate-descent epochs for the inner problem and for
the Jacobian. Shims: NumPy ≥ 1.24 removed ``np.float``, which sparse-ho still uses (aliased
to ``float`` before the import); the design is given as CSC when sparse (its coordinate
descent reads CSC columns; CSR silently gives wrong answers). Conventions: sparse-ho's
held-out criterion is ``‖X_val w − y_val‖²/n_val`` (twice ours) and it differentiates with
respect to ``log λ``, so ``∂E/∂λ = grad_logλ / (2λ)``. Not on PyPI: install from
https://github.com/QB3/sparse-ho (``pip install --no-deps .``, then ``celer hyperopt``).
Elastic-net problems only.
"""

import numpy as np

from benchopt import BaseSolver


class Solver(BaseSolver):
    name = "sparse-ho"
    requirements = ["pip:celer", "pip:hyperopt"]
    parameters = {}
    sampling_strategy = "iteration"

    def skip(self, bundle):
        if bundle.kind != "elastic-net":
            return True, "the peer implements the elastic net only"
        try:
            _import()
        except ImportError as exc:
            return True, f"sparse-ho is not installed ({exc})"
        return False, None

    def set_objective(self, bundle):
        import scipy.sparse as sp
        a = bundle.arrays
        if sp.issparse(a["X"]):
            X = sp.vstack([a["X"], a["X_val"]]).tocsc()
        else:
            X = np.vstack([a["X"], a["X_val"]])
        self.X, self.y = X, np.r_[a["y"], a["y_val"]]
        n = a["X"].shape[0]
        self.idx_train, self.idx_val = np.arange(n), np.arange(n, X.shape[0])
        self.lam = np.asarray(bundle.lam, dtype=float)

    def warm_up(self):
        self.run_once(2)

    def run(self, n_iter):
        ImplicitForward, HeldOutMSE, ElasticNet = _import()
        it = max(int(n_iter), 1)
        criterion = HeldOutMSE(self.idx_train, self.idx_val)
        algo = ImplicitForward(tol_jac=1e-12, n_iter_jac=it, max_iter=it)
        _, grad = criterion.get_val_grad(ElasticNet(), self.X, self.y, np.log(self.lam),
                                         algo.compute_beta_grad, max_iter=it, tol=1e-14)
        self.grad = np.asarray(grad, dtype=float) / (2.0 * self.lam)
        self.w = np.zeros(self.X.shape[1])
        self.w[criterion.mask0] = criterion.dense0

    def get_result(self):
        return dict(grad=self.grad, w=self.w)


def _import():
    if not hasattr(np, "float"):
        np.float = float  # shim: removed from NumPy in 1.24, still used by sparse-ho
    from sparse_ho import ImplicitForward
    from sparse_ho.criterion import HeldOutMSE
    from sparse_ho.models import ElasticNet
    return ImplicitForward, HeldOutMSE, ElasticNet
