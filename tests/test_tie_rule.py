"""Soft-thresholding's tie rule exists once (``kernels.soft_threshold.soft_threshold_active``)
and every method follows it: at an exact tie ``|u_j| = τ``, switching the rule through the
protocol (``tie_active``) moves exact, AID-FP, AID-CG, AID-GMRES, ITD and NSID (compiled and
generic) together from one vertex of the conservative set to the other (docs/theory.md §11.1)."""

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.maps.stochastic import StochasticElasticNetMap
from ns_implicit.solvers.fixed_point import Trajectory
from ns_implicit.solvers.sampling import BatchStream, spawn
from ns_implicit.theory.sets import implicit_jacobians, selections

DATA = ni.make_sparse_regression(n_samples=200, n_features=10, n_informative=5, seed=7)
LAM2 = 0.01
SEED = 3
# Converged iterative methods against a direct solve: the linear-system tolerance 1e-13 times
# the conditioning 1/(1 - q_S) (~100 here); NSID reads T̂ through other sums (round-off 1e-16).
RTOL = 1e-8


def _tied_lam1(gamma, target):
    """λ1 (moved by ulps) with ``float(γ λ1) == |target|`` exactly."""
    lam1 = float(abs(target) / gamma)
    for _ in range(200):
        tau = float(gamma * lam1)
        if tau == abs(target):
            return lam1
        lam1 = np.nextafter(lam1, np.inf if tau < abs(target) else -np.inf)
    raise AssertionError("no lam1 puts the threshold exactly on the target")


def _setting(point):
    """The point ``w``, ``u = ∇E(w)``, the tied coordinate ``j`` and ``λ``: ``τ`` equals ``|point_j|``
    where ``point(phi, w)`` is the vector whose tie matters."""
    emap = ni.ElasticNetMap(DATA.X, DATA.y)
    phi0 = emap.at([0.1 * emap.lam1_max, LAM2])
    w = ni.fixed_point_iteration(phi0, tol=1e-14, max_iter=100_000).w
    j = int(np.flatnonzero(w)[0])
    lam = np.array([_tied_lam1(phi0.gamma, point(phi0, w)[j]), LAM2])
    u = ni.bilevel.outer.ValidationMSE(DATA.X_val, DATA.y_val).grad_w(w)
    return emap, w, u, j, lam


def _vertex_values(phi, w, u, j):
    """``Jᵀu`` of each vertex at ``w`` (``tie_tol``: the near-tie of a round-off-level gap counts),
    keyed by whether ``j`` is active."""
    sels = selections(phi, w, tie_tol=1e-12)
    J = implicit_jacobians(phi, w, tie_tol=1e-12)
    assert len(sels) == 2
    return {bool(np.isin(j, s.rows)): Jk.T @ u for s, Jk in zip(sels, J)}


def test_deterministic_methods_follow_the_tie_rule():
    emap, w, u, j, lam = _setting(lambda phi, w: phi.inner_point(w))
    phi = emap.at(lam)
    assert float(phi.tau) == abs(phi.inner_point(w)[j])  # an exact tie
    vertex = _vertex_values(phi, w, u, j)
    assert not np.allclose(vertex[False], vertex[True], rtol=1e-3)  # the vertices differ
    for tie_active in (False, True):
        phi = ni.ElasticNetMap(DATA.X, DATA.y, tie_active=tie_active).at(lam)
        assert (j in phi.selection(w).rows) == tie_active
        traj = Trajectory(phi.dim, phi.dtype)
        for _ in range(4000):  # ITD through a trajectory that sits on the tie
            traj.append(w)
        got = {
            "exact": ni.exact(phi, w, u).value,
            "aid-fp": ni.aid_fp(phi, w, u, iters=100_000, tol=1e-13).value,
            "aid-cg": ni.aid_cg(phi, w, u, iters=100_000, tol=1e-13).value,
            "aid-gmres": ni.aid_gmres(phi, w, u, iters=100_000, tol=1e-13).value,
            "itd": ni.itd(phi, traj, u).value,
        }
        for name, g in got.items():
            np.testing.assert_allclose(g, vertex[tie_active], rtol=RTOL, err_msg=name)


def _nsid_average_point(F, w, J):
    """ū of NSID's step 1 for the seed ``SEED`` (the same streams NSID derives)."""
    first = BatchStream(F.n_samples, F.batch_size, spawn(np.random.default_rng(SEED), 2)[0],
                        "epoch")
    return F.average(w, first, J).value


@pytest.mark.parametrize("compiled", [True, False])
def test_nsid_follows_the_tie_rule_at_its_averaged_point(compiled):
    n = DATA.X.shape[0]
    smap = StochasticElasticNetMap(DATA.X, DATA.y, n)
    J = 1

    def averaged(phi, w):
        return _nsid_average_point(smap.at([1.0, LAM2]), w, J)

    emap, w, u, j, lam = _setting(averaged)
    F = smap.at(lam)
    assert float(F.tau) == abs(_nsid_average_point(F, w, J)[j])  # exact tie at ū
    vertex = _vertex_values(emap.at(lam), w, u, j)
    for tie_active in (False, True):
        F = StochasticElasticNetMap(DATA.X, DATA.y, n, tie_active=tie_active).at(lam)
        res = ni.nsid(F, w, u, K=4000, J=J, rng=np.random.default_rng(SEED), steps="const",
                      beta=1.0, gamma=1.0, compiled=compiled)
        assert res.support_size == np.count_nonzero(vertex_mask(emap, lam, w, j, tie_active))
        np.testing.assert_allclose(res.value, vertex[tie_active], rtol=RTOL)


def vertex_mask(emap, lam, w, j, tie_active):
    rows = emap.at(lam).selection(w).rows
    mask = np.zeros(emap.dim, bool)
    mask[rows] = True
    mask[j] = tie_active
    return mask
