"""Theorem 4.1 checked on a real run: measured excess of ITD and AID-FP vs the bound curves.

For one instance (docs/theory.md §8, §11.2):

1. iterate ``w_t = Φ(w_{t-1}, λ)`` from ``w_0 = 0``; ``Δ_t = ‖w_t - w*‖``;
2. the targets at ``w*``: the implicit set ``𝒟_imp`` (10), finite and exact, and a finite
   inner approximation ``F ⊆ 𝒟_fix`` of the fixed-point set (11);
3. ITD: the set iterates ``𝒟_t^ITD`` along the run (every output ITD can produce), each
   element measured against ``F`` and its own witness in ``𝒟_fix`` (below);
   AID-FP with ``k = t`` at ``w_t`` (the paper's mode): ``ex(𝒟_{t,t}^AID, 𝒟_imp)``;
4. the bounds of :mod:`~ns_implicit.theory.bounds` with the constants of
   :mod:`~ns_implicit.theory.constants`, where they apply (``Δ < R``).

``𝒟_fix`` is infinite in general: at a kink the iterates may switch between selections
forever (the tied coordinate oscillating around the threshold), and ITD then approaches
elements of ``𝒟_fix`` that no short composition ``𝒥ⁿ(𝒟_imp)`` reaches. So every element
``J`` of the ITD set carries a *witness* ``X ∈ 𝒟_fix`` that follows the run, as in the proof
of Theorem 4.1: when ``J`` is produced as ``AJ' + B`` with a selection whose mask is also a
selection ``(Ā, B̄)`` at ``w*`` (always the case once ``Δ < R``, Assumption 3.1(3)), its
witness is ``ĀX' + B̄``, ``X'`` the nearer of the parent's witness and ``F``; ``𝒥`` keeps
``𝒟_fix``, so the witness stays in it, and ``‖J - X‖ ≤ q‖J' - X'‖ + ν₂Δ`` is the proof's
recursion. The measured excess of ``J`` is ``min(dist(J, F), ‖J - X‖)``.

Every distance is in the operator norm, to a point of ``𝒟_fix`` (ITD) or of ``𝒟_imp``
(AID-FP, exact: a minimum over its finite vertex set). The ITD figure is therefore an upper
bound of ``ex(𝒟_t^ITD, 𝒟_fix)``, and "measured ≤ bound" is a sound verification of the
theorem as stated. A run that sits exactly on a tie doubles the ITD set at each step; past
``set_cap`` elements only the oracle's own output is followed (reported in the result).

The library's own outputs (``itd_forward``'s ``J_t``, ``aid_fp_forward``'s ``J⁽ᵗ⁾``) are
checked to be members of the enumerated sets: the sets are what the methods compute.

Round-off allowance: ``atol = 100 p ε L_Φ / (1 - q)²`` (``ε`` = float64 epsilon). The
recursions and solves that produce the measured Jacobians are stable with error at most a
small multiple of ``p ε ‖B‖ / (1 - q)²`` (perturbation bound of ``(I - A)⁻¹B`` and of the
contracting recursion); the factor 100 is a safety margin. A bound is violated only when
``measured > bound + atol``.
"""

from dataclasses import dataclass, field

import numpy as np

from ns_implicit.theory.ift import ift_condition
from ns_implicit.theory.conservative import (distance_to_set, excess, operator_norms, pairwise_distances,
                           unique_elements)
from ns_implicit.methods import aid_fp_forward, itd_forward
from ns_implicit.operators.base import MAX_SELECTIONS
from ns_implicit.theory.sets import aid_fp_set, dense_pair, fixed_point_set, implicit_jacobians, selections
from ns_implicit.theory.bounds import (aid_fp_bound, itd_bound, itd_bound_after_identification, jacobian_norm_bound,
                     support_identified_at)
from ns_implicit.theory.constants import elastic_net_constants

#: Round-off allowance factor (see the module docstring).
ATOL_FACTOR = 100.0
#: Largest size of the inner approximation of the fixed-point set.
FIXED_POINT_SET_SIZE = 64
#: Membership tolerance for the library's outputs, relative to L_Φ/(1-q): the set elements
#: and the library's outputs are the same recursions run in a different order (round-off).
MEMBER_RTOL = 1e-10


@dataclass
class CheckResult:
    """Per-iteration measurements and bounds for one instance (arrays over ``t = 0..T``).

    ``itd_bound`` / ``aid_bound`` are ``NaN`` where Theorem 4.1 does not apply (``Δ ≥ R``).
    ``violations`` lists ``(method, t, measured, bound)`` with ``measured > bound + atol``;
    ``problems`` lists failed consistency checks (membership, Lemma 3.2(d)).
    """

    info: dict
    constants: object
    t: np.ndarray
    delta: np.ndarray
    t_bar: int
    itd_excess: np.ndarray
    itd_bound: np.ndarray
    aid_excess: np.ndarray
    aid_bound: np.ndarray
    atol: float
    fixed_point_radius: float
    violations: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def passed(self):
        return not self.violations and not self.problems

    def max_ratio(self, method):
        """``max_t measured / (bound + atol)`` where the bound applies (``nan`` if nowhere):
        at most 1 exactly when the method passes."""
        measured, bound = ((self.itd_excess, self.itd_bound) if method == "itd"
                           else (self.aid_excess, self.aid_bound))
        ok = np.isfinite(bound)
        return float(np.max(measured[ok] / (bound[ok] + self.atol))) if ok.any() else float("nan")

    def as_dict(self):
        def arr(a):
            return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, dtype=float)]
        return {
            **self.info,
            "constants": self.constants.as_dict(),
            "t": [int(v) for v in self.t],
            "delta": arr(self.delta),
            "support_identified_at": self.t_bar,
            "itd": {"measured": arr(self.itd_excess), "bound": arr(self.itd_bound),
                    "max_ratio": _none_if_nan(self.max_ratio("itd"))},
            "aid_fp": {"measured": arr(self.aid_excess), "bound": arr(self.aid_bound),
                       "max_ratio": _none_if_nan(self.max_ratio("aid"))},
            "atol": self.atol,
            "fixed_point_set_radius": self.fixed_point_radius,
            "violations": [{"method": m, "t": int(t), "measured": float(a), "bound": float(b)}
                           for m, t, a, b in self.violations],
            "problems": list(self.problems),
            "passed": self.passed,
        }


def _mask_key(sel):
    """A selection's pattern, which pairs it with a selection at ``w*``: its row set (the mask
    of a 0/1-diagonal ``A_G``, the active groups of block soft-thresholding)."""
    sign = getattr(sel.gsel, "sigma", None)  # projections: the signs of the support too
    return (type(sel.gsel).__name__, np.asarray(sel.rows, dtype=np.int64).tobytes(),
            None if sign is None else np.sign(sign).tobytes())


def _constants(phi, w_star, **kwargs):
    """Assumption 3.1's constants for the map's operator: the elastic net (§11.2), the group
    elastic net (§15.10), the simplex and the ℓ1 ball (§15.11)."""
    from ns_implicit.operators.group_soft_threshold import GroupSoftThreshold
    from ns_implicit.operators.l1_ball import L1BallProjection
    from ns_implicit.operators.simplex import SimplexProjection

    if isinstance(phi.G, GroupSoftThreshold):
        from ns_implicit.theory.group_constants import group_lasso_constants

        return group_lasso_constants(phi, w_star, **kwargs)
    if isinstance(phi.G, (SimplexProjection, L1BallProjection)):
        from ns_implicit.theory.projection_constants import projection_constants

        return projection_constants(phi, w_star, **kwargs)
    return elastic_net_constants(phi, w_star, **kwargs)


def _none_if_nan(v):
    return None if not np.isfinite(v) else v


def run_points(phi, iters):
    """``w_0 = 0, …, w_T`` of the fixed-point iteration (exactly ``T = iters`` steps)."""
    w = np.zeros(phi.dim, dtype=phi.dtype)
    points = [w]
    for _ in range(iters):
        w = phi(w)
        points.append(w)
    return points


def _nearest_witness(D, W, F):
    """For each element of ``D``: the nearer of ``F`` and its own witness ``W`` (rows of NaN:
    none), as ``(distances, witnesses)`` in the operator norm."""
    dist = pairwise_distances(D, F, norm="op")
    idx = np.argmin(dist, axis=1)
    best = dist[np.arange(D.shape[0]), idx]
    X = F[idx]
    own = np.nan_to_num(operator_norms(D - W), nan=np.inf)
    closer = own < best
    return np.where(closer, own, best), np.where(closer[:, None, None], W, X)


def _step(pairs, star_pairs, D, X):
    """Children ``A D + B`` of every element for every selection, with witnesses ``Ā X + B̄``
    (NaN where the selection's mask is not one at ``w*``); distinct children only."""
    children, witnesses = [], []
    for key, (A, B) in pairs:
        children.append(_affine((A, B), D))
        witnesses.append(_affine(star_pairs[key], X) if key in star_pairs
                         else np.full_like(children[-1], np.nan))
    D, W = np.concatenate(children), np.concatenate(witnesses)
    _, first = np.unique(D.reshape(D.shape[0], -1), axis=0, return_index=True)
    first = np.sort(first)
    return D[first], W[first]


def _itd_excess(phi, points, F, star_pairs, t_bar, cap, set_cap, scale, core_J):
    """Measured ITD excess for ``t = 0..T`` (see the module docstring).

    Every element of the ITD set carries a witness in ``𝒟_fix``: the image, under the
    matching selection at ``w*``, of the nearer of ``F`` and its parent's witness. While the
    ITD set has at most ``set_cap`` elements the excess is the set's; past it (a run sitting
    on a tie doubles the set at each step) only the oracle's own output ``J_t`` is measured.
    Returns ``(excess, t_set_dropped or None, problems)``.
    """
    iters = len(points) - 1
    zero = np.zeros((1, phi.dim, phi.n_hyper))
    D, WD = zero, np.full_like(zero, np.nan)  # the ITD set and its witnesses
    J, WJ = zero, np.full_like(zero, np.nan)  # the oracle's output J_t and its witness
    out = np.empty(iters + 1)
    set_until, problems = None, []
    for s in range(iters + 1):
        dJ, XJ = _nearest_witness(J, WJ, F)
        out[s] = dJ[0]
        if D is not None:
            dD, XD = _nearest_witness(D, WD, F)
            out[s] = max(out[s], float(np.max(dD)))
        if s in core_J:
            gap = distance_to_set(core_J[s], D if D is not None else J)
            if gap > MEMBER_RTOL * scale:
                problems.append(f"itd_forward's J_{s} is {gap:.3g} away from the enumerated "
                                "ITD set")
        if s == iters:
            break
        w = points[s]
        oracle = phi.selection(w)
        oracle_pair = [(_mask_key(oracle), dense_pair(oracle, phi.dim, phi.n_hyper))]
        J, WJ = _step(oracle_pair, star_pairs, J, XJ)
        if t_bar is not None and s >= t_bar and oracle_pair[0][0] not in star_pairs:
            problems.append(f"the selection at w_{s} (within R of w*) has no matching selection "
                            "at w* (Assumption 3.1(3))")
        if D is not None:
            sels = selections(phi, w, cap)
            if len(sels) * D.shape[0] > set_cap:
                D, set_until = None, s + 1
            else:
                pairs = [(_mask_key(sel), dense_pair(sel, phi.dim, phi.n_hyper)) for sel in sels]
                D, WD = _step(pairs, star_pairs, D, XD)
    return out, set_until, problems


def _affine(pair, X):
    """``{A X + B : X ∈ 𝒳}`` for one pair."""
    return np.einsum("pq,xqm->xpm", pair[0], X) + pair[1]


def check_instance(inst, *, iters=100, cap=MAX_SELECTIONS, set_cap=64, core_checks=8):
    """Run ITD and AID-FP on ``inst`` (a :class:`~ns_implicit.theory.instances.Instance`)
    for ``t = 0..iters`` and compare the measured excess with Theorem 4.1.

    ``cap``: enumeration cap of the selections at one point; ``set_cap``: largest ITD set
    followed (past it, only the oracle's own ITD output is measured).
    ``core_checks``: number of iterations (evenly spaced) at which the library's AID-FP
    output is checked for membership (ITD's is checked at every iteration).
    """
    phi, w_star, tie_tol = inst.phi, inst.w_star, inst.tie_tol
    points = run_points(phi, iters)
    t = np.arange(iters + 1)
    delta = np.array([np.linalg.norm(w.astype(np.float64) - w_star) for w in points])
    c = _constants(phi, w_star, visited=points, cap=cap, tie_tol=tie_tol)
    scale = jacobian_norm_bound(c)
    atol = ATOL_FACTOR * phi.dim * np.finfo(np.float64).eps * scale / (1.0 - c.q)
    problems = []

    # Targets at w*: the implicit set (exact) and an inner approximation of the fixed-point set.
    D_imp = unique_elements(implicit_jacobians(phi, w_star, cap, tie_tol=tie_tol))
    F, radius = fixed_point_set(phi, w_star, cap=min(cap, FIXED_POINT_SET_SIZE), tie_tol=tie_tol)
    for name, S in (("implicit set", D_imp), ("fixed-point set", F)):
        largest = float(np.max(np.linalg.norm(S, ord=2, axis=(1, 2))))
        if largest > scale + atol:
            problems.append(f"Lemma 3.2(d): an element of the {name} has norm {largest:.6g} > "
                            f"L_Phi/(1-q) = {scale:.6g}")

    t_bar = support_identified_at(delta, c.R)

    # ITD: set iterates along the run, measured against F ∪ W_t (see the module docstring).
    core_J = {}
    itd_forward(phi, iters=iters, tol=0.0,
                on_step=lambda s, w, J: core_J.__setitem__(s, J.astype(np.float64)))
    star_pairs = {_mask_key(sel): dense_pair(sel, phi.dim, phi.n_hyper)
                  for sel in selections(phi, w_star, cap, tie_tol=tie_tol)}
    itd_excess, set_until, itd_problems = _itd_excess(phi, points, F, star_pairs, t_bar, cap,
                                                      set_cap, scale, core_J)
    problems += itd_problems
    for s, J in core_J.items():
        if np.linalg.norm(J, 2) > scale + atol:
            problems.append(f"Lemma 3.2(d): ITD J_{s} has norm {np.linalg.norm(J, 2):.6g} > {scale:.6g}")

    # AID-FP with k = t at w_t.
    aid_excess = np.empty(iters + 1)
    checked = set(np.unique(np.linspace(0, iters, min(core_checks, iters + 1)).astype(int)))
    for s in t:
        S = aid_fp_set(phi, points[s], int(s), cap=cap)
        aid_excess[s] = excess(S, D_imp, hull=False, norm="op")
        if s in checked:
            J = aid_fp_forward(phi, points[s], iters=int(s), tol=0.0).value.astype(np.float64)
            gap = distance_to_set(J, S)
            if gap > MEMBER_RTOL * scale:
                problems.append(f"aid_fp_forward at t={s} is {gap:.3g} away from the enumerated "
                                "AID-FP set")

    # Bounds where Theorem 4.1 applies.
    if delta[0] < c.R:
        itd_b = itd_bound(t, c, delta[0])
    elif t_bar is not None:
        itd_b = itd_bound_after_identification(t, t_bar, delta[t_bar], c)
    else:
        itd_b = np.full(iters + 1, np.nan)
    aid_b = np.where(delta < c.R, aid_fp_bound(t, delta, c), np.nan)

    violations = []
    for name, measured, bound in (("itd", itd_excess, itd_b), ("aid-fp", aid_excess, aid_b)):
        bad = np.flatnonzero(np.isfinite(bound) & (measured > bound + atol))
        violations += [(name, int(s), float(measured[s]), float(bound[s])) for s in bad]

    info = {"seed": inst.seed, "kind": inst.kind, "lam": [float(v) for v in inst.lam],
            "n": int(phi.parent.T.n), "p": int(phi.dim), "ties": list(inst.ties),
            "tie_gap": inst.tie_gap, "implicit_set_size": int(D_imp.shape[0]),
            "fixed_point_set_size": int(F.shape[0]), "iters": int(iters),
            "ift_sigma_min": ift_condition(phi, w_star, cap, tie_tol=tie_tol),
            "itd_set_dropped_at": set_until}
    return CheckResult(info, c, t, delta, t_bar, itd_excess, itd_b, aid_excess, aid_b, float(atol),
                       float(radius), violations, problems)
