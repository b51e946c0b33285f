"""A correlated design (docs/theory.md §12.3's generator: effective rank 30 of 100 features),
500 rows split as in §12.2, λ1 a fraction of λ1_max."""

from benchopt import BaseDataset


class Dataset(BaseDataset):
    name = "enet-correlated"
    requirements = []
    parameters = {"seed": [0], "lam1_ratio": [0.05], "lam2": [0.002]}

    def get_data(self):
        from ns_implicit.data.synthetic import make_sparse_regression
        from benchmark_utils import elastic_net, lam1_max
        d = make_sparse_regression(n_samples=500, n_features=100, correlated=True,
                                   effective_rank=30, noise=0.01, seed=self.seed)
        lam1 = self.lam1_ratio * lam1_max(d.X, d.y)
        return dict(bundle=elastic_net(self.name, d.X, d.y, d.X_val, d.y_val, [lam1, self.lam2]))
