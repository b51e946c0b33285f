"""The group lasso / group elastic net (least squares and logistic), and least squares over the
simplex and the ℓ1 ball (docs/theory.md §15.4(d)-(e), §15.10-§15.11): ``exact`` against central
differences of ``E(w(λ))`` at points with a certified margin from the kinks, every method
against ``exact``, and the refusals."""

import numpy as np
import pytest

from ns_implicit.errors import NotContractiveError
from ns_implicit.methods.exact import exact
from ns_implicit.problems.constrained_least_squares import (L1BallLeastSquaresProblem,
                                                            SimplexLeastSquaresProblem)
from ns_implicit.problems.group_lasso import GroupLassoProblem, GroupLogisticProblem

MARGIN = 1e-3  # relative distance of u = T(w*) from every kink, asserted before differencing
METHODS = ("aid-cg", "aid-fp", "aid-gmres", "itd", "itd-forward")


def data(seed, n=60, p=12):
    rng = np.random.default_rng(seed)
    X, X_val = rng.standard_normal((n, p)), rng.standard_normal((30, p))
    beta = np.r_[1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0][:p]
    return X, X @ beta + 0.1 * rng.standard_normal(n), X_val, X_val @ beta


GROUPS = np.repeat([4, 0, 7, 2], 3)  # labels need not be sorted or contiguous


def instances():
    X, y, Xv, yv = data(0)
    sy, syv = np.sign(y), np.sign(yv)
    return {
        "group-lasso": (GroupLassoProblem(X, y, Xv, yv, GROUPS), lambda P: [0.3 * P.lam1_max]),
        "group-enet-per-group": (
            GroupLassoProblem(X, y, Xv, yv, GROUPS, per_group=True, lam2=None,
                              group_weights=[1.0, 2.0, 0.5, 1.0]),
            lambda P: np.r_[0.3 * np.minimum(P.lam_max, 10.0), 0.05]),
        "group-lasso-p>n": (GroupLassoProblem(*data(1, n=8), GROUPS), lambda P: [0.4 * P.lam1_max]),
        "group-logistic": (GroupLogisticProblem(X, sy, Xv, syv, GROUPS, lam2=0.01,
                                                fit_intercept=True), lambda P: [0.3 * P.lam1_max]),
        "simplex": (SimplexLeastSquaresProblem(X, np.abs(y), Xv, np.abs(yv)), lambda P: [2.0]),
        "simplex-intercept": (SimplexLeastSquaresProblem(X, y, Xv, yv, fit_intercept=True,
                                                         lam2=None), lambda P: [4.0, 0.1]),
        "l1-ball": (L1BallLeastSquaresProblem(X, y, Xv, yv), lambda P: [3.0]),
    }


CASES = instances()


@pytest.mark.parametrize("name", list(CASES))
def test_exact_equals_central_differences_and_every_method_reaches_it(name):
    P, lam_of = CASES[name]
    lam = np.asarray(lam_of(P), dtype=np.float64)
    phi = P.map.at(lam)
    w = P.solve(lam, tol=1e-14, max_iter=1_000_000).w
    u = phi.inner_point(w)
    assert not len(P.map.G.ties(u, phi.lam_G, phi.gamma, tie_tol=MARGIN)), "not generic"
    ref = exact(phi, w, P.outer.grad_w(w)).value + P.outer.grad_lam(w) \
        if hasattr(P.outer, "grad_lam") else exact(phi, w, P.outer.grad_w(w)).value
    g = P.hypergradient(lam, method="exact", tol=1e-13).value
    np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-12)
    # central differences of E(w(λ)): h = 1e-5 moves u by ~1e-5 ≪ the margin; truncation
    # O(h²) and inner-solve error 1e-13/h ~ 1e-8 set the tolerance
    h = 1e-5
    fd = np.array([(P.outer_value(lam + h * e) - P.outer_value(lam - h * e)) / (2 * h)
                   for e in np.eye(len(lam))])
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-7)
    for method in METHODS:
        res = P.hypergradient(lam, method=method, tol=1e-12)
        assert res.converged, method
        # tol = 1e-12 relative on the inner solve and the linear system; ITD's error is
        # ~‖w_t - w*‖·‖J‖, hence 1e-8 against exact (the yardstick)
        np.testing.assert_allclose(res.value, g, rtol=1e-8, atol=1e-9, err_msg=method)


def test_aid_cg_runs_the_symmetric_form_and_its_residual_certifies_the_original():
    P, lam_of = CASES["group-enet-per-group"]
    lam = np.asarray(lam_of(P))
    phi = P.map.at(lam)
    w = P.solve(lam, tol=1e-14).w
    sel = phi.selection(w)
    assert not sel.spd and sel.spd_root
    from ns_implicit.methods.aid_cg import aid_cg

    u = P.outer.grad_w(w)
    res = aid_cg(phi, w, u, tol=1e-10)
    assert res.converged
    v = res.v
    # the original system (I - Aᵀ)v = u, to the certified tolerance (‖HΣr‖ <= q‖r‖)
    assert np.linalg.norm(v - sel.AT(v) - u) <= 1e-10 * np.linalg.norm(u)
    np.testing.assert_allclose(res.value, exact(phi, w, u).value, rtol=1e-9)


def test_exact_refuses_a_singular_non_symmetric_system_of_an_averaged_map():
    """A group duplicated under another label, λ2 = 0 and p > n: the iterates split the weight
    evenly between the copies (both active), any split along their common direction is a
    solution, the restricted system (I - A_G H)[R, R] is singular, q = 1 does not rule it out,
    and the LU path must say so instead of returning a round-off-sized pivot's answer."""
    X, y, Xv, yv = data(1, n=8)
    X, Xv = np.column_stack([X, X[:, :3]]), np.column_stack([Xv, Xv[:, :3]])
    P = GroupLassoProblem(X, y, Xv, yv, np.r_[GROUPS, 9, 9, 9])
    lam = np.array([0.3 * P.lam1_max])
    w = P.solve(lam, tol=1e-14, max_iter=1_000_000).w
    phi = P.map.at(lam)
    assert phi.q == 1.0 and np.any(w[:3]) and np.allclose(w[:3], w[-3:], rtol=1e-12)
    with pytest.raises(NotContractiveError, match="singular"):
        exact(phi, w, P.outer.grad_w(w))


def test_bad_group_input_is_named():
    X, y, Xv, yv = data(0)
    with pytest.raises(ValueError, match="one label per feature"):
        GroupLassoProblem(X, y, Xv, yv, GROUPS[:-1])
    with pytest.raises(ValueError, match="integer group labels"):
        GroupLassoProblem(X, y, Xv, yv, GROUPS + 0.5)
    with pytest.raises(ValueError, match="one weight per group"):
        GroupLassoProblem(X, y, Xv, yv, GROUPS, group_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match=">= 0"):
        GroupLassoProblem(X, y, Xv, yv, GROUPS, group_weights=[1.0, -2.0, 1.0, 1.0])
    P = SimplexLeastSquaresProblem(X, y, Xv, yv)
    with pytest.raises(ValueError, match="radius"):
        P.hypergradient([0.0])


@pytest.mark.parametrize("name", ["group-enet-per-group", "simplex", "l1-ball"])
def test_nsid_and_sid_reach_exact_with_full_batches(name):
    """With batch size n every T̂ is T and η ≡ 1 makes eq. (19) the AID-FP recursion, so NSID
    and SID (generic loop, the operator's own selection) converge to the exact hypergradient;
    the contraction (q < 1: n > p here) makes 3,000 steps reach round-off."""
    import ns_implicit as ni
    from ns_implicit.maps.stochastic import StochasticCompositeMap

    P, lam_of = CASES[name]
    lam = np.asarray(lam_of(P), dtype=np.float64)
    phi = P.map.at(lam)
    assert phi.q < 1
    w = P.solve(lam, tol=1e-14).w
    u = P.outer.grad_w(w)
    ref = exact(phi, w, u).value
    F = StochasticCompositeMap(P.map, P.map.T.n).at(lam)
    for method in (ni.nsid, ni.sid):
        g = method(F, w, u, K=3000, J=1, rng=0, steps="const", beta=1.0, gamma=1.0).value
        np.testing.assert_allclose(g, ref, rtol=1e-8, err_msg=method.__name__)


@pytest.mark.parametrize("name", ["group-lasso", "simplex", "l1-ball"])
def test_float32_maps_agree_with_float64(name):
    """The same data in float32: every method's hypergradient within float32 round-off of the
    float64 exact one: the float32 tolerance 1e-6 times the restricted system's conditioning
    ((1 + q)/(1 - q) <= 10 here) gives ~1e-5; rtol 1e-4 leaves a factor 10."""
    X, y, Xv, yv = data(0)
    if name == "simplex":
        y, yv = np.abs(y), np.abs(yv)
    f32 = [a.astype(np.float32) for a in (X, y, Xv, yv)]
    build = {"group-lasso": lambda *a: GroupLassoProblem(*a, GROUPS),
             "simplex": SimplexLeastSquaresProblem, "l1-ball": L1BallLeastSquaresProblem}[name]
    P64, P32 = build(X, y, Xv, yv), build(*f32)
    lam = [0.3 * P64.lam1_max] if name == "group-lasso" else [2.0 if name == "simplex" else 3.0]
    ref = P64.hypergradient(lam, method="exact", tol=1e-13).value
    for method in ("exact", "aid-cg", "aid-fp", "itd"):
        res = P32.hypergradient(lam, method=method, tol=1e-6)
        assert res.value.dtype == np.float32 and res.converged
        np.testing.assert_allclose(res.value, ref, rtol=1e-4, err_msg=method)
