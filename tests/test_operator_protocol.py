"""New nonsmooth operators written OUTSIDE the library, using only the public protocol of
:mod:`ns_implicit.operators` (docs/theory.md §15): every method, the exact oracle, the
stochastic methods and the conservative-set tools work on them unchanged.

* the worked example of the README ("Adding a nonsmooth operator"): nonnegative
  soft-thresholding ``max(u - γλ, 0)`` (a 0/1-diagonal selection);
* the projection onto the box ``[0, C]`` with ``C`` a hyperparameter: rows of ``B_G`` at the
  upper bound where ``A_G`` vanishes (docs/theory.md §15.2, §15.4(c));
* block soft-thresholding (group lasso): a dense, non-diagonal block per active group, for
  which ``aid-cg`` must refuse (docs/theory.md §15.3, §15.4(d)).
"""

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.bilevel.outer import ValidationMSE
from ns_implicit.maps.stochastic import StochasticCompositeMap
from ns_implicit.operators import MAX_SELECTIONS, MaskSelection, Operator, enumerate_ties
from ns_implicit.steps import LeastSquaresStep
from ns_implicit.theory.sets import implicit_jacobians, selections
from conftest import central_differences, solve_tightly


# ---------------------------------------------------------------- the worked example
class NonnegativeSelection(MaskSelection):
    """``A_G = diag(m)``; ``∂G/∂λ = -γ m``, ``∂G/∂γ = -λ m``."""

    b_outside_rows = False

    def __init__(self, mask, lam, gamma, dtype):
        super().__init__(mask, dtype)
        self.lam, self.gamma = float(lam), float(gamma)

    def B(self, y_G, y_gamma):
        return -self.mask * (self.gamma * float(y_G[0]) + self.lam * y_gamma)

    def BT(self, v):
        c = float(self.mask @ v)
        return np.array([-self.gamma * c]), -self.lam * c


class NonnegativeSoftThreshold(Operator):
    """``G(u; λ, γ) = max(u - γλ, 0)``, the prox of ``γλ Σ w_i`` + the indicator of ``w >= 0``.
    Tie rule: ``u_i > τ`` is active (``>=`` with ``tie_active``)."""

    n_params, param_names = 1, ("lam1",)

    def __init__(self, tie_active=False):
        self.tie_active = tie_active

    def _tau(self, lam_G, gamma):
        return float(gamma) * float(lam_G[0])

    def value(self, u, lam_G, gamma):
        return np.maximum(u - u.dtype.type(self._tau(lam_G, gamma)), 0)

    def _mask(self, u, tau, tie_active):  # the tie rule, defined once
        return ((u > tau) | (tie_active & (u == tau))).astype(np.uint8)

    def select(self, u, lam_G, gamma, tie_active=None):
        tie_active = self.tie_active if tie_active is None else tie_active
        tau = self._tau(lam_G, gamma)
        return NonnegativeSelection(self._mask(u, tau, tie_active), lam_G[0], gamma, u.dtype)

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        tau = self._tau(lam_G, gamma)
        return np.flatnonzero(np.abs(np.asarray(u) - tau) <= tie_tol * tau)

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        base = self._mask(u, self._tau(lam_G, gamma), False)
        return [NonnegativeSelection(m, lam_G[0], gamma, u.dtype)
                for m in enumerate_ties(base, self.ties(u, lam_G, gamma, tie_tol), cap)]


# ---------------------------------------------------------------- box projection [0, C]
class BoxSelection(MaskSelection):
    """``A_G = diag(1_free)``, ``∂G/∂C = 1`` on the upper set; rows of ``B`` outside ``rows``."""

    def __init__(self, free, upper, dtype):
        super().__init__(free, dtype)
        self.upper = upper.astype(dtype)

    def B(self, y_G, y_gamma):
        return self.upper * float(y_G[0])

    def BT(self, v):
        return np.array([float(self.upper @ v)]), 0.0


class BoxProjection(Operator):
    """``G(u; C) = min(max(u, 0), C)``; ``u_i = 0`` or ``u_i = C`` counts as clamped."""

    n_params, param_names = 1, ("C",)

    def value(self, u, lam_G, gamma):
        return np.clip(u, 0, u.dtype.type(lam_G[0]))

    def select(self, u, lam_G, gamma, tie_active=None):
        C = float(lam_G[0])
        return BoxSelection(((u > 0) & (u < C)).astype(np.uint8), u >= C, u.dtype)

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        return [self.select(u, lam_G, gamma)]


# ---------------------------------------------------------------- block soft-thresholding
class GroupSelection:
    """Dense symmetric block ``(1 - τ/‖u‖) I + (τ/‖u‖) u uᵀ/‖u‖²`` per active group."""

    coordinate_projection, symmetric, b_outside_rows = False, True, False

    def __init__(self, u, groups, active, lam, gamma):
        self.u, self.groups, self.lam, self.gamma = u, groups, float(lam), float(gamma)
        self.active = [g for g, a in zip(groups, active) if a]
        self.rows = np.sort(np.concatenate(self.active)) if self.active else np.zeros(0, int)
        self.tau = self.gamma * self.lam

    def A(self, x):
        out = np.zeros_like(x)
        for g in self.active:
            ug = self.u[g]
            n = np.linalg.norm(ug)
            out[g] = (1 - self.tau / n) * x[g] + (self.tau / n) * ug * (ug @ x[g]) / n**2
        return out

    AT = A  # symmetric

    def _dG_dtau(self):
        out = np.zeros_like(self.u)
        for g in self.active:
            out[g] = -self.u[g] / np.linalg.norm(self.u[g])
        return out

    def B(self, y_G, y_gamma):
        return self._dG_dtau() * (self.gamma * float(y_G[0]) + self.lam * y_gamma)

    def BT(self, v):
        c = float(self._dG_dtau() @ v)
        return np.array([self.gamma * c]), self.lam * c

    def block(self):
        R = self.rows
        return np.column_stack([self.A(np.eye(len(self.u))[:, j])[R] for j in R])


class BlockSoftThreshold(Operator):
    """``G(u)_g = max(1 - τ/‖u_g‖, 0) u_g`` with ``τ = γλ``; a group is active when ``‖u_g‖ > τ``."""

    n_params, param_names = 1, ("lam1",)

    def __init__(self, groups):
        self.groups = groups

    def _active(self, u, tau):
        return [np.linalg.norm(u[g]) > tau for g in self.groups]

    def value(self, u, lam_G, gamma):
        tau = float(gamma) * float(lam_G[0])
        out = np.zeros_like(u)
        for g in self.groups:
            n = np.linalg.norm(u[g])
            if n > tau:
                out[g] = (1 - tau / n) * u[g]
        return out

    def select(self, u, lam_G, gamma, tie_active=None):
        active = self._active(u, float(gamma) * float(lam_G[0]))
        return GroupSelection(u.copy(), self.groups, active, lam_G[0], gamma)

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        return [self.select(u, lam_G, gamma)]


# ---------------------------------------------------------------- shared machinery
DATA = ni.make_sparse_regression(n_samples=300, n_features=12, n_informative=6, seed=5)
OUTER = ValidationMSE(DATA.X_val, DATA.y_val)
STEP = LeastSquaresStep(DATA.X, DATA.y)
# Deterministic methods converged to round-off (budgets far beyond the q**k decay; q < 0.99
# on these maps): 1e-8 relative to exact covers the linear-system tolerance 1e-12 amplified by
# the conditioning 1/(1 - q) ~ 100 of the restricted system, and the inner tolerance 1e-13.
METHOD_RTOL = 1e-8
# Central differences at a point whose selection is constant within ±h (checked): the error is
# O(h²) ~ 1e-12 from the smooth (rational) path plus inner-solve error 1e-15/h ~ 1e-10.
FD_RTOL = 1e-7


solve = solve_tightly

def same_selection_within(cmap, lam, h_rel=1e-5):
    """The operator's selection is the same at λ and at every λ ± h e_i (no kink crossed)."""
    def key(lam_):
        phi = cmap.at(lam_)
        return tuple(phi.selection(solve(phi)).rows)
    ref = key(lam)
    for i in range(len(lam)):
        for s in (-1, 1):
            e = np.zeros(len(lam))
            e[i] = s * h_rel * lam[i]
            if key(np.asarray(lam) + e) != ref:
                return False
    return True


def hypergradients(cmap, lam, names):
    out = {}
    for name in names:
        res = ni.hypergradient(cmap, OUTER, lam, name, tol=1e-13, inner_iters=200_000,
                               linsys_iters=200_000)
        out[name] = res.value
    return out


ALL = ("exact", "aid-cg", "aid-fp", "aid-gmres", "itd", "itd-forward")


def assert_methods_match_exact(values):
    ref = values["exact"]
    for name, g in values.items():
        np.testing.assert_allclose(g, ref, rtol=METHOD_RTOL, atol=METHOD_RTOL * np.abs(ref).max(),
                                   err_msg=name)


# ---------------------------------------------------------------- tests: worked example
NONNEG = ni.CompositeMap(NonnegativeSoftThreshold(), STEP)
LAM_NONNEG = np.array([0.01, 0.005])


def test_worked_example_every_method_matches_exact_and_finite_differences():
    phi = NONNEG.at(LAM_NONNEG)
    w = solve(phi)
    assert 0 < np.count_nonzero(w) < len(w)  # a real selection: some active, some not
    assert same_selection_within(NONNEG, LAM_NONNEG)
    values = hypergradients(NONNEG, LAM_NONNEG, ALL)
    assert_methods_match_exact(values)
    np.testing.assert_allclose(values["exact"], central_differences(NONNEG, OUTER, LAM_NONNEG),
                               rtol=FD_RTOL)


def test_worked_example_nsid_and_sid_reach_exact_with_full_batches():
    """With batch size n every T̂ is T (up to summation order) and η ≡ 1 makes eq. (19) the
    AID-FP recursion: NSID and SID converge to the exact hypergradient (generic loop: the
    compiled one is soft-thresholding's own)."""
    phi = NONNEG.at(LAM_NONNEG)
    w = solve(phi)
    u = OUTER.grad_w(w)
    exact = ni.exact(phi, w, u).value
    F = StochasticCompositeMap(NONNEG, DATA.X.shape[0]).at(LAM_NONNEG)
    for method in (ni.nsid, ni.sid):
        g = method(F, w, u, K=3000, J=1, rng=0, steps="const", beta=1.0, gamma=1.0).value
        np.testing.assert_allclose(g, exact, rtol=METHOD_RTOL, err_msg=method.__name__)


def test_worked_example_stochastic_solver_uses_the_operator():
    """The stochastic inner solver's prox is the operator's: iterates stay nonnegative."""
    F = StochasticCompositeMap(NONNEG, 50).at(LAM_NONNEG)
    res = ni.stochastic_prox_gradient(F, 0, iters=400)
    assert np.all(res.w >= 0) and np.any(res.w > 0)
    w_star = solve(NONNEG.at(LAM_NONNEG))
    # O(1/s) mean-square convergence (decreasing steps): within 10% after 400 steps here
    assert np.linalg.norm(res.w - w_star) < 0.1 * np.linalg.norm(w_star)


def _tie_point(cmap, lam2, w, j):
    """λ1 (moved by ulps) with ``τ = γλ1`` exactly equal to ``u_j`` at ``u = T(w)``."""
    phi = cmap.at([1.0, lam2])
    u = phi.inner_point(w)
    lam1 = float(u[j] / phi.gamma)
    for _ in range(200):
        tau = float(phi.gamma) * lam1
        if tau == u[j]:
            return lam1
        lam1 = np.nextafter(lam1, np.inf if tau < u[j] else -np.inf)
    raise AssertionError("no λ1 puts the threshold exactly on u_j")


def test_worked_example_conservative_set_tools_enumerate_the_tie():
    w = solve(NONNEG.at(LAM_NONNEG))
    j = int(np.flatnonzero(w)[0])
    lam1 = _tie_point(NONNEG, LAM_NONNEG[1], w, j)
    phi = NONNEG.at([lam1, LAM_NONNEG[1]])
    sels = selections(phi, w)
    assert len(sels) == 2 and {j in s.rows for s in sels} == {True, False}
    J = implicit_jacobians(phi, w)
    assert not np.allclose(J[0], J[1])
    # the default selection is the strict vertex, tie_active the other one
    for tie_active in (False, True):
        cmap = ni.CompositeMap(NonnegativeSoftThreshold(tie_active), STEP)
        assert (j in cmap.at([lam1, LAM_NONNEG[1]]).selection(w).rows) == tie_active


# ---------------------------------------------------------------- tests: box projection
BOX = ni.CompositeMap(BoxProjection(), STEP)


def _box_lam():
    """C below the largest coordinate of the unconstrained solution: some coordinates sit at
    the upper bound, some at 0, some free."""
    w_free = solve(ni.CompositeMap(BoxProjection(), STEP).at([1e6, 0.01]))
    C = 0.5 * float(np.max(w_free))
    return np.array([C, 0.01])


def test_box_projection_exact_equals_finite_differences_with_rows_of_B_outside_R():
    lam = _box_lam()
    phi = BOX.at(lam)
    w = solve(phi)
    C = lam[0]
    assert np.any(w == C) and np.any(w == 0) and np.any((w > 0) & (w < C))
    sel = phi.selection(w)
    assert sel.b_outside_rows and sel.spd
    assert same_selection_within(BOX, lam)
    values = hypergradients(BOX, lam, ALL)
    assert_methods_match_exact(values)  # aid-cg agrees: a coordinate projection, SPD system
    fd = central_differences(BOX, OUTER, lam)
    np.testing.assert_allclose(values["exact"], fd, rtol=FD_RTOL)
    # dropping the rows of B outside R (the old active-set assumption) is wrong here
    u = OUTER.grad_w(w)
    v = np.zeros_like(u)
    v[sel.rows] = np.linalg.solve(sel.restricted_matrix().T, u[sel.rows])
    assert not np.allclose(sel.BT(v), fd, rtol=1e-3)


def test_box_projection_exact_jacobian_equals_column_differences():
    lam = _box_lam()
    phi = BOX.at(lam)
    J = ni.exact_jacobian(phi, solve(phi)).value
    for i in range(2):
        h = 1e-6 * lam[i]
        e = np.zeros(2)
        e[i] = h
        fd = (solve(BOX.at(lam + e)) - solve(BOX.at(lam - e))) / (2 * h)
        np.testing.assert_allclose(J[:, i], fd, rtol=FD_RTOL, atol=FD_RTOL * np.abs(fd).max())


# ---------------------------------------------------------------- tests: group lasso
GROUPS = [np.arange(i, i + 3) for i in range(0, 12, 3)]
GROUP = ni.CompositeMap(BlockSoftThreshold(GROUPS), STEP)


def _group_lam():
    lam = np.array([0.05, 0.01])
    phi = GROUP.at(lam)
    w = solve(phi)
    active = [np.any(w[g] != 0) for g in GROUPS]
    assert any(active) and not all(active), active
    return lam


def test_block_soft_threshold_exact_equals_finite_differences():
    lam = _group_lam()
    assert same_selection_within(GROUP, lam)
    phi = GROUP.at(lam)
    sel = phi.selection(solve(phi))
    assert not sel.spd and len(sel.rows) % 3 == 0
    values = hypergradients(GROUP, lam, [m for m in ALL if m != "aid-cg"])
    assert_methods_match_exact(values)
    np.testing.assert_allclose(values["exact"], central_differences(GROUP, OUTER, lam), rtol=FD_RTOL)


def test_aid_cg_refuses_a_non_symmetric_restricted_system():
    lam = _group_lam()
    phi = GROUP.at(lam)
    w = solve(phi)
    with pytest.raises(ni.NotSymmetricError, match="aid-gmres"):
        ni.aid_cg(phi, w, OUTER.grad_w(w))
    with pytest.raises(ni.NotSymmetricError):
        ni.hypergradient(GROUP, OUTER, lam, "aid-cg")
