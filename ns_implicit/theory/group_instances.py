"""Seeded group-elastic-net instances for the bound checks, generic or at a block kink
(docs/theory.md §15.10).

The map is block soft-thresholding (groups of ``group_size`` consecutive features, weights
``√|g|``) after the least-squares step with the paper's ``γ(λ2)`` and the exact spectrum:
``λ = (λ1, λ2)``. A *block kink* is a ``λ1`` at which a group sits exactly on its threshold,
``‖u*_g‖ = τ_g`` — about to enter or leave the active set. The path ``λ1 ↦ w(λ1)`` is not
piecewise linear here, so :func:`group_kink_instance` finds the first entry of a new group
below the requested ``λ1`` by bracketing and Brent's method on
``f(λ1) = max_g (‖u_g(λ1)‖ - τ_g(λ1))/τ_g(λ1)`` over the groups inactive at the start, each
evaluation a warm-started solve to round-off; the tie then holds to about ``1e-12``
(measured and stored) and the sets see it through ``tie_tol`` (:data:`GROUP_KINK_TIE_TOL`).
"""

import numpy as np

from ns_implicit.maps.composite import CompositeMap
from ns_implicit.operators.group_soft_threshold import GroupSoftThreshold
from ns_implicit.solvers.fixed_point import fixed_point_iteration
from ns_implicit.steps.least_squares import LeastSquaresStep
from ns_implicit.theory.instances import DegenerateKinkError, Instance, make_data

#: Relative tie tolerance of a constructed block kink (the root is found to ~1e-13 in λ1 and
#: the solves to round-off; every other group is checked to be >= 1e3 × this far).
GROUP_KINK_TIE_TOL = 1e-8


def group_lasso_map(X, y, groups):
    """``G ∘ T``: block soft-thresholding (shared ``λ1``) after the paper's least-squares step
    (``λ2`` a hyperparameter), exact spectrum."""
    return CompositeMap(GroupSoftThreshold(groups),
                        LeastSquaresStep(X, y, step="paper", spectrum="exact"))


def _solve(phi, w0=None):
    return fixed_point_iteration(phi, w0=w0, tol=1e-15, max_iter=1_000_000).w


def block_gaps(gmap, lam, w):
    """``(‖u_g‖ - τ_g)/τ_g`` per group at ``w`` for ``λ`` (``inf`` for an unpenalised group)."""
    phi = gmap.at(lam)
    u = np.asarray(phi.inner_point(w), dtype=np.float64)
    tau = phi.G.thresholds(phi.lam_G, phi.gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tau > 0, (phi.G.group_norms(u) - tau) / tau, np.inf)


def _instance(gmap, lam, w, kind, tie_tol, seed):
    phi = gmap.at(lam)
    gaps = np.abs(block_gaps(gmap, lam, w))
    ties = np.flatnonzero(gaps <= tie_tol) if tie_tol > 0 else np.flatnonzero(gaps == 0)
    gap = float(np.max(gaps[ties])) if len(ties) else 0.0
    return Instance(gmap, phi, np.asarray(phi.lam, dtype=np.float64), w, kind, tie_tol,
                    tuple(int(g) for g in ties), gap, seed)


def lam1_max(gmap):
    """The smallest ``λ1`` with ``w = 0``: ``max_g ‖b_g‖/ω_g``."""
    G, b = gmap.G, np.asarray(gmap.T.b, dtype=np.float64)
    norms = np.sqrt(np.bincount(G.group_of, weights=b * b, minlength=G.n_groups))
    return float(np.max(norms / G.weights))


def entering_block_kink(gmap, lam1, rest=()):
    """``(λ1_k, w(λ1_k), inactive)``: the first ``λ1_k <= lam1`` at which a group inactive at
    ``lam1`` (the mask ``inactive``) reaches its threshold, ``λ = (λ1, *rest)`` — bracketing by
    factors of 0.7, then Brent's method on the largest relative gap of those groups, each
    evaluation a warm-started solve to round-off (module docstring). Raises
    :class:`DegenerateKinkError` when every group is active or none enters above ``lam1/1000``."""
    from scipy.optimize import brentq

    rest = list(rest)
    cache = {lam1: _solve(gmap.at([lam1] + rest))}
    inactive = block_gaps(gmap, [lam1] + rest, cache[lam1]) < 0
    if not inactive.any():
        raise DegenerateKinkError(f"every group is active at lam1={lam1:.6g}: no entry below.")

    def solve(lam):
        if lam not in cache:
            cache[lam] = _solve(gmap.at([lam] + rest),
                                w0=cache[min(cache, key=lambda k: abs(k - lam))])
        return cache[lam]

    def f(lam):
        return float(np.max(block_gaps(gmap, [lam] + rest, solve(lam))[inactive]))

    hi, lo = lam1, lam1
    while f(lo) < 0:
        hi, lo = lo, lo * 0.7
        if lo < lam1 * 1e-3:
            raise DegenerateKinkError(f"no group enters between lam1={lam1:.6g} and "
                                      f"{lo:.3g}; pick another lam1 or seed.")
    lam_k = brentq(f, lo, hi, xtol=1e-15 * hi, rtol=4 * np.finfo(float).eps, maxiter=200)
    return lam_k, solve(lam_k), inactive


def group_kink_instance(gmap, lam1, lam2, *, seed=None, tie_tol=GROUP_KINK_TIE_TOL):
    """The instance at the first block kink at or below ``lam1`` where a group inactive at
    ``lam1`` enters (:func:`entering_block_kink`). Raises :class:`DegenerateKinkError` as it
    does, when the tie is not within ``tie_tol`` or when another group comes within
    ``1e3 · tie_tol`` of its threshold."""
    lam_k, w, inactive = entering_block_kink(gmap, lam1, (lam2,))
    gaps = np.abs(block_gaps(gmap, [lam_k, lam2], w))
    j = int(np.argmin(np.where(inactive, gaps, np.inf)))
    if gaps[j] > tie_tol:
        raise DegenerateKinkError(f"the block kink at lam1={lam_k:.6g} has relative tie gap "
                                  f"{gaps[j]:.3g} > tie_tol={tie_tol:g}.")
    if np.min(np.delete(gaps, j), initial=np.inf) < 1e3 * tie_tol:
        raise DegenerateKinkError(f"at the block kink lam1={lam_k:.6g} another group is near "
                                  "its threshold; pick another lam1 or seed.")
    return _instance(gmap, [lam_k, lam2], w, "kink", tie_tol, seed)


def random_group_instance(seed, *, n_train=20, p=6, group_size=2, lam1_ratio=0.3, lam2=0.1,
                          at_kink=False):
    """Seeded data (the paper's generator) with groups of ``group_size`` consecutive features,
    at ``λ1 = lam1_ratio · λ1_max`` (generic, exact ties only) or at the first block kink
    below it (``at_kink=True``)."""
    X, y = make_data(seed, n_train, p)
    gmap = group_lasso_map(X, y, np.arange(p) // group_size)
    lam1 = lam1_ratio * lam1_max(gmap)
    if at_kink:
        return group_kink_instance(gmap, lam1, lam2, seed=seed)
    w = _solve(gmap.at([lam1, lam2]))
    return _instance(gmap, [lam1, lam2], w, "generic", 0.0, seed)
