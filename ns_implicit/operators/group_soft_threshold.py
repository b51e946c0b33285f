"""Block soft-thresholding, the prox of ``γ Σ_g λ_g ω_g ‖w_g‖₂`` (group lasso), docs/theory.md
§15.4(d).

``G(u)_g = max(1 - τ_g/‖u_g‖, 0) u_g`` with ``τ_g = γ λ_g ω_g`` (``λ`` shared by every group or
one per group; ``ω_g`` fixed group weights, ``√|g|`` by default). Selection at ``u``, on an
active group with ``r = ‖u_g‖``, ``d = u_g/r`` and ``c = 1 - τ_g/r`` (eq. (26)):

    A_g = c I + (1 - c) d dᵀ,     ∂G_g/∂λ_g = -γ ω_g d,     ∂G_g/∂γ = -λ_g ω_g d;

zero blocks and derivatives on inactive groups. ``A_G`` is block diagonal and symmetric with
spectrum in ``[0, 1]``, not a coordinate projection: the exact solve uses LU, and AID-CG the
symmetric reformulation of §15.3 through ``sqrt_A``.

Tie rule (the compiled :func:`~ns_implicit.kernels.groups.group_active`, the only place that
decides): a group is active iff ``‖u_g‖ > τ_g`` (``>=`` with ``tie_active``); a group with
``τ_g = 0`` is always active (``G`` is the identity on it). At a tie ``‖u_g‖ = τ_g > 0`` both
the zero block and the active block (there ``d dᵀ``) are selections:
:meth:`GroupSoftThreshold.vertices` enumerates them.
"""

from functools import cached_property

import numpy as np

from ns_implicit._validation import as_float_array
from ns_implicit.kernels.groups import (block_matvec, block_soft_threshold_selection,
                                        block_soft_threshold_step, group_dots, group_norm)
from ns_implicit.operators.base import MAX_SELECTIONS, Operator, enumerate_ties


def group_structure(groups):
    """``(order, ptr, group_of, labels)`` of a partition given by one integer label per
    coordinate: ``order`` lists the coordinates group by group (groups in increasing label
    order), group ``g`` is ``order[ptr[g]:ptr[g + 1]]``, ``group_of[i]`` is the group of ``i``."""
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] == 0:
        raise ValueError(f"groups must be a non-empty 1-D array with one label per feature; "
                         f"got shape {groups.shape}.")
    if groups.dtype.kind not in "iu":
        if groups.dtype.kind == "f" and np.all(np.isfinite(groups)) \
                and np.all(groups == np.round(groups)):
            groups = groups.astype(np.int64)
        else:
            raise ValueError("groups must hold integer group labels (one per feature); got "
                             f"dtype {groups.dtype}.")
    labels, group_of = np.unique(groups, return_inverse=True)
    order = np.argsort(group_of, kind="stable").astype(np.int64)
    sizes = np.bincount(group_of, minlength=len(labels))
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return order, ptr, group_of.astype(np.int64), labels


class GroupSoftThresholdSelection:
    """``(A_G, B_G)`` of block soft-thresholding at one point (docs/theory.md §15.4(d)).

    ``active`` (per group, 0/1), ``scale`` (per group, ``1 - τ_g/‖u_g‖`` on active groups)
    and ``direction`` (per coordinate, ``u_g/‖u_g‖`` on active groups, else 0) define it.
    """

    coordinate_projection = False
    symmetric = True
    b_outside_rows = False  # B_G = -d(…) vanishes outside the active groups

    def __init__(self, op, active, scale, direction, lam_G, gamma):
        self.op, self.active, self.scale, self.direction = op, active, scale, direction
        self.lam = op.group_lambdas(lam_G).astype(direction.dtype)  # λ of each group
        self.gamma = float(gamma)

    @cached_property
    def rows(self):
        """The coordinates of the active groups, sorted."""
        on = self.active[self.op.group_of] > 0
        return np.flatnonzero(on)

    def _product(self, x, root):
        x = np.ascontiguousarray(x, dtype=self.direction.dtype)
        out = np.empty_like(x)
        block_matvec(x, self.op.order, self.op.ptr, self.active, self.scale, self.direction,
                     root, out)
        return out

    def A(self, x):
        """``A_G x``, eq. (26) per active group."""
        return self._product(x, False)

    AT = A  # symmetric

    def sqrt_A(self, x):
        """``A_G^{1/2} x`` (the symmetric square root, docs/theory.md §15.3)."""
        return self._product(x, True)

    def B(self, y_G, y_gamma):
        """``∂_λG y_G + ∂_γG y_γ = -d ⊙ (ω_g (γ y_{G,k(g)} + λ_g y_γ))`` per group."""
        y_G = np.asarray(y_G, dtype=np.float64)
        y_lam = (y_G[self.op.param_of] if self.op.n_params else np.zeros(self.op.n_groups))
        coef = self.op.weights * (self.gamma * y_lam + self.lam * float(y_gamma))
        return -self.direction * coef[self.op.group_of].astype(self.direction.dtype)

    def BT(self, v):
        """``(∂_λGᵀ v, ∂_γGᵀ v)``: ``-γ Σ_{g ∈ k} ω_g d_gᵀv_g`` per hyperparameter ``k`` and
        ``-Σ_g λ_g ω_g d_gᵀ v_g``."""
        v = np.ascontiguousarray(v, dtype=self.direction.dtype)
        dots = np.empty(self.op.n_groups, dtype=np.float64)
        group_dots(v, self.op.order, self.op.ptr, self.direction, dots)
        wd = self.op.weights * dots
        g_G = -self.gamma * np.bincount(self.op.param_of, weights=wd,
                                        minlength=self.op.n_params)[:self.op.n_params]
        return g_G.astype(v.dtype), -float(self.lam @ wd)

    def block(self):
        """Dense ``A_G[rows, rows]``: ``c I + (1 - c) d dᵀ`` per active group."""
        R = self.rows
        out = np.zeros((len(R), len(R)), dtype=self.direction.dtype)
        pos = np.full(self.op.dim, -1, dtype=np.int64)
        pos[R] = np.arange(len(R))
        order, ptr = self.op.order, self.op.ptr
        for g in np.flatnonzero(self.active):
            idx = pos[order[ptr[g]:ptr[g + 1]]]
            d = self.direction[order[ptr[g]:ptr[g + 1]]]
            c = self.scale[g]
            out[np.ix_(idx, idx)] = (1.0 - c) * np.outer(d, d)
            out[idx, idx] += c
        return out


class GroupSoftThreshold(Operator):
    """Block soft-thresholding over a partition of the coordinates.

    Parameters
    ----------
    groups : (p,) integer labels, one per coordinate (any integers; groups are ordered by label).
    weights : None (``ω_g = √|g|``) or (n_groups,) nonnegative weights in label order (a zero
        weight leaves its group unpenalised).
    per_group : bool
        False: one ``λ`` for every group (``n_params = 1``, named ``lam1``). True: one ``λ_g``
        per group (named ``lam[label]``).
    tie_active : the vertex taken at a tie ``‖u_g‖ = τ_g`` (False: the zero block, the reference).
    """

    def __init__(self, groups, *, weights=None, per_group=False, tie_active=False):
        self.order, self.ptr, self.group_of, self.labels = group_structure(groups)
        self.dim = int(self.group_of.shape[0])
        self.n_groups = int(len(self.labels))
        sizes = np.diff(self.ptr)
        if weights is None:
            self.weights = np.sqrt(sizes).astype(np.float64)
        else:
            self.weights = as_float_array(weights, "group_weights", ndim=1, dtype=np.float64)
            if self.weights.shape[0] != self.n_groups:
                raise ValueError(f"group_weights must have one weight per group "
                                 f"({self.n_groups}); got {self.weights.shape[0]}.")
            if np.any(self.weights < 0):
                raise ValueError("group_weights must be >= 0 (0 leaves a group unpenalised).")
        if not isinstance(per_group, (bool, np.bool_)):
            raise TypeError(f"per_group must be True or False; got {per_group!r}.")
        self.per_group = bool(per_group)
        self.n_params = self.n_groups if self.per_group else 1
        self.param_names = (tuple(f"lam[{int(l)}]" for l in self.labels) if self.per_group
                            else ("lam1",))
        #: the hyperparameter index of each group
        self.param_of = (np.arange(self.n_groups, dtype=np.int64) if self.per_group
                         else np.zeros(self.n_groups, dtype=np.int64))
        self.tie_active = bool(tie_active)

    def group_lambdas(self, lam_G):
        """``λ_g`` of each group (float64)."""
        return np.asarray(lam_G, dtype=np.float64)[self.param_of]

    def thresholds(self, lam_G, gamma, dtype=np.float64):
        """``τ_g = γ λ_g ω_g`` per group, in ``dtype``."""
        return (float(gamma) * self.group_lambdas(lam_G) * self.weights).astype(dtype)

    def group_norms(self, u):
        """``‖u_g‖₂`` per group (float64, computed as the kernels do)."""
        u = np.ascontiguousarray(u)
        return np.array([group_norm(u, self.order, self.ptr[g], self.ptr[g + 1])
                         for g in range(self.n_groups)])

    def apply(self, u, lam_G, gamma, w, out):
        return block_soft_threshold_step(u, self.order, self.ptr,
                                         self.thresholds(lam_G, gamma, u.dtype), w, out)

    def _arrays(self, u, tau, tie_active):
        u = np.ascontiguousarray(u)
        active = np.empty(self.n_groups, dtype=np.float64)
        scale = np.empty(self.n_groups, dtype=np.float64)
        direction = np.empty_like(u)
        block_soft_threshold_selection(u, self.order, self.ptr, tau, tie_active, active, scale,
                                       direction)
        return active, scale, direction

    def select(self, u, lam_G, gamma, tie_active=None):
        tie_active = self.tie_active if tie_active is None else bool(tie_active)
        tau = self.thresholds(lam_G, gamma, np.asarray(u).dtype)
        active, scale, direction = self._arrays(u, tau, tie_active)
        return GroupSoftThresholdSelection(self, active, scale, direction, lam_G, gamma)

    def ties(self, u, lam_G, gamma, tie_tol=0.0):
        """Groups with ``|‖u_g‖ - τ_g| <= tie_tol · τ_g`` and ``τ_g > 0`` (exact equality when
        ``tie_tol = 0``)."""
        tau = self.thresholds(lam_G, gamma, np.asarray(u).dtype).astype(np.float64)
        gap = np.abs(self.group_norms(u) - tau)
        near = gap <= tie_tol * tau if tie_tol > 0 else gap == 0
        return np.flatnonzero(near & (tau > 0))

    def vertices(self, u, lam_G, gamma, cap=MAX_SELECTIONS, tie_tol=0.0):
        """Every selection at ``u``: each active/inactive choice of the (near-)tied groups; a
        tied group's active block is ``d dᵀ`` (``‖u_g‖`` snapped to ``τ_g``: ``c = 0``)."""
        tau = self.thresholds(lam_G, gamma, np.asarray(u).dtype)
        ties = self.ties(u, lam_G, gamma, tie_tol)
        active, scale, direction = self._arrays(u, tau, False)
        u = np.asarray(u)
        r = self.group_norms(u)
        for g in ties:  # a (near-)tied group's direction, whichever side of τ_g it lies
            idx = self.order[self.ptr[g]:self.ptr[g + 1]]
            direction[idx] = u[idx] / r[g]
        out = []
        for bits in enumerate_ties(active.astype(np.uint8), ties, cap, what="groups"):
            a = bits.astype(np.float64)
            s = np.where(a > 0, scale, 0.0)
            s[ties] = 0.0
            d = np.where(a[self.group_of] > 0, direction, 0.0).astype(direction.dtype)
            out.append(GroupSoftThresholdSelection(self, a, s, d, lam_G, gamma))
        return out
