"""A PyTorch backend: reverse-mode differentiation through unrolled ISTA (ITD, docs/theory.md §7, §11.2).

Runs ``w_{t+1} = S_{γλ1}(w_t - γ(∇f(w_t) + λ2 w_t))`` from ``w_0 = 0`` with the λ2-dependent
step ``γ = 2/(L + μ + 2λ2)``, keeping autograd's graph, until the relative step falls below
``tol``; then ``E(w_t).backward()`` gives the hypergradient. ITD converges to the implicit
derivative at the rate ``O(t qᵗ)`` once the support is identified (docs/theory.md §8).

Soft-thresholding is written ``sign(u)·relu(|u| - τ)``: at a tie ``|u_i| = τ`` PyTorch's
``relu'(0) = 0`` makes the coordinate inactive (the library's tie rule, docs/theory.md §11.1).
Computations are in float64.

Requires the ``torch`` extra: ``pip install "ns_implicit[torch]"``.
"""

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("this example needs PyTorch: pip install 'ns_implicit[torch]'") from exc


def hypergradient(X, y, X_val, y_val, lam1, lam2, tol=1e-13, max_iter=20_000):
    """``[dE/dlam1, dE/dlam2]`` (the candidate convention of :mod:`ns_implicit.testing`)."""
    X, y = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    Xv = torch.as_tensor(X_val, dtype=torch.float64)
    yv = torch.as_tensor(y_val, dtype=torch.float64)
    n, p = X.shape
    H, b = X.T @ X / n, X.T @ y / n
    ev = torch.linalg.eigvalsh(H)
    L, mu = ev[-1], (ev[0].clamp(min=0.0) if n >= p else torch.zeros((), dtype=torch.float64))
    lam = torch.tensor([lam1, lam2], dtype=torch.float64, requires_grad=True)
    gamma = 2.0 / (L + mu + 2.0 * lam[1])
    w = torch.zeros(p, dtype=torch.float64)
    for _ in range(max_iter):
        u = w - gamma * (H @ w - b + lam[1] * w)
        w_new = torch.sign(u) * torch.relu(u.abs() - gamma * lam[0])
        step = (w_new - w).norm().item()
        w = w_new
        if step <= tol * w.norm().item():
            break
    r = Xv @ w - yv
    loss = r @ r / (2.0 * Xv.shape[0])
    loss.backward()
    return lam.grad.numpy().copy()
