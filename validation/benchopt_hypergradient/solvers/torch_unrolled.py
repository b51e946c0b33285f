"""PyTorch: unrolled ISTA differentiated by autograd (ITD in reverse mode, float64, CPU).

``w ← S_{γλ1}(w − γ(Xᵀ(Xw − y)/n + λ2 w))`` from ``w_0 = 0``, ``γ = 1/(L + λ2)``,
``L = ‖X‖₂²/n``, for ``n_iter`` steps, then ``∂E/∂λ`` by ``backward()``. PyTorch's
derivative of ``relu`` at 0 is 0 (its tie rule). Elastic-net problems only.
"""

import numpy as np

from benchopt import BaseSolver


class Solver(BaseSolver):
    name = "torch-unrolled-ista"
    requirements = ["pip:torch"]
    parameters = {}
    sampling_strategy = "iteration"

    def skip(self, bundle):
        if bundle.kind != "elastic-net":
            return True, "the peer implements the elastic net only"
        return False, None

    def set_objective(self, bundle):
        import torch
        a = bundle.arrays
        dense = [x.toarray() if hasattr(x, "toarray") else np.asarray(x) for x in
                 (a["X"], a["X_val"])]
        self.X, self.X_val = (torch.as_tensor(x, dtype=torch.float64) for x in dense)
        self.y = torch.as_tensor(np.asarray(a["y"]), dtype=torch.float64)
        self.y_val = torch.as_tensor(np.asarray(a["y_val"]), dtype=torch.float64)
        self.lam = np.asarray(bundle.lam, dtype=float)
        self.L = float(np.linalg.norm(dense[0], 2) ** 2 / dense[0].shape[0])

    def warm_up(self):
        self.run_once(2)

    def run(self, n_iter):
        import torch
        lam = torch.tensor(self.lam, dtype=torch.float64, requires_grad=True)
        n = self.X.shape[0]
        gamma = 1.0 / (self.L + lam[1])
        w = torch.zeros(self.X.shape[1], dtype=torch.float64)
        for _ in range(int(n_iter)):
            z = w - gamma * (self.X.T @ (self.X @ w - self.y) / n + lam[1] * w)
            w = torch.sign(z) * torch.relu(torch.abs(z) - gamma * lam[0])
        r = self.X_val @ w - self.y_val
        loss = (r @ r) / (2 * self.X_val.shape[0])
        if w.requires_grad:
            (grad,) = torch.autograd.grad(loss, lam)
            self.grad = grad.numpy().copy()
        else:
            self.grad = np.zeros(2)
        self.w = w.detach().numpy().copy()

    def get_result(self):
        return dict(grad=self.grad, w=self.w)
