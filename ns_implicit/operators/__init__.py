"""Nonsmooth operators ``G``: the outer half of ``Φ = G ∘ T`` (docs/theory.md §15).

An operator is ``G(u; λ_G, γ)``, typically ``prox_{γ g_{λ_G}}(u)`` or a projection, where
``γ`` is the step of the smooth half ``T`` (it scales the penalty; a projection ignores it).
Each operator is one class in one file and owns its mathematics. The protocol
(everything the maps, methods, theory tools and testing kit use):

``n_params``, ``param_names``
    the number and names of the hyperparameters ``λ_G`` the operator consumes (0 when its
    parameters are fixed at construction);
``tie_active``
    which vertex the default selection takes at a tie (False: the reference rule);
``check_params(lam_G) -> lam_G``
    validation (finite, in range), raising ``ValueError`` naming the parameter;
``value(u, lam_G, gamma) -> G(u)``;
``apply(u, lam_G, gamma, w, out) -> (‖out - w‖₂, support_changed)``
    writes ``G(u)`` into ``out`` (which may be ``u``): one fixed-point step from ``w``;
``select(u, lam_G, gamma, tie_active=None) -> OperatorSelection``
    one selection ``(A_G, B_G)`` at ``u`` with the operator's tie rule (defined once);
``vertices(u, lam_G, gamma, cap, tie_tol=0.0) -> list[OperatorSelection]``
    every selection at ``u`` (the vertices of the conservative set at ties), raising
    :class:`~ns_implicit.errors.SelectionCapError` past ``cap``.

``OperatorSelection``: ``rows`` (sorted indices where ``A_G`` can be nonzero),
``sqrt_A(x)`` (optional: ``A_G^{1/2} x`` for a symmetric positive semidefinite ``A_G`` that is not
a coordinate projection, which lets AID-CG use the symmetric form of docs/theory.md §15.3),
``coordinate_projection`` (``A_G = diag(1_rows)``), ``symmetric``; ``A(x)``, ``AT(v)``;
``B(y_G, y_gamma)`` = ``∂_{λ_G}G y_G + ∂_γG y_gamma`` and ``BT(v) -> (g_G, g_gamma)``;
``block()`` = dense ``A_G[rows, rows]``; ``b_outside_rows`` (False only when ``B_G``
vanishes outside ``rows``: lets the exact solve skip a product; default True); ``mask`` (0/1 of length ``dim``) when it is a
coordinate projection.

:class:`~ns_implicit.operators.base.Operator` supplies ``check_params`` and ``apply`` (from
``value``); :class:`~ns_implicit.operators.base.MaskSelection` the ``A_G`` of a 0/1 diagonal.
See :mod:`ns_implicit.operators.soft_threshold` for the reference operator and the README's
"Adding a nonsmooth operator" for a worked example written outside the library.
"""

from ns_implicit.operators.base import MAX_SELECTIONS, MaskSelection, Operator, enumerate_ties
from ns_implicit.operators.box import BoxProjection
from ns_implicit.operators.group_soft_threshold import GroupSoftThreshold
from ns_implicit.operators.identity_tail import IdentityTail
from ns_implicit.operators.l1_ball import L1BallProjection
from ns_implicit.operators.nonnegative import NonnegativeSoftThreshold, relu
from ns_implicit.operators.simplex import SimplexProjection
from ns_implicit.operators.soft_threshold import SoftThreshold
from ns_implicit.operators.weighted_soft_threshold import WeightedSoftThreshold

__all__ = ["MAX_SELECTIONS", "BoxProjection", "GroupSoftThreshold", "IdentityTail", "L1BallProjection",
           "MaskSelection", "NonnegativeSoftThreshold", "Operator", "SimplexProjection",
           "SoftThreshold", "WeightedSoftThreshold", "enumerate_ties", "relu"]
