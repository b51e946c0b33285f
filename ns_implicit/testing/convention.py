"""Which element of the implicit set (10) a backend returns at a kink: its tie convention
(docs/theory.md §4, §6).

At a point with tied coordinates the implicit set's vertices are the hypergradients of the 0/1
choices of the tied coordinates (active or not). A backend that differentiates a prox written
as ``maximum``/``clip``/``where`` picks one vertex, or a weighted average of them (autodiff
splits a tie 0.5/0.5 in ``maximum``). With one tie the answer ``g`` is read on the segment
``[v_inactive, v_active]`` as

    θ = <g - v_inactive, v_active - v_inactive> / ‖v_active - v_inactive‖²

(0: the inactive vertex, the library's tie rule; 1: the active vertex; in between: an interior
point of the conservative set); with several ties, the nearest vertex names the convention when
the answer sits on one, else the answer is interior (its weights are not unique: the vertices
outnumber the dimensions).

θ is a position on the segment, not the derivative a backend uses at the tie. An implicit
backend whose selection takes the value ``m`` at the tied coordinate ``j`` (``A = A_0 + m e_j
rᵀ``, ``B = B_0 + m e_j bᵀ``) returns, by the Sherman–Morrison formula,
``J(m) = J_0 + m/(1 - mβ) (J_1 - J_0)(1 - β)`` with ``β = rᵀ(I - A_0)⁻¹e_j``, i.e.
``θ = m(1 - β)/(1 - mβ)``; the report inverts it, ``m = θ/(1 - β + θβ)`` (the implied tie
derivative: 0.5 for a backend that splits ties 0.5/0.5). For an unrolled backend the implied
``m`` has no such meaning.
"""

from dataclasses import dataclass

import numpy as np

from ns_implicit.theory.conservative import distance_to_hull


@dataclass(frozen=True)
class TieConvention:
    """``kind``: ``"inactive"``, ``"active"``, ``"vertex"`` (a mixed 0/1 choice of several tied
    coordinates), ``"interior"`` or ``"outside"``; ``theta`` the tie weight (one tie; NaN
    otherwise); ``activity`` the 0/1 choice of the vertex (or None)."""

    kind: str
    theta: float = float("nan")
    activity: tuple = None
    tie_derivative: float = float("nan")

    def __str__(self):
        if self.kind == "interior":
            if self.theta != self.theta:
                return "interior (several ties)"
            implied = (f", implied tie derivative m ≈ {self.tie_derivative:.2f}"
                       if self.tie_derivative == self.tie_derivative else "")
            return f"interior, θ ≈ {self.theta:.2f} on the segment{implied}"
        if self.kind == "vertex":
            return f"vertex {self.activity}"
        return f"{self.kind} vertex" if self.kind in ("inactive", "active") else self.kind


def classify(got, vertices, activity, tol, beta=float("nan")):
    """The :class:`TieConvention` of the answer ``got`` given the vertex hypergradients
    ``vertices`` (N × m), their 0/1 choices of the tied coordinates ``activity`` (N × k), the
    absolute tolerance ``tol`` of hull membership and, for one tie, ``β`` (module docstring)."""
    got, V = np.asarray(got, np.float64), np.asarray(vertices, np.float64)
    activity = np.asarray(activity, dtype=int)
    if distance_to_hull(got, V) > tol:
        return TieConvention("outside")
    theta = float("nan")
    if activity.shape[1] == 1 and len(V) == 2:
        i0, i1 = int(np.argmin(activity[:, 0])), int(np.argmax(activity[:, 0]))
        d = V[i1] - V[i0]
        if float(d @ d) > 0:
            theta = float((got - V[i0]) @ d / (d @ d))
    dist = np.linalg.norm(V - got, axis=1)
    k = int(np.argmin(dist))
    if dist[k] <= tol:
        pattern = tuple(int(a) for a in activity[k])
        kind = ("inactive" if not any(pattern) else "active" if all(pattern) else "vertex")
        return TieConvention(kind, theta, pattern)
    denominator = 1.0 - beta + theta * beta
    m = theta / denominator if denominator != 0 else float("nan")
    return TieConvention("interior", theta, tie_derivative=float(m))


def summarize(conventions):
    """One sentence on the conventions seen at exact kinks, e.g. ``"picks the inactive vertex
    at every tie (6 of 6)"`` or ``"interior, θ ≈ 0.50 at every tie (6 of 6)"``."""
    conventions = [c for c in conventions if c is not None]
    if not conventions:
        return "no exact kink was checked"
    n = len(conventions)
    kinds = {c.kind for c in conventions}
    if kinds == {"inactive"}:
        return f"picks the inactive vertex at every tie ({n} of {n}), as ns_implicit does"
    if kinds == {"active"}:
        return f"picks the active vertex at every tie ({n} of {n})"
    ms = np.array([c.tie_derivative for c in conventions if c.kind == "interior"])
    if kinds == {"interior"} and len(ms) and np.all(np.isfinite(ms)):
        lo, hi = float(ms.min()), float(ms.max())
        spread = f"≈ {lo:.2f}" if hi - lo < 0.01 else f"in [{lo:.2f}, {hi:.2f}]"
        return (f"interior at every tie, implied tie derivative {spread} ({n} of {n}): not a "
                "vertex of the set")
    counts = {}
    for c in conventions:
        counts[str(c)] = counts.get(str(c), 0) + 1
    return "mixed: " + ", ".join(f"{k} ({v} of {n})" for k, v in sorted(counts.items()))
