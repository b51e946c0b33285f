"""A sparse design: ``scipy.sparse`` CSC matrix with 5% nonzeros (n = 300 training rows,
p = 500 > n), seeded; the ns_implicit solvers and sparse-ho use it as is, jaxopt and PyTorch
on its dense copy."""

import numpy as np

from benchopt import BaseDataset


class Dataset(BaseDataset):
    name = "enet-sparse-design"
    requirements = []
    parameters = {"seed": [0], "density": [0.05], "lam1_ratio": [0.1], "lam2": [0.01]}

    def get_data(self):
        import scipy.sparse as sp
        from benchmark_utils import elastic_net, lam1_max
        rng = np.random.default_rng(self.seed)
        n, n_val, p = 300, 300, 500
        X_all = sp.random(n + n_val, p, density=self.density, format="csc", random_state=rng,
                          data_rvs=rng.standard_normal)
        beta = np.zeros(p)
        beta[rng.choice(p, 20, replace=False)] = rng.standard_normal(20)
        y_all = X_all @ beta + 0.1 * rng.standard_normal(n + n_val)
        X, X_val = X_all[:n].tocsc(), X_all[n:].tocsc()
        y, y_val = y_all[:n], y_all[n:]
        lam1 = self.lam1_ratio * lam1_max(X, y)
        return dict(bundle=elastic_net(self.name, X, y, X_val, y_val, [lam1, self.lam2]))
