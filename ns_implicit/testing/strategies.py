"""Hypothesis strategies (and a seeded sampler) for elastic-net test instances, docs/theory.md §11.2.

Every instance is built by :func:`build_instance` from an :class:`InstanceSpec`:

1. Data with a prescribed spectrum: ``X = scale·√n · U diag(s) Vᵀ`` with orthonormal ``U``, ``V``
   and ``s²`` geometric from 1 to ``1/condition``, so ``H = XᵀX/n`` has condition number
   ``condition`` on its range (``μ = 0`` when ``p > n``); validation rows share the covariance.
2. ``λ1 = lam1_ratio·λ1_max`` (nonempty support), ``λ2 = lam2_ratio·L``; the inner problem is
   solved by fixed-point iteration and polished on its support by the closed form
   ``w_S = (H_SS + λ2 I)⁻¹(b_S - λ1 sign(w_S))`` (docs/theory.md §11.2).
3. Kinks (``kink="exact"``): on the fixed support ``w_S(λ1)`` is affine in ``λ1`` and so is the
   correlation ``c = b - Hw``; the nearest breakpoint of the path is the nearest ``λ1`` where an
   inactive coordinate reaches ``|c_j| = λ1`` or an active one reaches ``w_i = 0``. At that ``λ1``
   the coordinate is tied: ``|u_j| = γλ1 = τ`` (docs/theory.md §11.1). ``λ1`` is then moved by a few
   units in the last place until the tie holds exactly in the library's float64 arithmetic
   (``|T(w*, λ)_j| == τ``), and the tie is verified with :func:`ns_implicit.operators.soft_threshold.tie_masks`.
   ``kink="near"`` stops at relative distance ``kink_offset`` before the breakpoint instead.
4. The reference hypergradient is ``ElasticNetProblem.hypergradient(lam, method="exact")``
   evaluated at ``w*`` (warm start, no further step); at a kink the vertex hypergradients
   ``∇_2E + Jᵀ∇_1E`` for every ``J`` of :func:`ns_implicit.theory.sets.implicit_jacobians` are
   attached, and the reference is verified to be one of them; so are the extreme points of
   :func:`ns_implicit.theory.sets.fixed_point_set` (the set (11) where unrolled differentiation
   ends up at a kink) with its certified radius.

A spec whose instance cannot be built as asked (the drawn point is too close to a kink for a
generic instance, no usable breakpoint, too many ties) gives ``None``; the strategies filter
those out and :func:`sample_instances` draws again.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.spatial
from hypothesis import strategies as st

from ns_implicit.bilevel.hypergradient import EarlyStopWarning
from ns_implicit.errors import SelectionCapError
from ns_implicit.problems.elastic_net import ElasticNetProblem
from ns_implicit.theory.enet_path import SupportPath
from ns_implicit.operators.soft_threshold import tie_masks
from ns_implicit.testing.instance import Instance, InstanceSpec

#: A generic instance keeps every coordinate at least this far (relative to ``τ``) from its
#: threshold, so a candidate whose inner solve is accurate to ~1e-6 finds the same support.
GENERIC_MARGIN = 1e-3
#: Largest number of vertex selections enumerated at a kink (``2**ties``).
MAX_VERTICES = 64
#: Largest number of elements of the inner approximation of the fixed-point set (11).
FIXED_POINT_CAP = 2048
#: Inner solve: relative step tolerance before the closed-form polish, and its budget
#: (``q <= 1/(1 + 2·lam2_ratio_min)`` bounds the iterations needed).
SOLVE_TOL, SOLVE_MAX_ITER = 1e-13, 200_000
#: How many units in the last place λ1 may move to make a constructed tie exact in float64.
TIE_SNAP_ULPS = 512


@dataclass(frozen=True)
class InstanceRanges:
    """Ranges the strategies draw from (inclusive). Floats are drawn on a log scale:
    log-uniformly by :func:`sample_instances`, by hypothesis's own (edge-seeking) distribution
    by the strategies."""

    features: tuple = (2, 12)
    samples: tuple = (2, 24)
    val_samples: tuple = (2, 16)
    condition: tuple = (1.0, 1e2)
    scale: tuple = (0.3, 3.0)
    lam1_ratio: tuple = (0.05, 0.9)
    lam2_ratio: tuple = (0.01, 10.0)
    kink_offset: tuple = (1e-9, 1e-3)


# -- drawing specs: one recipe, two sources of randomness ------------------------------
class _HypothesisChoices:
    def __init__(self, draw):
        self.draw = draw

    def integer(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def log_uniform(self, lo, hi):
        if lo == hi:
            return float(lo)
        return float(math.exp(self.draw(st.floats(math.log(lo), math.log(hi)))))

    def boolean(self):
        return self.draw(st.booleans())


class _NumpyChoices:
    def __init__(self, rng):
        self.rng = rng

    def integer(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))

    def log_uniform(self, lo, hi):
        return float(math.exp(self.rng.uniform(math.log(lo), math.log(hi))))

    def boolean(self):
        return bool(self.rng.integers(2))


def _draw_spec(choose, near_kink, ranges):
    r = ranges
    kink, offset = "none", 0.0
    if near_kink:
        if choose.boolean():
            kink = "exact"
        else:
            kink, offset = "near", choose.log_uniform(*r.kink_offset)
    return InstanceSpec(
        n_features=choose.integer(*r.features),
        n_samples=choose.integer(*r.samples),
        n_val=choose.integer(*r.val_samples),
        condition=choose.log_uniform(*r.condition),
        scale=choose.log_uniform(*r.scale),
        lam1_ratio=choose.log_uniform(*r.lam1_ratio),
        lam2_ratio=choose.log_uniform(*r.lam2_ratio),
        data_seed=choose.integer(0, 2**32 - 1),
        kink=kink, kink_offset=offset,
        kink_direction=-1 if choose.boolean() else 1,
    )


def instance_specs(near_kink=False, **ranges):
    """Strategy of :class:`InstanceSpec` (keyword arguments override :class:`InstanceRanges`)."""
    r = InstanceRanges(**ranges)
    return st.composite(lambda draw: _draw_spec(_HypothesisChoices(draw), near_kink, r))()


def elastic_net_instances(near_kink=False, **ranges):
    """Strategy of :class:`~ns_implicit.testing.Instance` objects.

    ``near_kink=False``: generic points (every coordinate at relative distance
    ``>= GENERIC_MARGIN`` from its threshold). ``near_kink=True``: half exact kinks (with
    their vertex hypergradients), half points within a relative ``kink_offset`` of one.
    Building an instance solves a small problem (milliseconds); use
    :data:`~ns_implicit.testing.KIT_SETTINGS` (no deadline, ``too_slow`` health check off).
    """
    return instance_specs(near_kink, **ranges).map(build_instance).filter(
        lambda inst: inst is not None)


def sample_instances(n, seed=0, near_kink=False, **ranges):
    """``n`` instances drawn with ``numpy.random.default_rng(seed)`` (no hypothesis engine):
    the same distribution as :func:`elastic_net_instances`, the same list for the same seed."""
    rng = np.random.default_rng(seed)
    r = InstanceRanges(**ranges)
    out, attempts = [], 0
    while len(out) < n:
        attempts += 1
        if attempts > 20 * n + 20:
            raise RuntimeError(f"could only build {len(out)} of {n} instances in {attempts} "
                               "attempts; widen the ranges.")
        inst = build_instance(_draw_spec(_NumpyChoices(rng), near_kink, r))
        if inst is not None:
            out.append(inst)
    return out


# -- building one instance -----------------------------------------------------------
def _orthonormal(rng, rows, cols):
    Q, R = np.linalg.qr(rng.standard_normal((rows, cols)))
    return Q * np.sign(np.diag(R))


def _make_data(spec):
    rng = np.random.default_rng(spec.data_seed)
    p, n, nv = spec.n_features, spec.n_samples, spec.n_val
    k = min(n, p)
    s = spec.condition ** (-0.5 * np.linspace(0.0, 1.0, k)) if k > 1 else np.ones(1)
    U, V = _orthonormal(rng, n, k), _orthonormal(rng, p, k)
    X = spec.scale * math.sqrt(n) * (U * s) @ V.T
    w_true = np.zeros(p)
    nnz = max(1, p // 3)
    w_true[rng.choice(p, nnz, replace=False)] = rng.standard_normal(nnz)
    # Validation rows x = G diag(s) Vᵀ·scale have covariance scale²·V diag(s²) Vᵀ ∝ H.
    X_val = spec.scale * (rng.standard_normal((nv, k)) * s) @ V.T
    y = X @ w_true + 0.1 * rng.standard_normal(n)
    y_val = X_val @ w_true + 0.1 * rng.standard_normal(nv)
    return X, y, X_val, y_val


def _polish(problem, lam, w):
    """``w*`` on the support of ``w`` by the closed form ``w_S = (H_SS + λ2 I)⁻¹(b_S - λ1 s)``
    (docs/theory.md §11.2) and its :class:`SupportPath`, or ``(None, None)`` if the signs disagree."""
    S = np.flatnonzero(w)
    if len(S) == 0:
        return None, None
    path = SupportPath(problem.map.T, lam[1], S, np.sign(w[S]))
    w_star = path.w(lam[0])
    if not np.array_equal(np.sign(w_star[S]), path.s):
        return None, None
    return w_star, path


def _margin(phi, w):
    u = phi.inner_point(w)
    gap = np.abs(np.abs(u) - phi.tau)
    return float(gap.min() / phi.tau), u


def _is_fixed_point(phi, w):
    # Round-off bound: one ISTA step from a float64 solution moves it by a few ulps of ‖w‖
    # times the conditioning of the step; 1e-10 leaves a wide margin and still rejects any
    # point off the solution path.
    return np.linalg.norm(phi(w) - w) <= 1e-10 * max(np.linalg.norm(w), 1e-300)


def _snap_tie(problem, path, lam1, lam2, j, drop):
    """Move ``λ1`` by at most ``TIE_SNAP_ULPS`` ulps so that ``|T(w*, λ)_j| == τ`` in float64."""
    for k in range(TIE_SNAP_ULPS + 1):
        for sgn in ((1,) if k == 0 else (1, -1)):
            cand = lam1 + sgn * k * math.ulp(lam1)
            w = path.w(cand, drop)
            phi = problem.map.at([cand, lam2])
            u = phi.inner_point(w)
            if abs(u[j]) == phi.tau and np.count_nonzero(np.abs(u) == phi.tau) == 1:
                return cand, w, phi, u
    return None


def _hypergradients(problem, w, Js):
    """``∇_2E + Jᵀ∇_1E`` for each ``J`` of ``Js`` (``(N, p, m)``)."""
    g1, g2 = problem.outer.grad_w(w), problem.outer.grad_lam(w)
    return g2[None, :] + np.einsum("kpm,p->km", np.asarray(Js, np.float64), g1)


def _hull_vertices(points):
    """The extreme points of a finite planar set (all distinct points if it is degenerate)."""
    points = np.unique(points, axis=0)
    if len(points) < 4:
        return points
    try:
        return points[scipy.spatial.ConvexHull(points).vertices]
    except scipy.spatial.QhullError:   # collinear points: the two extremes span the hull
        d = points - points.mean(axis=0)
        axis = np.linalg.svd(d, full_matrices=False)[2][0]
        t = d @ axis
        return points[[int(np.argmin(t)), int(np.argmax(t))]]


def _kink_sets(problem, phi, w):
    """Vertex hypergradients of the implicit set (10) and of the inner approximation of the
    fixed-point set (11) with its certified radius (docs/theory.md §6; :mod:`ns_implicit.theory.sets`)."""
    from ns_implicit.theory.sets import (fixed_point_set, implicit_jacobians,
                                         selection_matrices, selections)
    vertices = _hypergradients(problem, w, implicit_jacobians(phi, w, MAX_VERTICES))
    ties = phi.G.ties(phi.inner_point(w), phi.lam_G, phi.gamma)  # the operator's own test
    activity = np.array([[int(np.isin(t, s.rows)) for t in ties]
                         for s in selections(phi, w, MAX_VERTICES)])  # the same order
    beta = float("nan")
    if len(ties) == 1 and len(activity) == 2:  # A_1 - A_0 = e_j rᵀ: β = rᵀ(I - A_0)⁻¹e_j
        A, _ = selection_matrices(phi, w, MAX_VERTICES)
        i0, i1, j = int(np.argmin(activity[:, 0])), int(np.argmax(activity[:, 0])), int(ties[0])
        e = np.zeros(phi.dim)
        e[j] = 1.0
        beta = float(A[i1][j] @ np.linalg.solve(np.eye(phi.dim) - A[i0], e))
    elements, radius = fixed_point_set(phi, w, cap=FIXED_POINT_CAP)
    # ‖Jᵀg - J'ᵀg‖ <= ‖J - J'‖_F ‖g‖ turns the Frobenius radius into one for hypergradients.
    fp_radius = float(radius) * float(np.linalg.norm(problem.outer.grad_w(w)))
    return (vertices, _hull_vertices(_hypergradients(problem, w, elements)), fp_radius,
            activity, beta)


def build_instance(spec):
    """The :class:`~ns_implicit.testing.Instance` of ``spec``, or None if it cannot be built."""
    X, y, X_val, y_val = _make_data(spec)
    problem = ElasticNetProblem(X, y, X_val, y_val)
    L = problem.map.T.L
    lam2 = spec.lam2_ratio * L
    lam1_0 = spec.lam1_ratio * problem.lam1_max
    lam = np.array([lam1_0, lam2])
    solved = problem.solve(lam, tol=SOLVE_TOL, max_iter=SOLVE_MAX_ITER)
    w, path = _polish(problem, lam, solved.w)
    if w is None:
        return None
    ties, vertices = (), None
    if spec.kink == "none":
        phi = problem.map.at(lam)
        margin, _ = _margin(phi, w)
        if margin < GENERIC_MARGIN:
            return None
        kind = "generic"
    else:
        found = _move_to_kink(problem, path, lam1_0, lam2, spec)
        if found is None:
            return None
        lam, w, phi, ties = found
        margin, _ = _margin(phi, w)
        kind = "kink" if ties else "near-kink"
    if not _is_fixed_point(phi, w):
        return None
    # The reference at w* itself (checked above to be a fixed point to round-off): no inner
    # step, so at a kink the tie is kept and the library's rule (tied = inactive) applies.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EarlyStopWarning)
        res = problem.hypergradient(lam, method="exact", w0=w, inner_iters=0)
    expected = np.asarray(res.value, dtype=np.float64)
    fp_vertices, fp_radius, activity, beta = None, float("nan"), None, float("nan")
    if ties:
        try:
            vertices, fp_vertices, fp_radius, activity, beta = _kink_sets(problem, phi, w)
        except SelectionCapError:
            return None
        if len(vertices) < 2:
            return None
        # Verify: the reference (the library's tie rule) must be one of the vertices. Both are
        # direct float64 solves at points equal up to round-off (condition <= ~1e4), so they
        # agree to ~1e-12; 1e-8 flags only a genuine inconsistency.
        gap = float(np.min(np.linalg.norm(vertices - expected, axis=1)))
        if gap > 1e-8 * float(np.max(np.linalg.norm(vertices, axis=1))):
            raise RuntimeError(f"internal check failed for {spec!r}: the reference "
                               f"hypergradient is {gap:.3g} away from every vertex.")
    return Instance(X=X, y=y, X_val=X_val, y_val=y_val, lam=np.asarray(lam, np.float64), w=w,
                    expected=expected, kind=kind, kink_margin=margin, ties=tuple(ties),
                    vertices=vertices, fixed_point_vertices=fp_vertices,
                    fixed_point_radius=fp_radius, q=float(phi.q), spec=spec,
                    vertex_activity=activity, tie_beta=beta)


def _move_to_kink(problem, path, lam1_0, lam2, spec):
    """``(lam, w*, phi, ties)`` at (``exact``) or near (``near``) the nearest breakpoint."""
    events = path.breakpoints()
    above = sorted((v, j) for v, j in events if v > lam1_0)
    below = sorted(((v, j) for v, j in events if v < lam1_0), reverse=True)
    order = (below, above) if spec.kink_direction < 0 else (above, below)
    for side in order:
        if not side:
            continue
        lam1, j = side[0]
        drop = j if j in set(path.S.tolist()) else None
        if drop is not None and len(path.S) == 1:
            continue  # the last active coordinate leaves: w* = 0, no hypergradient
        if spec.kink == "near":
            offset = min(spec.kink_offset, 0.5 * abs(lam1_0 - lam1) / lam1)
            lam1 = lam1 + math.copysign(offset * lam1, lam1_0 - lam1)
            w = path.w(lam1)
            phi = problem.map.at([lam1, lam2])
            return np.array([lam1, lam2]), w, phi, ()
        snapped = _snap_tie(problem, path, lam1, lam2, j, drop)
        if snapped is None:
            continue
        lam1, w, phi, u = snapped
        if len(tie_masks(u, phi.tau, MAX_VERTICES)) < 2:   # verify: the tie is registered
            continue
        return np.array([lam1, lam2]), w, phi, (j,)
    return None
