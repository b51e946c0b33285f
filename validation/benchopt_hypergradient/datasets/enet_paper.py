"""The paper's synthetic elastic net (docs/theory.md §12.2): 100 training rows, p = 100,
seed 3, λ = (0.02, 0.002); Figure 1's first run."""

from benchopt import BaseDataset


class Dataset(BaseDataset):
    name = "enet-paper"
    requirements = []
    parameters = {"seed": [3], "lam1": [0.02], "lam2": [0.002]}

    def get_data(self):
        from ns_implicit.data.synthetic import make_sparse_regression
        from benchmark_utils import elastic_net
        d = make_sparse_regression(n_samples=500, n_features=100, seed=self.seed)
        return dict(bundle=elastic_net(self.name, d.X, d.y, d.X_val, d.y_val,
                                       [self.lam1, self.lam2]))
