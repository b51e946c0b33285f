"""Fixed-point iteration ``w_{t+1} = Φ(w_t, λ)`` (docs/theory.md §6, Assumption 3.1).

Stops when ``‖w_{t+1} - w_t‖ <= tol ‖w_{t+1}‖`` (or the step is exactly zero) or after
``max_iter`` steps. Records the support-identification iteration: the first ``t`` from
which every later iterate has the same nonzero pattern as the last one (docs/theory.md §8,
discussion item 3).
"""

from dataclasses import dataclass, field
from math import isfinite  # scalars: 10x cheaper than numpy's ufunc

import numpy as np

from ns_implicit._validation import check_map_at, check_positive_int, default_tol
from ns_implicit.errors import NonFiniteError


class Trajectory:
    """The iterates ``w_0, …, w_t``, each stored sparsely (they are prox outputs).

    ``traj[s]`` returns ``w_s`` as a dense array; memory is ``O(Σ_s nnz(w_s))``.
    """

    def __init__(self, dim, dtype):
        self.dim = dim
        self.dtype = np.dtype(dtype)
        self._idx = []
        self._val = []

    def append(self, w):
        idx = np.flatnonzero(w).astype(np.int32)
        self._idx.append(idx)
        self._val.append(w[idx])

    def __len__(self):
        return len(self._idx)

    def extend(self, other):
        """Append ``other``'s iterates after its first (``other`` starts where this one ends)."""
        self._idx.extend(other._idx[1:])
        self._val.extend(other._val[1:])

    def __getitem__(self, s):
        w = np.zeros(self.dim, dtype=self.dtype)
        w[self._idx[s]] = self._val[s]
        return w

    @property
    def nbytes(self):
        return sum(i.nbytes + v.nbytes for i, v in zip(self._idx, self._val))


@dataclass
class SolveResult:
    """Outcome of :func:`fixed_point_iteration`.

    ``w`` is the last iterate ``w_t`` with ``t = iterations``; ``residual`` is the relative
    step ``‖w_t - w_{t-1}‖ / ‖w_t‖`` (the absolute step when ``w_t = 0``);
    ``support_identified_at`` the first iteration from which the support equals that of
    ``w_t``; ``residuals`` (when recorded) the residual after each iteration.
    ``solver`` names the solver that ran (``fixed-point``, ``cd``, ``anderson``) and
    ``certificate`` how ``converged`` was decided (docs/theory.md §16.3).
    """

    w: np.ndarray
    iterations: int
    residual: float
    converged: bool
    support_identified_at: int
    trajectory: Trajectory = None
    residuals: list = field(default=None, repr=False)
    solver: str = "fixed-point"
    certificate: str = "relative step of Phi"

    @property
    def support_size(self):
        return int(np.count_nonzero(self.w))


def _safe_norm(w):
    peak = float(np.max(np.abs(w))) if w.size else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return peak
    return peak * float(np.linalg.norm(w / peak))


def fixed_point_iteration(phi, w0=None, *, tol=None, max_iter=10_000,
                          store_trajectory=False, record_residuals=False):
    """Iterate ``w_{t+1} = Φ(w_t, λ)`` from ``w0`` (default 0), docs/theory.md §6.

    Parameters
    ----------
    phi : a map at fixed λ (e.g. ``ElasticNetMap(X, y).at(lam)``).
    w0 : starting point (default zeros; ITD needs ``w0`` independent of λ, §7).
    tol : relative step tolerance (default None: 1e-10 in float64, 1e-6 in float32; ``tol=0``: run exactly ``max_iter`` steps, e.g. to unroll a
        fixed number of steps for ITD even past an exact fixed point of ``w``);
    max_iter : iteration budget (>= 0).
    store_trajectory : keep ``w_0, …, w_t`` (sparse) for reverse-mode ITD.
    record_residuals : keep every iteration's ``residual`` (relative step) in ``result.residuals``.

    Raises :class:`~ns_implicit.errors.NonFiniteError` when an iterate overflows (data whose
    scale overflows the dtype) instead of iterating on NaN for the whole budget.
    """
    check_map_at(phi, "fixed_point_iteration")
    tol = default_tol(tol, phi.dtype)
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    w = np.zeros(phi.dim, dtype=phi.dtype) if w0 is None else phi.check_point(w0, "w0").copy()
    nxt = np.empty_like(w)
    traj = Trajectory(phi.dim, phi.dtype) if store_trajectory else None
    residuals = [] if record_residuals else None
    if traj is not None:
        traj.append(w)
    last_change, residual, t = 0, np.inf, 0
    with np.errstate(over="ignore"):  # an overflowing ‖w‖² is handled below, not warned
        while t < max_iter:
            residual, changed = phi.advance(w, nxt)
            w, nxt = nxt, w
            t += 1
            if residual == 0.0 or not isfinite(residual):
                # the step's sum of squares may under- or overflow while the step is not 0 and
                # finite (data scaled by 2**±500): a scaled norm of the difference decides
                diff = w - nxt
                if np.all(np.isfinite(diff)):
                    residual = _safe_norm(diff)
            if changed:
                last_change = t
            if traj is not None:
                traj.append(w)
            norm = np.sqrt(w.dot(w))  # = np.linalg.norm(w) for a 1-D array, without its overhead
            if not (isfinite(norm) and isfinite(residual)):
                norm = _safe_norm(w)  # ‖w‖² may overflow while w is finite
                if not (isfinite(norm) and isfinite(residual)):
                    raise NonFiniteError(
                        f"the fixed-point iteration overflowed at step {t} (iterate or step not "
                        f"finite in {w.dtype}); rescale (standardise) X and y, or compute in float64.")
            elif norm == 0.0 and residual > 0.0:
                norm = _safe_norm(w)  # ‖w‖² may underflow while w is not 0
            residual = residual / norm if norm > 0 else residual
            if residuals is not None:
                residuals.append(float(residual))
            if tol > 0 and residual <= tol:
                break
    return SolveResult(w=w, iterations=t, residual=float(residual), converged=residual <= tol,
                       support_identified_at=last_change, trajectory=traj,
                       residuals=residuals)
