"""Seeded elastic-net instances for the bound checks, generic or exactly at a kink.

A *kink* of the elastic net is a ``λ`` at which the solution has a tie
``|u*_j| = γλ1`` (equivalently ``|∇_j f(w*)| = λ1`` with ``w*_j = 0``): a coordinate about to
enter or leave the support. For fixed ``λ2`` the solution path in ``λ1`` is piecewise
linear, ``w_S(λ1) = (H_SS + λ2 I)⁻¹(b_S - λ1 s_S)`` on a support ``S`` with signs ``s`` (docs/theory.md
§11.2; :class:`~ns_implicit.theory.enet_path.SupportPath`), and the kinks are its
breakpoints. :func:`kink_instance` follows the path down from ``λ1_max = ‖b‖∞`` (the first
kink, where ``w* = 0``) and stops at the first breakpoint at or below the requested ``λ1``;
the solution there is computed in closed form, so the tie holds
to round-off (the gap is measured and stored, and the sets use ``tie_tol`` to see it).
"""

from dataclasses import dataclass

import numpy as np

from ns_implicit._validation import check_positive_float, check_positive_int
from ns_implicit.maps.elastic_net import ElasticNetMap
from ns_implicit.theory.enet_path import SupportPath
from ns_implicit.data.synthetic import make_sparse_regression
from ns_implicit.solvers.fixed_point import fixed_point_iteration

#: Relative tie tolerance for constructed kinks: the closed-form tie holds to ~1e-15
#: relative (float64 round-off of a small solve); every other coordinate is checked to be
#: at least 1e3 × this far from the threshold, so no spurious tie is created.
KINK_TIE_TOL = 1e-9


class DegenerateKinkError(ValueError):
    """The constructed kink is not a clean single tie (see :func:`kink_instance`)."""


@dataclass
class Instance:
    """One elastic-net map at fixed ``λ`` with its tightly solved fixed point.

    ``ties`` are the tied coordinates of ``w_star`` under ``tie_tol``; ``tie_gap`` the largest
    relative gap ``||u*_j| - τ| / τ`` among them (0 for exact ties); ``kind`` is ``"generic"``
    or ``"kink"``.
    """

    map: ElasticNetMap
    phi: object
    lam: np.ndarray
    w_star: np.ndarray
    kind: str
    tie_tol: float
    ties: tuple
    tie_gap: float
    seed: int = None


def make_data(seed, n_train, p, *, noise=0.1):
    """Training data ``(X, y)`` with ``n_train`` rows and ``p`` features from the paper's
    generator (docs/theory.md §12.1; a third of the features informative)."""
    n_train = check_positive_int(n_train, "n_train")
    p = check_positive_int(p, "p")
    data = make_sparse_regression(n_samples=int(round(n_train / 0.2)), n_features=p,
                                  n_informative=max(1, p // 3), noise=noise, seed=seed)
    return data.X, data.y


def solve_tightly(phi, *, tol=1e-14, max_iter=1_000_000):
    """``w(λ)`` to round-off: fixed-point iteration, then the closed form on its support.

    The closed form ``w_S = (H_SS + λ2 I)⁻¹(b_S - λ1 sign(w_S))`` (docs/theory.md §11.2) is kept only if
    it has the same signs and a smaller fixed-point residual ``‖Φ(w) - w‖``.
    """
    res = fixed_point_iteration(phi, tol=tol, max_iter=max_iter)
    w = res.w.astype(np.float64)
    S = np.flatnonzero(w)
    lam1, lam2 = (float(v) for v in phi.lam)
    polished = SupportPath(phi.parent.T, lam2, S, np.sign(w[S])).w(lam1)
    if np.array_equal(np.sign(polished), np.sign(w)):
        def residual(v):
            v = v.astype(phi.dtype)
            return float(np.linalg.norm(phi(v) - v))
        if residual(polished) <= residual(w):
            w = polished
    return w.astype(phi.dtype)


def generic_instance(X, y, lam, *, seed=None, step="paper"):
    """The map at ``lam`` with its tightly solved fixed point, exact ties only (``tie_tol=0``)."""
    emap = ElasticNetMap(X, y, step=step)
    phi = emap.at(lam)
    w = solve_tightly(phi)
    ties = np.flatnonzero(np.abs(phi.inner_point(w)) == phi.tau)
    return Instance(emap, phi, np.asarray(phi.lam, dtype=np.float64), w, "generic", 0.0,
                    tuple(int(i) for i in ties), 0.0, seed)


def path_breakpoints(T, lam2, lam1_stop, max_breakpoints=None):
    """Breakpoints of the elastic-net path in ``λ1`` (``λ2`` fixed), from ``λ1_max`` down.

    Yields ``(λ1, S, s, j)``: at the breakpoint ``λ1`` the solution is the closed form
    ``w_S = (H_SS + λ2 I)⁻¹(b_S - λ1 s)`` on ``S`` with signs ``s`` (docs/theory.md §11.2) and coordinate
    ``j`` is tied (it enters the support, or has just left it; it is not in ``S``). Between
    breakpoints the path is one :class:`~ns_implicit.theory.enet_path.SupportPath`. Stops
    after the first breakpoint ``<= lam1_stop`` or when the path has no further breakpoint.
    """
    b = np.asarray(T.b, dtype=np.float64)
    lam = float(np.max(np.abs(b)))
    j = int(np.argmax(np.abs(b)))
    S, s = [], []
    count = 0
    while True:
        yield lam, list(S), list(s), j
        count += 1
        if lam <= lam1_stop or (max_breakpoints is not None and count >= max_breakpoints):
            return
        if j in S:  # j left the support at lam
            k = S.index(j)
            S.pop(k)
            s.pop(k)
        else:  # j enters with the sign of its correlation c_j(λ1) = α_j + β_j λ1
            alpha, beta = SupportPath(T, lam2, S, s).correlation()
            S.append(j)
            s.append(float(np.sign(alpha[j] + beta[j] * lam)))
        # j sits at the current breakpoint by construction; a leaving j stays in S until
        # the next step removes it.
        nxt = SupportPath(T, lam2, S, s).next_breakpoint(lam, skip=j)
        if nxt is None:
            return
        lam, j = nxt


def kink_instance(X, y, lam1, lam2, *, seed=None, tie_tol=KINK_TIE_TOL, min_support=1):
    """An instance whose solution is exactly at a kink (a tie ``|u*_j| = τ``).

    Follows the path from ``λ1_max`` down to the first breakpoint ``<= lam1`` with a support
    of at least ``min_support`` coordinates (the last breakpoint of the path if there is
    none). Raises :class:`DegenerateKinkError` if the closed-form tie is not within
    ``tie_tol`` or another coordinate comes within ``1e3 · tie_tol`` of the threshold (a
    near-degenerate path).
    """
    lam1 = check_positive_float(lam1, "lam1", strict=False)
    lam2 = check_positive_float(lam2, "lam2", strict=False)
    tie_tol = check_positive_float(tie_tol, "tie_tol")
    emap = ElasticNetMap(X, y)
    T = emap.T
    chosen = None
    for lam_k, S, s, j in path_breakpoints(T, lam2, lam1_stop=-1.0):
        if j in S:
            S_at = [i for i in S if i != j]
            s_at = [si for i, si in zip(S, s) if i != j]
        else:
            S_at, s_at = S, s
        chosen = (lam_k, S_at, s_at, j)
        if lam_k <= lam1 and len(S_at) >= min_support:
            break
    lam_k, S_at, s_at, j = chosen
    w = SupportPath(T, lam2, S_at, s_at).w(lam_k)
    phi = emap.at([lam_k, lam2])
    w = w.astype(phi.dtype)
    u = np.asarray(phi.inner_point(w), dtype=np.float64)
    tau = float(phi.tau)
    gaps = np.abs(np.abs(u) - tau) / tau
    if gaps[j] > tie_tol:
        raise DegenerateKinkError(f"the constructed kink at lam1={lam_k:.6g} has relative tie gap "
                         f"{gaps[j]:.3g} > tie_tol={tie_tol:g}; raise tie_tol.")
    others = np.delete(gaps, j)
    if others.size and np.min(others) < 1e3 * tie_tol:
        raise DegenerateKinkError(f"at the kink lam1={lam_k:.6g} another coordinate is within "
                         f"{np.min(others):.3g} (relative) of the threshold; pick another lam1 "
                         "or seed.")
    ties = np.flatnonzero(gaps <= tie_tol)
    return Instance(emap, phi, np.asarray(phi.lam, dtype=np.float64), w, "kink", tie_tol,
                    tuple(int(i) for i in ties), float(np.max(gaps[ties])), seed)


def random_instance(seed, *, n_train=20, p=5, lam1_ratio=0.3, lam2=0.1, at_kink=False):
    """Seeded data and an instance at ``λ1 = lam1_ratio · λ1_max``, ``λ2 = lam2`` (generic),
    or at the first kink at or below that ``λ1`` (``at_kink=True``)."""
    X, y = make_data(seed, n_train, p)
    lam1_max = ElasticNetMap(X, y).lam1_max
    lam1 = check_positive_float(lam1_ratio, "lam1_ratio") * lam1_max
    if at_kink:
        return kink_instance(X, y, lam1, lam2, seed=seed)
    return generic_instance(X, y, [lam1, lam2], seed=seed)
