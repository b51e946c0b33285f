"""A generated elastic-net test instance and the recipe that rebuilds it (docs/theory.md §11.2).

An :class:`Instance` carries plain NumPy arrays, the hyperparameters ``λ = (λ1, λ2)``, the
tightly solved inner solution ``w*`` and our reference hypergradient of
``E(w) = ‖X_val w - y_val‖² / (2 n_val)``. At a kink (a coordinate with ``|u_i| = τ``,
docs/theory.md §11.1) it also carries the vertex hypergradients ``∇_2E + Jᵀ∇_1E``, one per 0/1
selection of the tied coordinates (``J = (I - A)⁻¹B``, docs/theory.md §6 eq. (10)); their convex
hull is the set a candidate's answer must lie in.
"""

from dataclasses import dataclass

import numpy as np

KINDS = ("generic", "near-kink", "kink")


@dataclass(frozen=True)
class InstanceSpec:
    """The drawn parameters of one instance; :func:`~ns_implicit.testing.build_instance` is a
    pure function of them (same spec, same bits).

    ``condition`` is the condition number of ``H = XᵀX/n`` on its range, ``scale`` the
    scale of ``X``; ``lam1_ratio = λ1 / λ1_max`` and ``lam2_ratio = λ2 / L`` place λ before
    any kink is sought. ``kink`` is ``"none"``, ``"exact"`` (λ1 moved onto the nearest
    breakpoint of the regularisation path) or ``"near"`` (moved to a relative distance
    ``kink_offset`` from it, on the side of the drawn λ1); ``kink_direction`` (+1 / -1)
    says whether the breakpoint is sought above or below the drawn λ1 first.
    """

    n_features: int
    n_samples: int
    n_val: int
    condition: float
    scale: float
    lam1_ratio: float
    lam2_ratio: float
    data_seed: int
    kink: str = "none"
    kink_offset: float = 0.0
    kink_direction: int = -1


@dataclass(frozen=True, eq=False)
class Instance:
    """One elastic-net hypergradient problem with its reference answer.

    Attributes
    ----------
    X, y, X_val, y_val : float64 arrays (training and validation splits).
    lam : ``(λ1, λ2)``.
    w : the inner solution ``w*`` (fixed point of ISTA to float64 round-off).
    expected : reference ``[∂E/∂λ1, ∂E/∂λ2]`` from
        ``ElasticNetProblem.hypergradient(lam, method="exact")`` evaluated at ``w*`` (at a
        kink: the vertex whose tied coordinates are inactive, the library's tie rule).
    kind : ``"generic"``, ``"near-kink"`` or ``"kink"``.
    kink_margin : ``min_i ||u_i| - τ| / τ`` at ``w*`` (``u = T(w*, λ)``, ``τ = γλ1``); 0 at a kink.
    ties : indices of the tied coordinates (empty unless ``kind == "kink"``).
    vertices : ``(N, 2)`` vertex hypergradients at a kink, else None: ``∇_2E + Jᵀ∇_1E`` for the
        implicit Jacobians ``J = (I - A)⁻¹B`` of every selection (docs/theory.md §6 eq. (10)).
    fixed_point_vertices, fixed_point_radius : at a kink, the extreme points of the
        hypergradients of a finite inner approximation of the fixed-point set (11) (where
        unrolled differentiation converges, Lemma 3.2) and a radius within which every
        point of the set's hull lies from their hull; None and NaN elsewhere.
    q : contraction factor of the ISTA map at ``λ``.
    spec : the :class:`InstanceSpec` that rebuilds this instance.
    vertex_activity : at a kink, ``(N, len(ties))`` 0/1: which tied coordinates each vertex
        takes as active (:mod:`ns_implicit.testing.convention`); None elsewhere.
    tie_beta : with exactly one tie, ``β = rᵀ(I - A_0)⁻¹e_j`` that converts a position on the
        vertex segment into the implied tie derivative (:mod:`ns_implicit.testing.convention`).
    """

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    lam: np.ndarray
    w: np.ndarray
    expected: np.ndarray
    kind: str
    kink_margin: float
    ties: tuple
    vertices: np.ndarray
    fixed_point_vertices: np.ndarray
    fixed_point_radius: float
    q: float
    spec: InstanceSpec
    vertex_activity: np.ndarray = None
    tie_beta: float = float("nan")

    @property
    def at_kink(self):
        return self.vertices is not None

    @property
    def support_size(self):
        return int(np.count_nonzero(self.w))

    def arguments(self):
        """``(X, y, X_val, y_val, lam1, lam2)`` for a candidate: fresh copies and Python floats,
        so a candidate that writes into its inputs cannot change the instance."""
        return (self.X.copy(), self.y.copy(), self.X_val.copy(), self.y_val.copy(),
                float(self.lam[0]), float(self.lam[1]))

    def summary(self):
        """A few lines naming the instance, for failure reports."""
        n, p = self.X.shape
        lines = [
            f"{self.kind} elastic net: p={p}, n={n}, n_val={self.X_val.shape[0]}, "
            f"lam=({self.lam[0]:.6g}, {self.lam[1]:.6g}), support={self.support_size}, "
            f"condition(H)={self.spec.condition:.3g}, q={self.q:.4f}, "
            f"kink margin={self.kink_margin:.3g}",
        ]
        if self.at_kink:
            lines.append(f"tied coordinates {list(self.ties)}; "
                         f"{len(self.vertices)} vertex hypergradients")
        lines.append(f"rebuild: ns_implicit.testing.build_instance({self.spec!r})")
        return "\n".join(lines)
