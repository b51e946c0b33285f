"""Shared helpers for the test suite."""

import numpy as np
import pytest

from ns_implicit import ElasticNetProblem, make_sparse_regression


def make_problem(n_train=60, p=20, seed=0, dtype=np.float64, **kwargs):
    """A seeded elastic-net problem with ``n_train`` training rows."""
    data = make_sparse_regression(n_samples=int(round(n_train / 0.2)), n_features=p,
                                  n_informative=min(p, max(1, p // 3)), seed=seed, dtype=dtype)
    return ElasticNetProblem(data.X, data.y, data.X_val, data.y_val, **kwargs)


def solve_tightly(phi):
    """The fixed point of ``phi`` to round-off (relative step 1e-15), for finite differences."""
    from ns_implicit import fixed_point_iteration

    return fixed_point_iteration(phi, tol=1e-15, max_iter=1_000_000).w


def central_differences(cmap, outer, lam, indices=None, h_rel=1e-5):
    """``∂E(w(λ))/∂λ_i`` by central differences with ``h = h_rel·λ_i`` for the chosen ``indices``
    (all by default), the inner problem solved by :func:`solve_tightly`."""
    lam = np.asarray(lam, dtype=np.float64)
    indices = range(len(lam)) if indices is None else indices
    g = np.full(len(lam), np.nan)
    for i in indices:
        e = np.zeros_like(lam)
        e[i] = h_rel * lam[i]
        g[i] = (outer.value(solve_tightly(cmap.at(lam + e)))
                - outer.value(solve_tightly(cmap.at(lam - e)))) / (2 * e[i])
    return g


def closed_form_jacobian(X, w, lam2):
    """Independent implicit-function-theorem Jacobian (docs/theory.md §11.2, §13 item 2):
    ``w'_S = -(H_SS + λ2 I)⁻¹ [sign(w_S), w_S]``, zero off the support ``S``."""
    n, p = X.shape
    S = np.flatnonzero(w)
    H = (X.T @ X) / n
    J = np.zeros((p, 2))
    if len(S):
        M = H[np.ix_(S, S)] + lam2 * np.eye(len(S))
        J[S] = -np.linalg.solve(M, np.column_stack([np.sign(w[S]), w[S]]))
    return J


def numpy_enet_solution(X, y, lam1, lam2, iters=20_000):
    """The elastic-net solution by plain numpy ISTA, polished by the closed form on its support.

    Independent of the library (docs/theory.md §11.2): ``w_S = (H_SS + λ2 I)⁻¹(b_S - λ1 s_S)``
    with the support ``S`` and signs ``s`` found by ISTA (step ``1/(L + λ2)``). Returns
    ``(w, kkt_margin)`` where ``kkt_margin = min(λ1 - max_{j∉S} |b_j - (Hw)_j - λ2 w_j|,
    min_{i∈S} |w_i|)`` must be > 0 for the support (hence the closed form) to be right.
    """
    n = X.shape[0]
    H, b = X.T @ X / n, X.T @ y / n
    gamma = 1.0 / (np.linalg.eigvalsh(H)[-1] + lam2)
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        u = w - gamma * (H @ w - b + lam2 * w)
        w_next = np.sign(u) * np.maximum(np.abs(u) - gamma * lam1, 0.0)
        done = np.max(np.abs(w_next - w)) <= 1e-14 * max(np.max(np.abs(w_next)), 1e-300)
        w = w_next
        if done:
            break
    S = np.flatnonzero(w)
    signs = np.sign(w[S])
    w = np.zeros_like(w)
    w[S] = np.linalg.solve(H[np.ix_(S, S)] + lam2 * np.eye(len(S)), b[S] - lam1 * signs)
    if not np.array_equal(np.sign(w[S]), signs):
        return w, -1.0
    corr = b - H @ w - lam2 * w
    off = np.setdiff1d(np.arange(len(w)), S)
    margin = min(lam1 - (np.max(np.abs(corr[off])) if len(off) else 0.0),
                 np.min(np.abs(w[S])) if len(S) else np.inf)
    return w, float(margin)


def closed_form_hypergradient(X, y, X_val, y_val, lam):
    """``[∂E/∂λ1, ∂E/∂λ2] = Jᵀ ∇E(w*)`` with ``J`` of docs/theory.md §13 item 2 and
    ``E(w) = ‖X_v w - y_v‖²/(2 n_v)``, from :func:`numpy_enet_solution` (no library code)."""
    w, margin = numpy_enet_solution(X, y, lam[0], lam[1])
    assert margin > 1e-8, "the numpy reference did not find a nondegenerate support"
    grad_E = X_val.T @ (X_val @ w - y_val) / X_val.shape[0]
    return closed_form_jacobian(X, w, lam[1]).T @ grad_E


def kink_margin(phi, w):
    """``min_i ||u_i| - τ|`` at ``u = T(w, λ)``: the distance of the point to the nearest kink."""
    u = phi.inner_point(w)
    return float(np.min(np.abs(np.abs(u) - phi.tau)))


@pytest.fixture
def small_problem():
    return make_problem()


#: The methods checked against ``exact`` on every problem: the implicit ones at the solution,
#: the unrolled ones through ``problem.hypergradient`` (they solve their own trajectory).
IMPLICIT_METHODS = ("aid-cg", "aid-fp", "aid-gmres")
UNROLLED_METHODS = ("itd", "itd-forward")


def assert_method_reaches_exact(problem, lam, w, method, rtol=1e-8, tol=1e-12):
    """``method`` reaches ``exact`` at the solution ``w`` to ``rtol`` with ``converged`` (tol
    ``1e-12`` on the adjoint system times its conditioning 1/(1 - q_S) <= ~1e3 gives 1e-9), and
    an implicit method with a budget of one step does not claim convergence."""
    from ns_implicit import exact
    from ns_implicit.methods.registry import METHODS

    ref = exact(problem.map.at(lam), w, problem.outer.grad_w(w)).value
    if method in UNROLLED_METHODS:
        res = problem.hypergradient(lam, method=method, tol=tol, inner_iters=2_000_000)
    else:
        phi, u = problem.map.at(lam), problem.outer.grad_w(w)
        res = METHODS[method].run(phi, w, u, iters=100_000, tol=tol)
        assert not METHODS[method].run(phi, w, u, iters=1, tol=tol).converged
    assert res.converged
    assert np.linalg.norm(res.value - ref) <= rtol * np.linalg.norm(ref)


def sparse_regression_p_gt_n(seed, n, p, k, n_val=100, dtype=np.float64):
    """``(X, y, X_val, y_val)``: i.i.d. Gaussian designs (``p`` may exceed ``n``), ``k`` true
    features with weights ``2 z``, noise 0.1 on both splits."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:k] = 2.0 * rng.standard_normal(k)
    y = X @ beta + 0.1 * rng.standard_normal(n)
    X_val = rng.standard_normal((n_val, p))
    y_val = X_val @ beta + 0.1 * rng.standard_normal(n_val)
    return tuple(a.astype(dtype) for a in (X, y, X_val, y_val))


def shifted_regression(n=90, p=7, seed=0, offset=0.0):
    """``(X, y)``: Gaussian features shifted by ``offset`` (an intercept's centring matters),
    ``y`` from three active features plus noise 0.3 (the fold-Gram and lean-fold tests)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + offset
    w = np.zeros(p)
    w[:3] = (1.5, -2.0, 1.0)
    return X, X @ w + 0.3 * rng.standard_normal(n)
