"""Property tests: after support identification ITD and AID-FP contract at the rate of the
active block q_S = ‖A[S, S]‖ (docs/theory.md §8 discussion item 4), checked as one-step inequalities
on generated instances.

With the paper's step γ(λ2), after identification (signs of w_t fixed from t̄ on) the
selection at w_{t-1} has A_{t-1} = A* (ν₁ = 0) and B_{t-1} = -γ[sign(w_t), w_t], so
‖B_{t-1} - B*‖_F = γ‖w_t - w*‖ and, once the rows of J_{t-1} outside S vanish too (t > t̄),

    ITD:     ‖J_t - J*‖_F <= q_S ‖J_{t-1} - J*‖_F + γ ‖w_t - w*‖,
    AID-FP:  ‖v_k - v*‖  <= q_S ‖v_{k-1} - v*‖      (at w*, v on S).
"""

import numpy as np
from hypothesis import given, settings, strategies as st

import ns_implicit as ni
from conftest import make_problem


def instances(test):
    """Both properties run over the same generated instances (p <= 10)."""
    return settings(max_examples=30, deadline=None)(
        given(seed=st.integers(0, 10_000), p=st.integers(2, 10),
              lam1_ratio=st.floats(0.05, 0.8), lam2=st.floats(0.01, 1.0))(test))


def _instance(seed, p, lam1_ratio, lam2):
    problem = make_problem(n_train=3 * p, p=p, seed=seed)
    lam = np.array([lam1_ratio * problem.lam1_max, lam2])
    phi = problem.map.at(lam)
    w_star = ni.fixed_point_iteration(phi, tol=1e-15, max_iter=200_000).w
    return problem, phi, w_star


@instances
def test_itd_contracts_at_the_active_block_rate(seed, p, lam1_ratio, lam2):
    problem, phi, w_star = _instance(seed, p, lam1_ratio, lam2)
    if not np.any(w_star):
        return  # empty support: J* = 0, nothing to contract
    J_star = ni.exact_jacobian(phi, w_star).value
    sel = phi.selection(w_star)
    q_S = sel.active_block_norm()
    ws, errors = [np.zeros(phi.dim)], [-J_star]  # index t holds w_t and J_t - J* (J_0 = 0)
    ni.itd_forward(phi, iters=300, tol=0.0,
                   on_step=lambda t, w, J: (ws.append(w.copy()), errors.append(J - J_star)))
    signs = [np.sign(w) for w in ws]
    final = np.sign(w_star)
    identified = [t for t in range(len(ws)) if all(np.array_equal(s, final) for s in signs[t:])]
    if not identified:
        return  # not identified within the budget: the local statement does not apply
    t_bar = identified[0]
    slack = 1e-12 * (1.0 + np.linalg.norm(J_star))  # float64 round-off of one step
    # From t̄ + 1 on, J_{t-1} also has no rows outside S, so ‖A*(J_{t-1} - J*)‖ <= q_S ‖·‖.
    for t in range(t_bar + 1, len(ws)):
        lhs = np.linalg.norm(errors[t])
        rhs = q_S * np.linalg.norm(errors[t - 1]) + phi.gamma * np.linalg.norm(ws[t] - w_star)
        assert lhs <= rhs + slack, (t, t_bar, lhs, rhs)


@instances
def test_aid_fp_contracts_at_the_active_block_rate(seed, p, lam1_ratio, lam2):
    problem, phi, w_star = _instance(seed, p, lam1_ratio, lam2)
    if not np.any(w_star):
        return
    u = problem.outer.grad_w(w_star)
    sel = phi.selection(w_star)
    S = sel.active
    A_SS = np.eye(len(S)) - sel.restricted_matrix()
    q_S = sel.active_block_norm()
    v_star = np.linalg.solve(np.eye(len(S)) - A_SS.T, u[S])
    v = np.zeros(phi.dim)
    previous = np.linalg.norm(v_star)
    for _ in range(60):  # the AID-FP step v ← Aᵀv + u, through the library's oracle
        v = sel.AT(v) + u
        err = np.linalg.norm(v[S] - v_star)
        assert err <= q_S * previous + 1e-12 * (1.0 + np.linalg.norm(v_star))
        previous = err
    g = ni.aid_fp(phi, w_star, u, iters=60, tol=0.0).value
    np.testing.assert_allclose(g, sel.BT(v), rtol=1e-12, atol=1e-15)  # same iterates
