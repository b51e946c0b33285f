"""Sparse logistic regression (docs/theory.md §15.7), p > n and with a ridge hyperparameter:
``exact`` against Newton's method on the support (numpy only), five-point differences at
certified points, every method against ``exact``, labels and dtypes."""

import numpy as np
import pytest

import ns_implicit as ni
from conftest import IMPLICIT_METHODS, UNROLLED_METHODS, assert_method_reaches_exact
from ns_implicit.maps.stochastic import StochasticCompositeMap
from ns_implicit.problems.sparse_logreg import SparseLogisticProblem

N, P = 80, 150


def _data(seed=0, n=N, p=P, dtype=np.float64, zero_one=True):
    rng = np.random.default_rng(seed)
    X, X_val = rng.standard_normal((n, p)), rng.standard_normal((200, p))
    beta = np.zeros(p)
    beta[:5] = 2.0 * rng.standard_normal(5)
    y = np.where(X @ beta + 0.5 * rng.standard_normal(n) > 0, 1.0, 0.0 if zero_one else -1.0)
    y_val = np.where(X_val @ beta > 0, 1.0, -1.0)
    return tuple(a.astype(dtype) for a in (X, y, X_val, y_val))


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ, written independently of the library's expit


def _newton_on_the_support(X, y, S, s, lam1, lam2):
    """The smooth problem on ``S`` with the signs ``s`` fixed, by Newton's method; returns
    ``w_S`` and the Hessian ``X_Sᵀ D X_S/n + λ2 I`` there."""
    y = np.where(y > 0, 1.0, -1.0)
    XS, n = X[:, S], X.shape[0]
    w = np.zeros(len(S))
    for _ in range(100):
        z = y * (XS @ w)
        grad = -XS.T @ (y * _sigmoid(-z)) / n + lam1 * s + lam2 * w
        H = (XS.T * (_sigmoid(z) * _sigmoid(-z))) @ XS / n + lam2 * np.eye(len(S))
        step = np.linalg.solve(H, grad)
        w -= step
        if np.linalg.norm(step) <= 1e-15 * np.linalg.norm(w):
            break
    return w, H


@pytest.fixture(scope="module")
def fitted():
    problem = SparseLogisticProblem(*_data())
    lam = [0.1 * problem.lam1_max]
    w = problem.solve(lam, tol=1e-14, max_iter=1_000_000).w
    return problem, lam, w


def test_exact_equals_newton_on_the_support(fitted):
    problem, lam, w = fitted
    X, y, X_val, y_val = _data()
    assert problem.map.at(lam).q == 1.0  # λ2 = 0: averaged, contracts on the support
    S = np.flatnonzero(w)
    s = np.sign(w[S])
    w_S, H = _newton_on_the_support(X, y, S, s, lam[0], 0.0)
    np.testing.assert_allclose(w[S], w_S, rtol=1e-9)  # ISTA tol 1e-14 × cond(H) (~1e3)
    z = y_val * (X_val @ w)
    grad_E = -X_val.T @ (y_val * _sigmoid(-z)) / X_val.shape[0]
    g_ref = grad_E[S] @ -np.linalg.solve(H, s)  # dw_S/dλ1 = -H⁻¹ s
    g = ni.exact(problem.map.at(lam), w, problem.outer.grad_w(w)).value
    assert abs(g[0] - g_ref) <= 1e-8 * abs(g_ref)


def _five_point(problem, lam, k, h, w):
    """``∂E/∂λ_k`` by the five-point stencil (error O(h⁴)), with the sign pattern of ``w``
    certified at every stencil point (one smooth piece)."""
    vals = {}
    for d in (-2, -1, 1, 2):
        lam_d = np.array(lam, dtype=float)
        lam_d[k] += d * h
        w_d = problem.solve(lam_d, tol=1e-14, max_iter=1_000_000).w
        assert np.array_equal(np.sign(w_d), np.sign(w))
        vals[d] = problem.outer.value(w_d)
    return (vals[-2] - 8 * vals[-1] + 8 * vals[1] - vals[2]) / (12 * h)


@pytest.mark.parametrize("lam2", [0.0, None])
def test_exact_equals_finite_differences_at_certified_points(lam2):
    problem = SparseLogisticProblem(*_data(seed=1), lam2=lam2)
    lam = [0.1 * problem.lam1_max] if lam2 is not None else [0.1 * problem.lam1_max, 0.05]
    w = problem.solve(lam, tol=1e-14, max_iter=1_000_000).w
    g = ni.exact(problem.map.at(lam), w, problem.outer.grad_w(w)).value
    assert g.shape == (len(lam),)
    for k in range(len(lam)):
        fd = _five_point(problem, lam, k, 1e-3 * lam[k], w)
        # O(h⁴) with h/λ = 1e-3: ~1e-12; round-off of E: eps·E/h ~ 1e-11 relative
        assert abs(g[k] - fd) <= 1e-7 * abs(g[k])


@pytest.mark.parametrize("method", IMPLICIT_METHODS + UNROLLED_METHODS)
def test_every_method_reaches_exact(fitted, method):
    problem, lam, w = fitted
    assert_method_reaches_exact(problem, lam, w, method)


def test_labels_dtypes_and_refusals():
    a = SparseLogisticProblem(*_data(zero_one=True))
    b = SparseLogisticProblem(*_data(zero_one=False))
    lam = [0.1 * a.lam1_max]
    assert a.lam1_max == b.lam1_max
    w = a.solve(lam, tol=1e-13, max_iter=1_000_000).w
    np.testing.assert_array_equal(w, b.solve(lam, tol=1e-13, max_iter=1_000_000).w)
    X, y, X_val, y_val = _data()
    with pytest.raises(ValueError, match="y must hold binary labels"):
        SparseLogisticProblem(X, 2 * y + 1, X_val, y_val)
    with pytest.raises(ValueError, match="y_val must hold binary labels"):
        SparseLogisticProblem(X, y, X_val, y_val + 3)
    with pytest.raises(ni.NotContractiveError, match="lam2 > 0"):  # λ2 = 0: q = 1
        StochasticCompositeMap(SparseLogisticProblem(X, y, X_val, y_val).map, 10).at([0.01])
    f32 = SparseLogisticProblem(*_data(dtype=np.float32))
    w32 = f32.solve(lam, tol=1e-6, max_iter=1_000_000).w
    assert w32.dtype == np.float32
    g32 = ni.exact(f32.map.at(lam), w32, f32.outer.grad_w(w32)).value
    g64 = ni.exact(a.map.at(lam), w, a.outer.grad_w(w)).value
    assert g32.dtype == np.float32
    # float32 solve to 1e-6 times cond(H) ~ 1e3 on the support: 1e-3 relative
    np.testing.assert_allclose(g32, g64, rtol=1e-3)


# -- NSID on the logistic step's minibatch oracle --------------------------------------------
def _contractive_logreg():
    rng = np.random.default_rng(5)
    X, X_val = rng.standard_normal((400, 20)), rng.standard_normal((200, 20))
    beta = np.r_[2.0 * rng.standard_normal(5), np.zeros(15)]
    y = np.where(X @ beta + 0.5 * rng.standard_normal(400) > 0, 1.0, -1.0)
    problem = SparseLogisticProblem(X, y, X_val, np.sign(X_val @ beta), lam2=None)
    # λ2 > 0: q < 1, NSID's setting; λ1 with every |u_i| at least 0.17 τ from τ, so the
    # averaged point's selection is the solution's except with a small probability (Thm 5.4)
    lam = [0.1 * problem.lam1_max, 0.05]
    w = problem.solve(lam, tol=1e-14, max_iter=1_000_000).w
    return problem, lam, w, problem.outer.grad_w(w)


def test_nsid_with_full_batches_is_the_deterministic_recursion():
    # b = n: every batch is all the rows, T̂ = T, and NSID's recursion (19) is deterministic:
    # v_{k+1} = (1 - η_k) v_k + η_k (Aᵀ v_k + u), ĝ = Bᵀ v_K — recomputed here with the dense
    # selection of the exact map (the same sums up to their order: round-off)
    from ns_implicit.theory.sets import dense_pair

    problem, lam, w, u = _contractive_logreg()
    phi = problem.map.at(lam)
    F = StochasticCompositeMap(problem.map, 400).at(lam)
    K = 300
    res = ni.nsid(F, w, u, K=K, rng=np.random.default_rng(0))
    A, B = dense_pair(phi.selection(w), phi.dim, phi.n_hyper)
    beta = gamma = 2.0 / (1.0 - phi.q ** 2)
    v = np.zeros(phi.dim)
    for k in range(K):
        eta = beta / (gamma + k)
        v = (1 - eta) * v + eta * (A.T @ v + u)
    np.testing.assert_allclose(res.value, B.T @ v, rtol=1e-10)


def test_nsid_mean_squared_error_falls_with_k():
    # minibatches of 50 rows: E‖ĝ - g*‖² = O(1/K) (Theorem 5.4 with J ∝ K); over 8 seeds the
    # mean squared error at K = 1000 is below a third of that at K = 100 (10x nominal)
    problem, lam, w, u = _contractive_logreg()
    ref = ni.exact(problem.map.at(lam), w, u).value
    F = StochasticCompositeMap(problem.map, 50).at(lam)
    mse = {K: np.mean([np.sum((ni.nsid(F, w, u, K=K, rng=np.random.default_rng(s)).value
                               - ref) ** 2) for s in range(8)]) for K in (100, 1000)}
    assert mse[1000] <= mse[100] / 3


def test_minibatch_oracle_weights_a_row_multiset_by_hand():
    # rows 0, 1, 2 with multiplicities 1, 2, 5: T̂ and ∂_wT̂ are the weighted means over the
    # multiset, written out with numpy (the same sums: round-off)
    from ns_implicit.steps.minibatch_binary_logistic import MinibatchBinaryLogisticLinearization

    problem, lam, w, _ = _contractive_logreg()
    at = problem.map.T.at(np.array(lam[1:]))
    rows, counts = np.array([0, 1, 2]), np.array([1, 2, 5])
    lin = MinibatchBinaryLogisticLinearization(at, w, rows, counts)
    X, y = problem.map.T.X[rows], problem.map.T.y[rows]
    c = counts / counts.sum()
    z = y * (X @ w)
    sig = 1.0 / (1.0 + np.exp(z))  # σ(-z)
    grad = -(X.T @ (c * y * sig)) + lam[1] * w
    np.testing.assert_allclose(lin.value, w - at.gamma * grad, rtol=1e-12)
    x = np.random.default_rng(0).standard_normal(len(w))
    H = (X.T * (c * sig * (1 - sig))) @ X
    np.testing.assert_allclose(lin.jvp_w(x), x - at.gamma * (H @ x + lam[1] * x), rtol=1e-12)


# -- an unpenalised intercept ----------------------------------------------------------------
@pytest.fixture(scope="module")
def with_intercept():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    problem = SparseLogisticProblem(X[:400], y[:400], X[400:], y[400:], fit_intercept=True)
    lam = [0.2 * problem.lam1_max]  # 3 features: ISTA converges in ~6,000 steps
    w = problem.solve(lam, tol=1e-14, max_iter=1_000_000).w
    return problem, lam, w, X, y


def test_intercept_solution_matches_scikit_learn(with_intercept):
    import warnings

    linear_model = pytest.importorskip("sklearn.linear_model")
    problem, lam, w, X, y = with_intercept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # saga's iteration cap or deprecation notices
        # scikit-learn's C Σ log-loss + ‖w‖₁ is (1/n) Σ log-loss + λ1‖w‖₁ with C = 1/(n λ1);
        # its intercept is not penalised
        ref = linear_model.LogisticRegression(l1_ratio=1.0, C=1.0 / (400 * lam[0]),
                                              solver="saga", tol=1e-12,
                                              max_iter=200_000).fit(X[:400], y[:400])
    coef = problem.coef(w)
    assert np.abs(coef - ref.coef_.ravel()).max() <= 1e-6 * np.abs(ref.coef_).max()
    assert abs(problem.intercept(w) - ref.intercept_[0]) <= 1e-6 * abs(ref.intercept_[0])
    assert problem.lam1_max > lam[0] and 0 < np.count_nonzero(coef) < X.shape[1]


def test_intercept_hypergradient_equals_newton_on_the_support(with_intercept):
    problem, lam, w, X, y = with_intercept
    ys = np.where(y[:400] > 0, 1.0, -1.0)
    Xa = np.column_stack([X[:400], np.ones(400)])
    S = np.r_[np.flatnonzero(problem.coef(w)), Xa.shape[1] - 1]  # the support and b
    s = np.r_[np.sign(w[S[:-1]]), 0.0]  # b carries no ℓ1 term
    z = ys * (Xa @ w)
    H = (Xa[:, S].T * (_sigma(z) * _sigma(-z))) @ Xa[:, S] / 400
    yv = np.where(y[400:] > 0, 1.0, -1.0)
    Xv = np.column_stack([X[400:], np.ones(len(yv))])
    grad_E = -Xv.T @ (yv * _sigma(-yv * (Xv @ w))) / len(yv)
    g_ref = grad_E[S] @ -np.linalg.solve(H, s)  # ∂(w_S, b)/∂λ1 = -H⁻¹ (s, 0)
    phi = problem.map.at(lam)
    assert phi.q == 1.0  # the intercept's direction has no curvature bound: averaged
    g = ni.exact(phi, w, problem.outer.grad_w(w)).value[0]
    assert abs(g - g_ref) <= 1e-8 * abs(g_ref)
    with pytest.raises(TypeError, match="unpenalised intercept"):
        StochasticCompositeMap(problem.map, 50)


def _sigma(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def test_ridge_leaves_the_intercept_alone():
    # with λ2 > 0 the optimality conditions on (support, b) read
    # ∇ℓ_S + λ1 s + λ2 w_S = 0 and ∂ℓ/∂b = 0 (no ridge on b): Newton's method on them, by hand
    X, y, X_val, y_val = _data(seed=2, n=120, p=8)
    y = np.where(X[:, 0] + 0.5 > 0, 1.0, -1.0)  # an offset that needs an intercept
    problem = SparseLogisticProblem(X, y, X_val, y_val, lam2=0.5, fit_intercept=True)
    lam = [0.1 * problem.lam1_max]
    w = problem.solve(lam, tol=1e-14, max_iter=1_000_000).w
    Xa = np.column_stack([X, np.ones(len(y))])
    S = np.r_[np.flatnonzero(problem.coef(w)), Xa.shape[1] - 1]
    s, pen = np.r_[np.sign(w[S[:-1]]), 0.0], np.r_[np.ones(len(S) - 1), 0.0]
    v = w[S].copy()
    for _ in range(50):
        z = y * (Xa[:, S] @ v)
        grad = -Xa[:, S].T @ (y * _sigma(-z)) / len(y) + lam[0] * s + 0.5 * pen * v
        H = (Xa[:, S].T * (_sigma(z) * _sigma(-z))) @ Xa[:, S] / len(y) + np.diag(0.5 * pen)
        v -= np.linalg.solve(H, grad)
    np.testing.assert_allclose(w[S], v, rtol=1e-9)  # ISTA tol 1e-14 × conditioning
    assert abs(problem.intercept(w)) > 0.1
