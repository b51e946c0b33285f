"""The lasso with p > n (docs/theory.md §15.6): the map ``S_{λ1/L}(w - ∇f(w)/L)`` is averaged,
not contractive (``q = 1``), and the hypergradient is defined on the identified support where
``H[S, S]`` is positive definite. Checked against an independent computation on the support
(the lasso's normal equations), central finite differences at certified points, and every
method's convergence to ``exact`` with honest flags."""

import numpy as np
import pytest

import ns_implicit as ni
from conftest import sparse_regression_p_gt_n
from ns_implicit.methods.registry import METHODS
from ns_implicit.maps.stochastic import StochasticCompositeMap
from ns_implicit.theory.constants import elastic_net_constants

N, P, K = 60, 300, 10  # p > n, 10 true features


def _data(seed=0, n=N, p=P, k=K):
    return sparse_regression_p_gt_n(seed, n, p, k)


@pytest.fixture(scope="module")
def problem():
    return ni.LassoProblem(*_data())


def _solve(problem, lam1):
    return problem.solve([lam1], tol=1e-14, max_iter=500_000)


def _on_the_support(X, y, X_val, y_val, w, lam1):
    """Independent lasso hypergradient: on ``S = supp(w)`` with signs ``s``, the optimality
    condition ``X_Sᵀ(X_S w_S - y)/n + λ1 s = 0`` gives ``w_S = G⁻¹(X_Sᵀy - nλ1 s)`` and
    ``dw_S/dλ1 = -n G⁻¹ s`` with ``G = X_SᵀX_S``; ``E = ‖X_val w - y_val‖²/(2 n_val)``."""
    S = np.flatnonzero(w)
    s = np.sign(w[S])
    n = X.shape[0]
    G = X[:, S].T @ X[:, S]
    w_S = np.linalg.solve(G, X[:, S].T @ y - n * lam1 * s)
    dw_S = -n * np.linalg.solve(G, s)
    w_full = np.zeros(X.shape[1])
    w_full[S] = w_S
    grad_E = X_val.T @ (X_val @ w_full - y_val) / X_val.shape[0]
    return w_full, grad_E[S] @ dw_S


def test_lasso_with_more_features_than_samples_is_accepted(problem):
    phi = problem.map.at([0.1 * problem.lam1_max])
    assert phi.q == 1.0 and phi.n_hyper == 1  # averaged, not contractive
    res = _solve(problem, 0.1 * problem.lam1_max)
    assert res.converged and 0 < np.count_nonzero(res.w) <= N
    # the elastic-net map with the paper's step at lam2 = 0 is still refused (it may diverge)
    with pytest.raises(ni.NotContractiveError, match="step='lipschitz'"):
        ni.ElasticNetMap(*_data()[:2]).at([0.1, 0.0])


@pytest.mark.parametrize("ratio", [0.3, 0.1, 0.03])
def test_exact_equals_the_normal_equations_on_the_support(problem, ratio):
    X, y, X_val, y_val = _data()
    lam1 = ratio * problem.lam1_max
    w = _solve(problem, lam1).w
    w_ref, g_ref = _on_the_support(X, y, X_val, y_val, w, lam1)
    # the support is the lasso's: same point as the normal equations (ISTA tol 1e-14 times
    # the conditioning of G, ~1e2 here), and the inactive correlations stay below λ1
    np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-9 * np.abs(w_ref).max())
    corr = np.abs(X.T @ (X @ w_ref - y)) / N
    assert np.all(corr[w_ref == 0] < lam1 * (1 - 1e-6))
    g = ni.exact(problem.map.at([lam1]), w, problem.outer.grad_w(w)).value
    assert g.shape == (1,)
    assert abs(g[0] - g_ref) <= 1e-8 * abs(g_ref)  # float64 solves, cond(G) ~ 1e2


def test_exact_equals_central_differences_at_a_certified_point(problem):
    lam1, h = 0.1 * problem.lam1_max, 1e-3 * problem.lam1_max
    ws = [_solve(problem, lam1 + d).w for d in (-h, 0.0, h)]
    # certified: the same support and signs at λ1 - h, λ1, λ1 + h, so w_S is affine in λ1 on
    # [λ1 - h, λ1 + h] and E(w(λ1)) quadratic: the central difference has no truncation error
    assert all(np.array_equal(np.sign(w), np.sign(ws[1])) for w in ws)
    fd = (problem.outer.value(ws[2]) - problem.outer.value(ws[0])) / (2 * h)
    g = ni.exact(problem.map.at([lam1]), ws[1], problem.outer.grad_w(ws[1])).value[0]
    assert abs(g - fd) <= 1e-7 * abs(g)  # round-off of E (1e-16·E/h) and of the solves


@pytest.mark.parametrize("method", ["aid-cg", "aid-fp", "aid-gmres"])
def test_every_method_reaches_exact_with_honest_flags(problem, method):
    phi = problem.map.at([0.1 * problem.lam1_max])
    w = _solve(problem, 0.1 * problem.lam1_max).w
    u = problem.outer.grad_w(w)
    ref = ni.exact(phi, w, u).value
    res = METHODS[method].run(phi, w, u, iters=100_000, tol=1e-12)
    assert res.converged
    # tol 1e-12 on the adjoint system times its conditioning (1/(1 - q_S) ~ 1e2-1e3 for AID-FP)
    np.testing.assert_allclose(res.value, ref, rtol=1e-8)
    short = METHODS[method].run(phi, w, u, iters=2, tol=1e-12)
    assert not short.converged


def test_itd_certifies_with_the_support_contraction(problem):
    lam = [0.1 * problem.lam1_max]
    phi = problem.map.at(lam)
    w = _solve(problem, lam[0]).w
    u = problem.outer.grad_w(w)
    ref = ni.exact(phi, w, u).value
    q_S = phi.selection(w).active_block_norm()
    assert q_S < 1.0  # the contraction on the identified support
    long = ni.fixed_point_iteration(phi, tol=0, max_iter=6000, store_trajectory=True)
    res = ni.itd(phi, long.trajectory, problem.outer.grad_w(long.w))
    assert res.converged and np.isfinite(res.error_bound)
    np.testing.assert_allclose(res.value, ref, rtol=1e-8)
    short = ni.fixed_point_iteration(phi, tol=0, max_iter=20, store_trajectory=True)
    res = ni.itd(phi, short.trajectory, problem.outer.grad_w(short.w))
    assert not res.converged  # 20 steps: the support is not identified, nothing certified
    fwd = ni.itd_forward(phi, iters=100_000, tol=1e-11)
    assert fwd.converged
    np.testing.assert_allclose(fwd.value[:, 0] @ u, ref, rtol=1e-8)


def test_duplicated_active_feature_is_refused_by_name():
    X, y, X_val, y_val = _data(seed=1, p=40)
    j = 4  # a true feature, active at λ1 = λ1_max/10
    X = np.column_stack([X, X[:, j]])  # two identical columns: no unique lasso solution
    X_val = np.column_stack([X_val, X_val[:, j]])
    problem = ni.LassoProblem(X, y, X_val, y_val)
    lam1 = 0.1 * problem.lam1_max
    w = _solve(problem, lam1).w
    assert w[j] != 0 and w[-1] != 0  # ISTA from 0 keeps both copies active
    with pytest.raises(ni.NotContractiveError, match="singular.*lam2 > 0"):
        ni.exact(problem.map.at([lam1]), w, problem.outer.grad_w(w))


def test_tools_that_need_a_contraction_refuse_the_lasso(problem):
    phi = problem.map.at([0.1 * problem.lam1_max])
    w = _solve(problem, 0.1 * problem.lam1_max).w
    with pytest.raises(ni.NotContractiveError, match="lam2 > 0"):
        elastic_net_constants(phi, w)
    smap = StochasticCompositeMap(problem.map, 10)
    with pytest.raises(ni.NotContractiveError, match="lam2 > 0"):
        smap.at([0.1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lasso_on_a_tall_design_matches_the_elastic_net_at_zero_ridge(dtype):
    # n > p: μ > 0, the lasso map contracts (q < 1); its hypergradient in λ1 is the elastic
    # net's at λ2 = 0 (same fixed point, same selection; different steps γ do not matter)
    data = ni.make_sparse_regression(n_samples=400, n_features=20, n_informative=5, seed=2,
                                     dtype=dtype)
    lasso = ni.LassoProblem(data.X, data.y, data.X_val, data.y_val)
    enet = ni.ElasticNetProblem(data.X, data.y, data.X_val, data.y_val)
    lam1 = 0.2 * lasso.lam1_max
    phi = lasso.map.at([lam1])
    assert phi.q < 1.0 and phi.dtype == dtype
    tol = 1e-13 if dtype == np.float64 else 1e-6
    w = lasso.solve([lam1], tol=tol, max_iter=100_000).w
    u = lasso.outer.grad_w(w)
    g = ni.exact(phi, w, u).value
    g_enet = ni.exact(enet.map.at([lam1, 0.0]), w, u).value
    assert g.dtype == dtype
    rtol = 1e-10 if dtype == np.float64 else 1e-5  # the same solve, in the dtype's round-off
    np.testing.assert_allclose(g, g_enet[:1], rtol=rtol)


def test_cli_lasso_matches_the_normal_equations(tmp_path, capsys):
    import json

    from ns_implicit.cli import main

    X, y, X_val, y_val = _data()
    path = tmp_path / "lasso.npz"
    np.savez(path, X=X, y=y, X_val=X_val, y_val=y_val)
    lam1 = 0.1 * float(np.max(np.abs(X.T @ y)) / N)
    assert main(["hypergrad", "--problem", "lasso", "--data", str(path), "--lam1", str(lam1),
                 "--method", "aid-cg", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lam"] == [lam1] and len(out["hypergradient"]) == 1 and out["converged"]
    w = ni.LassoProblem(X, y, X_val, y_val).solve([lam1], tol=1e-14, max_iter=500_000).w
    _, g_ref = _on_the_support(X, y, X_val, y_val, w, lam1)
    # the CLI's inner tol 1e-12 (default) amplified by cond(G) ~ 1e2
    assert abs(out["hypergradient"][0] - g_ref) <= 1e-8 * abs(g_ref)
    # --lam2 names the problem's hyperparameters; NSID runs on the elastic net only: exit 2
    assert main(["hypergrad", "--problem", "lasso", "--data", str(path), "--lam2", "0.1"]) == 2
    assert "--lam2 does not apply to --problem lasso" in capsys.readouterr().err
    assert main(["hypergrad", "--problem", "lasso", "--data", str(path), "--lam1", str(lam1),
                 "--method", "nsid", "--batch-size", "10"]) == 2
    assert "elastic-net only" in capsys.readouterr().err


def test_cli_fit_intercept_is_the_centred_problem(tmp_path, capsys):
    import json

    from ns_implicit.cli import main

    X, y, X_val, y_val = _data(seed=3, n=200, p=30)
    y, y_val = y + 5.0, y_val + 5.0  # an offset only an intercept absorbs
    path = tmp_path / "shifted.npz"
    np.savez(path, X=X, y=y, X_val=X_val, y_val=y_val)
    assert main(["hypergrad", "--data", str(path), "--fit-intercept", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # by hand: centre both splits with the training means, then the plain problem
    xm, ym = X.mean(axis=0), y.mean()
    centred = ni.ElasticNetProblem(X - xm, y - ym, X_val - xm, y_val - ym)
    ref = centred.hypergradient([0.02, 0.002], method="exact", tol=1e-12).value
    np.testing.assert_allclose(out["hypergradient"], ref, rtol=1e-10)  # same data, same solve
    assert main(["hypergrad", "--data", str(path), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)["hypergradient"]
    assert not np.allclose(plain, ref, rtol=1e-3)  # the flag changes the problem


def test_a_centred_square_design_is_accepted_as_averaged():
    """Centring a square design (fit_intercept, n = p) leaves μ at round-off (~1e-17), not 0:
    q = 1 - γμ rounds to 1 and the map must be accepted as averaged (q = 1, §15.6), as with
    μ = 0 exactly, instead of being refused as not contractive."""
    import ns_implicit as ni

    data = ni.make_sparse_regression(n_samples=500, n_features=100, seed=3)  # n_train = p = 100
    P = ni.LassoProblem(data.X, data.y, data.X_val, data.y_val, fit_intercept=True)
    phi = P.map.at([0.02])
    assert phi.q == 1.0
    g = P.hypergradient([0.02], method="exact").value
    h = 1e-6
    fd = (P.outer_value([0.02 + h]) - P.outer_value([0.02 - h])) / (2 * h)
    np.testing.assert_allclose(g, [fd], rtol=1e-6)
