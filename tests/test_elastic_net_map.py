"""The elastic-net map Φ and its oracle (docs/theory.md §7, §11.2)."""

import numpy as np
import pytest
import scipy.sparse as sp

from ns_implicit import ElasticNetMap, NotContractiveError
from conftest import make_problem


def _random_point(phi, rng, scale=1.0):
    return scale * rng.standard_normal(phi.dim)


def test_products_are_adjoint():
    rng = np.random.default_rng(0)
    problem = make_problem(n_train=50, p=15)
    phi = problem.map.at([0.01, 0.05])
    sel = phi.selection(rng.standard_normal(15))
    x, v, y = rng.standard_normal(15), rng.standard_normal(15), rng.standard_normal(2)
    # Exact identities up to float64 round-off.
    assert abs(sel.A(x) @ v - x @ sel.AT(v)) < 1e-12 * (1 + abs(x @ sel.AT(v)))
    assert abs(sel.B(y) @ v - y @ sel.BT(v)) < 1e-12 * (1 + abs(y @ sel.BT(v)))


def test_lambda2_column_equals_minus_gamma_phi():
    # With γ = γ(λ2): ∂Φ/∂λ2 = -γ Φ(w, λ) (the γ-terms collapse on the active set, §11.2).
    rng = np.random.default_rng(1)
    phi = make_problem().map.at([0.01, 0.01])
    w = rng.standard_normal(phi.dim)
    np.testing.assert_allclose(phi.selection(w).B(np.array([0.0, 1.0])), -phi.gamma * phi(w),
                               rtol=1e-12, atol=1e-14)


def test_contraction_factor_is_the_operator_norm():
    problem = make_problem(n_train=80, p=12)
    T = problem.map.T
    for lam2 in (0.0, 1e-3, 1.0):
        phi = problem.map.at([0.01, lam2])
        M = np.eye(12) - phi.gamma * (T.H + lam2 * np.eye(12))
        assert phi.q == pytest.approx(np.linalg.norm(M, 2), rel=1e-10)
        assert phi.q == pytest.approx((T.L - T.mu) / (T.L + T.mu + 2 * lam2), rel=1e-10)


def test_not_contractive_errors_name_the_fix():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 30))  # p > n: mu = 0
    y = rng.standard_normal(10)
    with pytest.raises(NotContractiveError, match="lam2 > 0"):
        ElasticNetMap(X, y).at([0.1, 0.0])
    emap = ElasticNetMap(X, y, step=10.0)
    with pytest.raises(NotContractiveError, match="step"):
        emap.at([0.1, 0.1])


@pytest.mark.parametrize("gram", [True, False])
def test_gram_and_matrix_free_and_sparse_paths_agree(gram):
    problem = make_problem(n_train=60, p=20)
    X, y = problem.map.T.X, problem.map.T.y
    rng = np.random.default_rng(2)
    w = rng.standard_normal(20)
    ref = ElasticNetMap(X, y, gram=True).at([0.02, 0.01])
    other = ElasticNetMap(sp.csr_matrix(X) if not gram else X, y, gram=gram).at([0.02, 0.01])
    np.testing.assert_allclose(other(w), ref(w), rtol=1e-12, atol=1e-13)
    v = rng.standard_normal(20)
    np.testing.assert_allclose(other.selection(w).AT(v), ref.selection(w).AT(v),
                               rtol=1e-12, atol=1e-13)


def test_sparse_design_is_never_densified():
    # The spectrum of a sparse X (p <= n) comes from the sparse p x p product XᵀX: the
    # construction's peak memory is a fraction of the 64 MB a dense copy of X would take
    # (measured 0.4 MB; the bound leaves room for SciPy's temporaries).
    import tracemalloc

    from ns_implicit.steps.least_squares import LeastSquaresStep

    n, p = 400_000, 20
    X = sp.random(n, p, density=1e-3, format="csr", random_state=0)
    y = np.random.default_rng(0).standard_normal(n)
    tracemalloc.start()
    try:
        T = LeastSquaresStep(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * n * p * 8
    ev = np.linalg.eigvalsh((X.T @ X).toarray() / n)  # the same product: equal up to round-off
    assert T.L == pytest.approx(ev[-1], rel=1e-12) and T.mu == pytest.approx(ev[0], rel=1e-12)
