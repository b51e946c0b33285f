"""Inner solvers of the implicit methods and the cheap set-up (docs/theory.md §16): the
coordinate-descent fixed point is the Φ-iteration's, its certificate is honest, the choice of
solver is validated, and the certified upper bound of ``λ_max(XᵀX/n)`` is never below it."""

import numpy as np
import pytest
import scipy.sparse as sp

import ns_implicit as ni
from ns_implicit.solvers.anderson import anderson_iteration
from ns_implicit.solvers.coordinate_descent import coordinate_descent, supports_cd
from ns_implicit.solvers.inner import solve_inner
from ns_implicit.steps.least_squares import (LeastSquaresStep, certified_upper_bound,
                                             rigorous_cap)


def _data(n, p, seed, dtype, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if sparse:
        X = sp.random(n, p, density=0.2, random_state=seed, format="csr") * 3.0
        X = X.astype(dtype)
    else:
        X = X.astype(dtype)
    w_true = np.zeros(p)
    w_true[:5] = rng.standard_normal(5) * 2
    y = (X @ w_true + 0.1 * rng.standard_normal(n)).astype(dtype)
    Xv = rng.standard_normal((30, p)).astype(dtype)
    yv = (Xv @ w_true).astype(dtype)
    return X, y, Xv, yv


def _problems(dtype, sparse):
    """Every least-squares problem of the suite: elastic net on the Gram path (n >= 2p) and
    through X, lasso with p > n, weighted lasso, nonnegative lasso."""
    out = []
    X, y, Xv, yv = _data(80, 30, 0, dtype, sparse)          # n >= 2p: Gram path when dense
    enet = ni.ElasticNetProblem(X, y, Xv, yv)
    out.append(("enet", enet, [0.1 * enet.lam1_max, 0.05]))
    X, y, Xv, yv = _data(50, 140, 1, dtype, sparse)         # p > n, p > 128: bound, no Gram
    lasso = ni.LassoProblem(X, y, Xv, yv)
    out.append(("lasso p>n", lasso, [0.2 * lasso.lam1_max]))
    enet2 = ni.ElasticNetProblem(X, y, Xv, yv)
    out.append(("enet p>n", enet2, [0.2 * enet2.lam1_max, 0.01]))
    X, y, Xv, yv = _data(60, 25, 2, dtype, sparse)
    wl = ni.WeightedLassoProblem(X, y, Xv, yv)
    lam = 0.2 * wl.lam1_max * (1.0 + np.linspace(0.0, 1.0, 25))
    out.append(("weighted", wl, lam))
    nn = ni.NonnegativeLassoProblem(X, y, Xv, yv)
    out.append(("nonneg", nn, [0.1 * nn.lam1_max]))
    return out


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cd_fixed_point_is_the_phi_iteration_fixed_point(dtype, sparse):
    tol = 1e-10 if dtype == np.float64 else 1e-5
    for name, problem, lam in _problems(dtype, sparse):
        phi = problem.map.at(lam)
        assert supports_cd(phi), name
        cd = coordinate_descent(phi, tol=tol, max_iter=100_000)
        fp = ni.fixed_point_iteration(phi, tol=tol, max_iter=1_000_000)
        assert cd.converged and fp.converged, name
        assert cd.solver == "cd" and fp.solver == "fixed-point"
        # Both are Φ-images with relative step <= tol. On the identified support Φ contracts
        # by q_S, so each lies within tol‖w‖/(1 - q_S) of the fixed point (error bound of a
        # contraction); their distance is at most twice that, plus the dtype's round-off of
        # one step (5 eps) propagated the same way.
        assert np.array_equal(cd.w != 0, fp.w != 0), name
        q_S = phi.selection(cd.w).active_block_norm()
        eps = float(np.finfo(dtype).eps)
        bound = 2.0 * (tol + 5 * eps) * np.linalg.norm(fp.w) / (1.0 - q_S)
        assert np.linalg.norm(cd.w.astype(np.float64) - fp.w) <= bound, (name, q_S)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_certificate_is_honest(dtype):
    # converged=True must mean ‖Φ(w_cd) - w_cd‖ <= tol ‖Φ(w_cd)‖; Φ is nonexpansive, so one more
    # step from the returned w = Φ(w_cd) moves it by at most that much (the check below does
    # not read the solver's own residual).
    tol = 1e-9 if dtype == np.float64 else 1e-5
    for name, problem, lam in _problems(dtype, sparse=False):
        phi = problem.map.at(lam)
        res = coordinate_descent(phi, tol=tol)
        assert res.converged and res.residual <= tol, name
        step = np.linalg.norm(phi(res.w).astype(np.float64) - res.w)
        assert step <= tol * np.linalg.norm(res.w) * (1 + 1e-3), name
        short = coordinate_descent(phi, tol=1e-14 if dtype == np.float64 else 1e-6,
                                   max_iter=1)
        assert short.converged == (short.residual <= (1e-14 if dtype == np.float64 else 1e-6))


def test_hypergradients_agree_and_the_solver_is_reported():
    name, problem, lam = _problems(np.float64, False)[0]
    ref = problem.hypergradient(lam, method="exact", inner_solver="fixed-point", tol=1e-12)
    for solver in ("auto", "cd", "anderson"):
        res = problem.hypergradient(lam, method="exact", inner_solver=solver, tol=1e-12)
        assert res.inner.solver == ("cd" if solver == "auto" else solver)
        # both inner solutions within 1e-12/(1 - q_S) of the fixed point; the exact Jacobian
        # on the same support maps that error linearly (cond(H_SS) <~ 1e2 here)
        np.testing.assert_allclose(res.value, ref.value, rtol=1e-8)
    itd = problem.hypergradient(lam, method="itd", inner_iters=50)
    assert itd.inner.solver == "fixed-point"
    w = problem.solve(lam, inner_solver="auto", tol=1e-12).w
    np.testing.assert_allclose(w, ref.inner.w, rtol=1e-8, atol=1e-12)


def test_bad_inner_solver_is_refused_with_a_named_message():
    name, problem, lam = _problems(np.float64, False)[0]
    with pytest.raises(ValueError, match="inner_solver must be one of"):
        problem.hypergradient(lam, inner_solver="newton")
    with pytest.raises(ValueError, match="inner_solver must be one of"):
        problem.solve(lam, inner_solver=3)
    with pytest.raises(ValueError, match="ITD differentiates the iterations of Phi"):
        problem.hypergradient(lam, method="itd", inner_solver="cd")
    with pytest.raises(ValueError, match="recorded by the fixed-point iteration only"):
        solve_inner(problem.map.at(lam), inner_solver="cd", store_trajectory=True)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6))
    y = np.sign(rng.standard_normal(40))
    logreg = ni.SparseLogisticProblem(X, y, X, y, lam2=0.1)
    with pytest.raises(ValueError, match="inner_solver='cd' needs a least-squares step"):
        logreg.hypergradient([0.01, 0.1] if logreg.map.n_hyper == 2 else [0.01],
                             inner_solver="cd")
    with pytest.raises(ValueError, match="spectrum must be one of"):
        LeastSquaresStep(X, y, spectrum="fast")


def test_anderson_reaches_the_fixed_point_of_a_map_without_cd():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 8))
    y = np.sign(X[:, 0] + 0.3 * rng.standard_normal(60))
    problem = ni.SparseLogisticProblem(X, y, X, y, lam2=0.1)
    lam = [0.01] + ([0.1] if problem.map.n_hyper == 2 else [])
    phi = problem.map.at(lam)
    assert not supports_cd(phi)
    aa = anderson_iteration(phi, tol=1e-12)
    fp = ni.fixed_point_iteration(phi, tol=1e-12, max_iter=100_000)
    assert aa.converged and aa.solver == "anderson"
    # both within 1e-12‖w‖/(1 - q) of the fixed point (q the map's global contraction)
    assert np.linalg.norm(aa.w - fp.w) <= 2e-12 * np.linalg.norm(fp.w) / (1 - phi.q) + 1e-14


def _designs():
    rng = np.random.default_rng(7)
    gauss = rng.standard_normal((120, 300))
    ill = rng.standard_normal((200, 150)) * np.logspace(0, -6, 150)   # cond ~ 1e6
    spiked = rng.standard_normal((300, 200))
    spiked[:, 0] *= 30.0                                                 # one large eigenvalue
    sparse = sp.random(400, 250, density=0.02, random_state=3, format="csr")
    return {"gauss p>n": gauss, "ill-conditioned": ill, "spiked": spiked, "sparse": sparse}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_certified_upper_bound_is_above_the_top_eigenvalue(dtype):
    for name, X in _designs().items():
        X = X.astype(dtype)
        dense = X.toarray() if sp.issparse(X) else X
        top = np.linalg.eigvalsh(dense.astype(np.float64).T @ dense.astype(np.float64))[-1]
        top /= X.shape[0]
        assert rigorous_cap(X) >= top, name
        for seed in range(3):
            L_hat, theta = certified_upper_bound(X, None, seed=seed)
            assert theta <= top * (1 + 1e-10), name          # a Rayleigh quotient: below
            assert L_hat >= top, (name, seed, L_hat, top)    # the certified bound: above
            assert L_hat <= 1.5 * top, (name, L_hat, top)    # and not the loose cap
        step = LeastSquaresStep(X, np.zeros(X.shape[0], dtype=dtype), spectrum="bound")
        assert step.L >= top and step.mu == 0.0 and not step.spectrum_exact
        if name == "ill-conditioned":
            exact = LeastSquaresStep(X, np.zeros(X.shape[0], dtype=dtype), spectrum="exact")
            assert exact.spectrum_exact and abs(exact.L - top) <= 1e-6 * top  # f32 round-off


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_the_coordinate_descent_point_itself_is_a_fixed_point(sparse):
    # The kernels alone (no certificate, no polishing by Φ): after sweeps to ‖δ‖ <= 1e-13 the
    # point is a fixed point of Φ up to a relative step far below the solver's default tol.
    from ns_implicit.solvers.coordinate_descent import _Design, _penalty

    for name, problem, lam in _problems(np.float64, sparse):
        phi = problem.map.at(lam)
        lam_j, nonneg = _penalty(phi)
        w = np.zeros(phi.dim)
        _Design(phi.T.step).run(w, lam_j, float(phi.T.lam2), nonneg, 1e-13, 100_000)
        one = ni.fixed_point_iteration(phi, w, tol=0.0, max_iter=1)
        assert one.residual <= 1e-9, (name, one.residual)


def test_the_paper_step_at_lam2_zero_names_the_exact_spectrum():
    # n > p with p > 128: spectrum="auto" takes the bound (μ' = 0, only a lower bound), so the
    # paper's step 2/(L̂ + μ' + 2λ2) at λ2 = 0 is not averaged; the refusal names the way out.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 140))
    y = X[:, 0] + 0.1 * rng.standard_normal(300)
    problem = ni.ElasticNetProblem(X, y, X, y)
    with pytest.raises(ni.errors.NotContractiveError, match="spectrum='exact'"):
        problem.hypergradient([0.1 * problem.lam1_max, 0.0])
    exact = ni.ElasticNetProblem(X, y, X, y, spectrum="exact")
    assert np.all(np.isfinite(exact.hypergradient([0.1 * exact.lam1_max, 0.0]).value))
