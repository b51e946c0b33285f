"""The elastic-net map Φ and its oracle (docs/theory.md §7, §11.2)."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from ns_implicit import ElasticNetMap, NotContractiveError
from conftest import kink_margin, make_problem


def _random_point(phi, rng, scale=1.0):
    return scale * rng.standard_normal(phi.dim)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), lam1=st.floats(1e-3, 0.2), lam2=st.floats(1e-3, 1.0),
       paper_step=st.booleans())
def test_selection_matches_finite_differences(seed, lam1, lam2, paper_step):
    rng = np.random.default_rng(seed)
    problem = make_problem(n_train=40, p=8, seed=seed % 7)
    step = "paper" if paper_step else 1.0 / (problem.map.T.L + lam2)
    emap = ElasticNetMap(problem.map.T.X, problem.map.T.y, step=step)
    phi = emap.at([lam1, lam2])
    w = _random_point(phi, rng, 0.5)
    margin = kink_margin(phi, w)
    if margin < 1e-4:
        return  # too close to a kink for finite differences
    sel = phi.selection(w)
    # Φ is affine in w on the piece; |Δu| <= q h ‖d‖ < margin keeps every coordinate there.
    d = rng.standard_normal(phi.dim)
    d /= np.linalg.norm(d)
    h = 0.25 * margin
    fd_w = (phi(w + h * d) - phi(w - h * d)) / (2 * h)
    np.testing.assert_allclose(fd_w, sel.A(d), atol=1e-8)  # round-off: 1e-16 * |Φ| / h
    # λ direction: γ(λ2) is smooth, so central differences are O(h²); keep |Δu|, |Δτ| < margin.
    e = rng.standard_normal(2)
    e /= np.linalg.norm(e)
    hl = 1e-6 * min(1.0, margin * 1e3)
    fd_l = (emap.at(phi.lam + hl * e)(w) - emap.at(phi.lam - hl * e)(w)) / (2 * hl)
    # Round-off: ε|Φ|/hl <= 1e-16 · 10 / 1e-7 = 1e-8 (hl >= 1e-7 since margin >= 1e-4);
    # truncation O(hl²) <= 1e-12. So 1e-7 is a safe bound.
    np.testing.assert_allclose(fd_l, sel.B(e), atol=1e-7)


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
