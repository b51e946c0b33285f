"""The ReLU equilibrium layer ``z* = ReLU(W z* + U x + b)`` (docs/theory.md §15.8): the
hypergradient in the layer's weights against a dense implicit-function computation in numpy,
five-point differences at certified points, every method (AID-CG refuses: ``∂_zT`` is not
symmetric), the refusal of ``‖W‖₂ >= 1``, and a pre-activation exactly at 0 (both vertices,
one-sided differences)."""

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.methods.registry import METHODS
from ns_implicit.problems.deq import ReLUEquilibriumProblem
from ns_implicit.solvers.fixed_point import Trajectory
from ns_implicit.theory.sets import implicit_jacobians, selections

M, K, D = 4, 5, 8


def _setting(seed=0, m=M, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X, t, r = rng.standard_normal((m, K)), rng.standard_normal(m), rng.standard_normal(D)
    problem = ReLUEquilibriumProblem(X.astype(dtype), t, r, D)
    W = rng.standard_normal((D, D))
    W *= 0.8 / np.linalg.norm(W, 2)
    theta = problem.pack(W, rng.standard_normal((D, K)), 0.1 * rng.standard_normal(D))
    return problem, theta, X, t, r


def _dense_hypergradient(theta, z, X, t, r, problem):
    """``Σ_i J_iᵀ ∇E_i`` with ``J_i = (I - D_i W)⁻¹ D_i [I ⊗ z_iᵀ, I ⊗ x_iᵀ, I]``, ``D_i`` the
    0/1 diagonal of the positive pre-activations (numpy only, no library products)."""
    W, U, b = problem.unpack(theta)
    Z = z.reshape(len(X), D)
    g = np.zeros(len(theta))
    for i in range(len(X)):
        pre = W @ Z[i] + U @ X[i] + b
        Dm = np.diag((pre > 0).astype(float))
        dT = np.hstack([np.kron(np.eye(D), Z[i][None, :]), np.kron(np.eye(D), X[i][None, :]),
                        np.eye(D)])
        J = np.linalg.solve(np.eye(D) - Dm @ W, Dm @ dT)
        g += J.T @ ((Z[i] @ r - t[i]) * r / len(X))
    return g


@pytest.fixture(scope="module")
def fitted():
    problem, theta, X, t, r = _setting()
    z = problem.solve(theta, tol=1e-15, max_iter=100_000).w
    return problem, theta, X, t, r, z


def test_exact_equals_the_dense_implicit_jacobian(fitted):
    problem, theta, X, t, r, z = fitted
    phi = problem.map.at(theta)
    assert phi.n_hyper == D * D + D * K + D and phi.q == pytest.approx(0.8)
    g = ni.exact(phi, z, problem.outer.grad_w(z)).value
    g_ref = _dense_hypergradient(theta, z, X, t, r, problem)
    # the same solves in another order; cond(I - DW) <= 1.8/0.2
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-13 * np.abs(g_ref).max())


def test_exact_equals_five_point_differences_at_certified_points(fitted):
    problem, theta, X, t, r, z = fitted
    g = ni.exact(problem.map.at(theta), z, problem.outer.grad_w(z)).value
    phi = problem.map.at(theta)
    pattern = phi.inner_point(z) > 0
    for k in (0, D * D + 3, len(theta) - 2):  # an entry of W, of U and of b
        h = 1e-3
        vals = {}
        for s in (-2, -1, 1, 2):
            th = theta.copy()
            th[k] += s * h
            zs = problem.solve(th, tol=1e-15, max_iter=100_000).w
            # certified: the same active pre-activations (one smooth piece, no kink crossed)
            assert np.array_equal(problem.map.at(th).inner_point(zs) > 0, pattern)
            vals[s] = problem.outer.value(zs)
        fd = (vals[-2] - 8 * vals[-1] + 8 * vals[1] - vals[2]) / (12 * h)
        # O(h⁴) truncation (z* is rational in θ on the piece) + round-off eps·E/h ~ 1e-13
        assert abs(g[k] - fd) <= 1e-7 * np.abs(g).max()


@pytest.mark.parametrize("method", ["aid-fp", "aid-gmres", "itd", "itd-forward"])
def test_every_method_reaches_exact(fitted, method):
    problem, theta, X, t, r, z = fitted
    ref = ni.exact(problem.map.at(theta), z, problem.outer.grad_w(z)).value
    res = problem.hypergradient(theta, method=method, tol=1e-13)
    assert res.converged
    assert np.linalg.norm(res.value - ref) <= 1e-8 * np.linalg.norm(ref)


def test_refusals_name_the_fix(fitted):
    problem, theta, X, t, r, z = fitted
    with pytest.raises(ni.NotSymmetricError, match="aid-gmres"):
        ni.aid_cg(problem.map.at(theta), z, problem.outer.grad_w(z))
    W, U, b = problem.unpack(theta)
    with pytest.raises(ni.NotContractiveError, match=r"\|\|W\|\|_2 = 1.25"):
        problem.map.at(problem.pack(W / 0.8 * 1.25, U, b))
    with pytest.raises(ValueError, match="pack"):
        problem.map.at(theta[:-1])


def test_a_pre_activation_exactly_at_zero():
    problem, theta, X, t, r = _setting(seed=2, m=1)
    z = problem.solve(theta, tol=1e-15, max_iter=100_000).w
    phi = problem.map.at(theta)
    a = int(np.argmax(np.where(z == 0, phi.inner_point(z), -np.inf)))  # an inactive neuron
    kb = len(theta) - D + a  # the position of b_a in θ
    th = theta.copy()
    th[kb] -= float(phi.inner_point(z)[a])
    for _ in range(200):  # move b_a by ulps until the computed pre-activation is exactly 0
        pre = float(problem.map.at(th).inner_point(z)[a])
        if pre == 0.0:
            break
        th[kb] = np.nextafter(th[kb], -np.inf if pre > 0 else np.inf)
    phi = problem.map.at(th)
    assert float(phi.inner_point(z)[a]) == 0.0 and z[a] == 0  # z is still the fixed point
    u = problem.outer.grad_w(z)
    vertices = {bool(np.isin(a, s.rows)): Jk.T @ u
                for s, Jk in zip(selections(phi, z), implicit_jacobians(phi, z))}
    assert set(vertices) == {False, True}
    # one-sided derivatives in b_a: below 0 the neuron stays off (E constant); above, it is on
    # and z* is affine in b_a on [b_a, b_a + 2h] (certified), so the 3-point formula is exact
    h = 1e-6
    f = {}
    for s in (1, 2):
        th_s = th.copy()
        th_s[kb] += s * h
        z_s = problem.solve(th_s, tol=1e-15, max_iter=100_000).w
        assert z_s[a] > 0
        f[s] = problem.outer.value(z_s)
    th_m = th.copy()
    th_m[kb] -= h
    f0, f_down = problem.outer.value(z), problem.outer.value(
        problem.solve(th_m, tol=1e-15, max_iter=100_000).w)
    right = (-3 * f0 + 4 * f[1] - f[2]) / (2 * h)
    scale = np.abs(vertices[True]).max()
    assert abs(right - vertices[True][kb]) <= 1e-7 * scale  # round-off of E/h
    # below: z* does not depend on b_a (two solves agree to round-off), the derivative is 0
    assert abs(f0 - f_down) <= 1e-13 * f0 and vertices[False][kb] == 0.0
    traj = Trajectory(phi.dim, phi.dtype)
    for _ in range(200):
        traj.append(z)
    for tie_active in (False, True):
        tied = ReLUEquilibriumProblem(X, t, r, D, tie_active=tie_active).map.at(th)
        for name, g in (("exact", ni.exact(tied, z, u).value),
                        ("aid-fp", ni.aid_fp(tied, z, u, iters=10_000, tol=1e-14).value),
                        ("itd", ni.itd(tied, traj, u).value)):
            np.testing.assert_allclose(g, vertices[tie_active], rtol=1e-10,
                                       atol=1e-12 * scale, err_msg=name)


def test_float32_layer():
    p64, theta, *_ = _setting()
    p32, theta32, *_ = _setting(dtype=np.float32)
    z32 = p32.solve(theta32, tol=1e-6, max_iter=100_000).w
    assert z32.dtype == np.float32
    g32 = ni.exact(p32.map.at(theta32), z32, p32.outer.grad_w(z32)).value
    z = p64.solve(theta, tol=1e-15, max_iter=100_000).w
    g64 = ni.exact(p64.map.at(theta), z, p64.outer.grad_w(z)).value
    assert g32.dtype == np.float32
    # float32 round-off (6e-8) and tol 1e-6, times cond(I - DW) <= 9
    np.testing.assert_allclose(g32, g64, rtol=0, atol=1e-4 * np.abs(g64).max())
