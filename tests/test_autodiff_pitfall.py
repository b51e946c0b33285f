"""The autodiff pitfall at a kink (docs/theory.md §2 (P3), §11.1).

Soft-thresholding written the autodiff way, ``S(u, τ) = sign(u) · maximum(|u| - τ, 0)``,
differentiated by the chain rule with the convention of ``jnp.maximum`` / ``torch.maximum``
at a tie (the gradient of ``maximum(a, 0)`` at ``a = 0`` split as 0.5), gives the mask value
0.5 at a tied coordinate. On an instance whose solution sits exactly on a tie (in floating
point), the ITD limit of that differentiation is ``(I - A_½)⁻¹B_½``:

* it is not in the implicit set (10) — the finite set of ``(I - A)⁻¹B`` over the selections,
  which are exactly the one-sided derivatives of ``λ ↦ w(λ)`` (checked by finite
  differences: ``w`` is linear in ``λ1`` on each side of the kink, so one-sided differences
  are exact up to round-off);
* it matches neither one-sided derivative;
* it is a strict convex combination of the two (measured: the 0.5 element lies on the
  segment between the vertices; with one tie this is forced by a rank-one structure), so it
  is an element of the *convexified* conservative set, but not a derivative from any side.

Ours — either tie rule — returns a vertex: a one-sided derivative, a member of (10).
"""

import numpy as np
import pytest

from ns_implicit import ElasticNetMap
from ns_implicit.theory.conservative import distance_to_hull, distance_to_set
from ns_implicit.methods import aid_fp_forward, exact_jacobian
from ns_implicit.theory.sets import implicit_jacobians
from ns_implicit.theory.instances import kink_instance, make_data, solve_tightly


def ad_soft_threshold_partials(u, tau):
    """``∂S/∂u`` and ``∂S/∂τ`` of ``sign(u) * maximum(|u| - τ, 0)`` by the chain rule, with
    ``d maximum(a, 0)/da = 0.5`` at ``a = 0`` and ``sign' = 0``."""
    a = np.abs(u) - tau
    dmax = np.where(a > 0, 1.0, np.where(a < 0, 0.0, 0.5))
    s = np.sign(u)
    return s * dmax * s, -s * dmax  # d|u|/du = sign(u)


def ad_pair(X, y, w, lam, u=None, tau=None):
    """``(A, B)`` of ``Φ(w, λ) = S(u(w, λ), τ(λ))`` written in NumPy (docs/theory.md §11.2) and
    differentiated the autodiff way. ``u``, ``τ`` may be passed to use given float values."""
    n, p = X.shape
    lam1, lam2 = lam
    H, b = X.T @ X / n, X.T @ y / n
    ev = np.linalg.eigvalsh(H)
    g = 2.0 / (ev[-1] + max(ev[0], 0.0) + 2.0 * lam2)
    dg = -g * g
    grad = H @ w - b + lam2 * w
    u = w - g * grad if u is None else u
    tau = g * lam1 if tau is None else tau
    du_dw = np.eye(p) - g * (H + lam2 * np.eye(p))
    du_dlam = np.column_stack([np.zeros(p), -g * w - dg * grad])
    dtau = np.array([g, lam1 * dg])
    dS_du, dS_dtau = ad_soft_threshold_partials(u, tau)
    A = dS_du[:, None] * du_dw
    B = dS_du[:, None] * du_dlam + dS_dtau[:, None] * dtau[None, :]
    return A, B, u, tau


def ad_itd(X, y, phi, w0, iters):
    """Unrolled ITD with the autodiff partials: ``J_t = A_{t-1} J_{t-1} + B_{t-1}``,
    ``w_t = Φ(w_{t-1})``; returns ``(w_T, J_T)``."""
    w = w0.copy()
    J = np.zeros((len(w), 2))
    for _ in range(iters):
        A, B, _, _ = ad_pair(X, y, w, phi.lam, u=phi.inner_point(w), tau=phi.tau)
        J = A @ J + B
        w = phi(w)
    return w, J


def one_sided_derivatives(X, y, lam, h):
    """``(w(λ1 + h) - w(λ1)) / h`` and ``(w(λ1) - w(λ1 - h)) / h`` with ``w`` solved tightly."""
    emap = ElasticNetMap(X, y)
    w = {s: solve_tightly(emap.at([lam[0] + s * h, lam[1]])) for s in (-1, 0, 1)}
    return (w[1] - w[0]) / h, (w[0] - w[-1]) / h


def exact_tie_kink():
    """A kink instance with support and an exact floating-point tie at a floating-point
    fixed point (deterministic: the first qualifying seed)."""
    for seed in range(40):
        X, y = make_data(seed, 12, 4)
        inst = kink_instance(X, y, 0.3 * ElasticNetMap(X, y).lam1_max, 0.1)
        phi, w = inst.phi, inst.w_star
        if (inst.tie_gap == 0.0 and np.count_nonzero(w) > 0
                and np.array_equal(phi(w), w)):
            return X, y, inst
    pytest.fail("no exact floating-point kink among 40 seeds")


def lam1_max_kink():
    """``w = 0`` at ``λ1 = λ1_max``: ``u = γb`` and ``τ = γ max|b|`` round identically, so the
    tie is exact in any arithmetic that computes them this way."""
    X, y = make_data(5, 12, 4)
    emap = ElasticNetMap(X, y)
    return X, y, emap.at([emap.lam1_max, 0.1]), np.zeros(4)


@pytest.mark.parametrize("case", ["kink with support", "lam1_max"])
def test_autodiff_limit_is_not_in_the_implicit_set_ours_is(case):
    if case == "lam1_max":
        X, y, phi, w_star = lam1_max_kink()
        _, _, u, tau = ad_pair(X, y, w_star, phi.lam)  # all-NumPy, independent of the library
        assert np.count_nonzero(np.abs(u) == tau) == 1
        D = implicit_jacobians(phi, w_star)
    else:
        X, y, inst = exact_tie_kink()
        phi, w_star = inst.phi, inst.w_star
        D = implicit_jacobians(phi, w_star)
    assert D.shape[0] == 2
    scale = float(np.max(np.abs(D)))

    # The autodiff ITD run started at the (exact, floating-point) fixed point stays there,
    # and its Jacobian converges to (I - A_½)⁻¹ B_½ (q^400 is far below round-off).
    w_end, J_ad = ad_itd(X, y, phi, w_star, 400)
    assert np.array_equal(w_end, w_star)
    A, B, _, _ = ad_pair(X, y, w_star, phi.lam, u=phi.inner_point(w_star), tau=phi.tau)
    np.testing.assert_allclose(J_ad, np.linalg.solve(np.eye(4) - A, B), atol=1e-12 * scale)

    # Outside the implicit set (10), inside its convex hull (round-off: 1e-12 × scale).
    gap = distance_to_set(J_ad, D)
    assert gap > 1e-2 * scale
    assert distance_to_hull(J_ad, D) <= 1e-12 * scale

    # Ours: both tie rules give members of (10); so does ITD's recursion at the point.
    for tie_active in (False, True):
        ours = ElasticNetMap(X, y, tie_active=tie_active).at(phi.lam)
        assert distance_to_set(exact_jacobian(ours, w_star).value, D) <= 1e-12 * scale
        J_itd = aid_fp_forward(ours, w_star, iters=400, tol=0.0).value
        assert distance_to_set(J_itd, D) <= 1e-12 * scale

    # The vertices are the one-sided derivatives in λ1; the autodiff column is neither.
    # w is linear in λ1 on each side, so the differences are exact up to round-off of the
    # solves (≈1e-16) divided by h: 1e-6 × scale is a wide margin.
    h = 1e-4 * float(phi.lam[0])
    right, left = one_sided_derivatives(X, y, phi.lam, h)
    d_right = [np.linalg.norm(right - Dk[:, 0]) for Dk in D]
    d_left = [np.linalg.norm(left - Dk[:, 0]) for Dk in D]
    assert min(d_right) <= 1e-6 * scale and min(d_left) <= 1e-6 * scale
    assert np.argmin(d_right) != np.argmin(d_left)  # a genuine kink: two different sides
    for side in (right, left):
        assert np.linalg.norm(side - J_ad[:, 0]) > 1e-3 * scale


def test_autodiff_and_ours_agree_away_from_ties():
    """Control: at a generic point the mask has no 0.5 and both give the same Jacobian."""
    X, y = make_data(2, 12, 4)
    phi = ElasticNetMap(X, y).at([0.3 * ElasticNetMap(X, y).lam1_max, 0.1])
    w = solve_tightly(phi)
    u = phi.inner_point(w)
    assert np.min(np.abs(np.abs(u) - phi.tau)) > 1e-3
    A, B, _, _ = ad_pair(X, y, w, phi.lam)
    J_ad = np.linalg.solve(np.eye(4) - A, B)
    np.testing.assert_allclose(J_ad, exact_jacobian(phi, w).value, atol=1e-10)
