"""The testing kit beyond the elastic net (ns_implicit.testing.problems): independent NumPy
candidates (their own solvers and the optimality conditions on the support, no library code)
pass on every problem's generic instances, broken ones fail, and ``check-backend --problem``
reports both."""

import numpy as np
import pytest

from ns_implicit.cli import main
from hypothesis import given, settings

from nonseparable_candidates import CANDIDATES as NONSEPARABLE
from ns_implicit.testing.problems import (PROBLEMS, build_problem_instance,
                                          check_problem_backend, check_problem_hypergradient,
                                          problem_instances, sample_problem_instances)

EXAMPLES = 4


def _ista(X, y, lam, nonneg=False, iters=200_000, tol=1e-15):
    """Plain ISTA for ``‖Xw - y‖²/(2n) + Σ λ_j |w_j|`` (with ``w >= 0`` when ``nonneg``)."""
    n = X.shape[0]
    L = np.linalg.norm(X, 2) ** 2 / n
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        u = w - X.T @ (X @ w - y) / (n * L)
        new = np.maximum(u - lam / L, 0) if nonneg else np.sign(u) * np.maximum(np.abs(u) - lam / L, 0)
        if np.linalg.norm(new - w) <= tol * max(np.linalg.norm(new), 1e-300):
            return new
        w = new
    return w


def lasso_family(X, y, X_val, y_val, lam, nonneg=False, weighted=False):
    """On ``S = supp(w)``: ``X_Sᵀ(X_S w_S - y)/n + λ_S s_S = 0`` ⇒ ``∂w_S/∂λ_j = -n G⁻¹ e_j s_j``."""
    p, n = X.shape[1], X.shape[0]
    lam_vec = np.asarray(lam, float) if weighted else np.full(p, float(lam))
    w = _ista(X, y, lam_vec, nonneg)
    S = np.flatnonzero(w)
    s = np.sign(w[S])
    grad_E = X_val.T @ (X_val @ w - y_val) / X_val.shape[0]
    z = np.linalg.solve(X[:, S].T @ X[:, S], grad_E[S])
    per_feature = np.zeros(p)
    per_feature[S] = -n * s * z
    return per_feature if weighted else np.array([per_feature.sum()])


CANDIDATES = {
    "lasso": lasso_family,
    "weighted-lasso": lambda *a: lasso_family(*a, weighted=True),
    "nonneg-lasso": lambda *a: lasso_family(*a, nonneg=True),
}


def _sigma(t):
    return 0.5 * (1 + np.tanh(0.5 * t))


def sparse_logreg(X, y, X_val, y_val, lam1, iters=200_000):
    """Proximal gradient to the support, then ``∂w_S/∂λ1 = -(X_Sᵀ D X_S/n)⁻¹ s``."""
    n = X.shape[0]
    step = 4 * n / np.linalg.norm(X, 2) ** 2
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        g = -X.T @ (y * _sigma(-y * (X @ w))) / n
        u = w - step * g
        new = np.sign(u) * np.maximum(np.abs(u) - step * lam1, 0)
        if np.linalg.norm(new - w) <= 1e-15 * np.linalg.norm(new):
            w = new
            break
        w = new
    S = np.flatnonzero(w)
    z = y * (X @ w)
    H = (X[:, S].T * (_sigma(z) * _sigma(-z))) @ X[:, S] / n
    grad_E = -X_val.T @ (y_val * _sigma(-y_val * (X_val @ w))) / X_val.shape[0]
    return np.array([grad_E[S] @ -np.linalg.solve(H, np.sign(w[S]))])


def svm(X, y, X_val, y_val, C, iters=500_000):
    """Projected gradient on the dual, then the KKT system on the free set."""
    Q = (y[:, None] * X) @ (y[:, None] * X).T
    step = 1.0 / np.linalg.norm(Q, 2)
    a = np.zeros(len(y))
    for _ in range(iters):
        new = np.clip(a - step * (Q @ a - 1), 0, C)
        if np.linalg.norm(new - a) <= 1e-15 * max(np.linalg.norm(new), 1e-300):
            a = new
            break
        a = new
    F, U = (a > 0) & (a < C), a == C
    da = U.astype(float)
    da[F] = -np.linalg.solve(Q[np.ix_(F, F)], Q[np.ix_(F, U)] @ np.ones(U.sum()))
    w = X.T @ (y * a)
    grad_w = -X_val.T @ (y_val * _sigma(-y_val * (X_val @ w))) / X_val.shape[0]
    return np.array([(y * (X @ grad_w)) @ da])


def deq(X, t, r, theta):
    """Fixed-point iteration of the layer, then ``J = (I - D W)⁻¹ D ∂_θT`` per input, dense."""
    d, k = len(r), X.shape[1]
    W, U, b = theta[:d * d].reshape(d, d), theta[d * d:d * d + d * k].reshape(d, k), theta[-d:]
    g = np.zeros(len(theta))
    for x, target in zip(X, t):
        z = np.zeros(d)
        for _ in range(10_000):
            z_new = np.maximum(W @ z + U @ x + b, 0)
            if np.linalg.norm(z_new - z) <= 1e-15 * max(np.linalg.norm(z_new), 1e-300):
                z = z_new
                break
            z = z_new
        D = np.diag((W @ z + U @ x + b > 0).astype(float))
        dT = np.hstack([np.kron(np.eye(d), z[None]), np.kron(np.eye(d), x[None]), np.eye(d)])
        J = np.linalg.solve(np.eye(d) - D @ W, D @ dT)
        g += J.T @ ((z @ r - target) * r / len(t))
    return g


CANDIDATES.update({"sparse-logreg": sparse_logreg, "svm": svm, "deq": deq})
CANDIDATES.update(NONSEPARABLE)


@pytest.mark.parametrize("name", PROBLEMS)
def test_independent_candidates_pass_and_sign_errors_fail(name):
    instances = sample_problem_instances(name, EXAMPLES, seed=0)
    assert len(instances) == EXAMPLES and all(i.kind == "generic" for i in instances)
    good = check_problem_backend(CANDIDATES[name], name, examples=EXAMPLES)
    assert all(r.passed for r in good), "\n".join(str(r) for r in good if not r.passed)
    bad = check_problem_backend(lambda *a: -np.asarray(CANDIDATES[name](*a)), name,
                                examples=EXAMPLES)
    assert not any(r.passed for r in bad)


@settings(max_examples=5, deadline=None)
@given(problem_instances("lasso"))
def test_property_style_usage(instance):
    rep = check_problem_hypergradient(CANDIDATES["lasso"], instance)
    assert rep.passed, str(rep)


def test_same_seed_same_bits_and_bad_names():
    a, b = build_problem_instance("lasso", 3), build_problem_instance("lasso", 3)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.expected, b.expected)
    with pytest.raises(ValueError, match="problem must be one of"):
        build_problem_instance("ridge", 0)


def test_cli_check_backend_problem(tmp_path, monkeypatch, capsys):
    module = tmp_path / "mylasso.py"
    module.write_text("import numpy as np\n"
                      "def wrong(X, y, X_val, y_val, lam1):\n"
                      "    return np.array([1.0])\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check-backend", "mylasso:wrong", "--problem", "lasso", "--examples", "3"]) == 1
    out = capsys.readouterr().out
    assert "0 of 3 instances passed" in out and "relative error" in out
    assert main(["check-backend", "mylasso:wrong", "--problem", "svm", "--near-kinks"]) == 2
    assert "--near-kinks" in capsys.readouterr().err
