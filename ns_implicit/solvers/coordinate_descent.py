"""Coordinate descent for the fixed point of a separable prox ∘ least-squares map,
docs/theory.md §16.2–§16.3.

The fixed point of ``Φ = prox_{γg} ∘ (I - γ∇F)`` is the minimiser of ``F + g`` for every
``γ > 0`` (§16.1), so any solver of the convex problem may compute it. For the
least-squares step (:class:`~ns_implicit.steps.least_squares.LeastSquaresStep`) followed by
soft-thresholding (shared or weighted ``λ``) or nonnegative soft-thresholding, cyclic
coordinate descent (:mod:`ns_implicit.kernels.coordinate_descent`) reaches it in far fewer
passes over ``X`` than the iteration of ``Φ`` when ``q`` is close to 1.

Certificate: the result's ``w`` is ``Φ(w_cd)`` and ``converged`` means the relative step
``‖Φ(w_cd) - w_cd‖ / ‖Φ(w_cd)‖ <= tol`` — the stopping test of
:func:`~ns_implicit.solvers.fixed_point.fixed_point_iteration`, on the map itself. When it
fails after a few rounds of tighter coordinate descent, the iteration of ``Φ`` polishes.
"""

import numpy as np

from ns_implicit._validation import check_map_at, check_positive_int, default_tol
from ns_implicit.kernels.coordinate_descent import cd_csc, cd_dense, cd_gram
from ns_implicit.solvers.fixed_point import SolveResult, fixed_point_iteration

#: Rounds of coordinate descent, each with a 10x tighter sweep tolerance, before polishing.
_ROUNDS = 4
#: Sweeps between two exact recomputations of ``H w - b`` or ``y - X w`` (bounds the drift of
#: the incrementally updated vector) and two certificate checks.
_CHUNK = 200
#: The first round stops when a full sweep moves ``w`` by less than this times ``tol·‖w‖``.
_FIRST_FACTOR = 0.3


def _penalty(phi):
    """``(λ per coordinate, nonneg)`` for the separable operators coordinate descent knows,
    or None."""
    from ns_implicit.operators.nonnegative import NonnegativeSoftThreshold
    from ns_implicit.operators.soft_threshold import SoftThreshold
    from ns_implicit.operators.weighted_soft_threshold import WeightedSoftThreshold

    G = getattr(phi, "G", None)
    kind = type(G)
    if kind is SoftThreshold:
        return np.full(phi.dim, float(G.weight(phi.lam_G))), False
    if kind is WeightedSoftThreshold:
        return np.asarray(phi.lam_G, dtype=np.float64).copy(), False
    if kind is NonnegativeSoftThreshold:
        return np.full(phi.dim, float(G.weight(phi.lam_G))), True
    return None


def supports_cd(phi):
    """Whether :func:`coordinate_descent` applies to the map ``phi`` (at fixed λ): a
    least-squares step followed by (weighted, nonnegative) soft-thresholding."""
    from ns_implicit.steps.least_squares import LeastSquaresStepAt

    return isinstance(getattr(phi, "T", None), LeastSquaresStepAt) and _penalty(phi) is not None


class _Design:
    """The design in the layout coordinate descent reads, built once per step and kept on it
    (``LeastSquaresStep.cd_layout``)."""

    def __init__(self, step):
        import scipy.sparse as sp

        self.step = step
        if step.H is not None:  # the rows are not read (nor formed, for a centred design)
            self.kind = "gram"
            return
        X = step.X
        if sp.issparse(X):
            self.kind = "csc"
            Xc = X.tocsc()
            Xc.sort_indices()
            self.indptr, self.indices, self.data = Xc.indptr, Xc.indices, Xc.data
            d = Xc.data.astype(np.float64)
            self.colsq = np.diff(np.concatenate(([0.0], np.cumsum(d * d)))[Xc.indptr])
        else:
            self.kind = "dense"
            self.Xf = np.asfortranarray(X)
            self.colsq = np.einsum("ij,ij->j", self.Xf, self.Xf, dtype=np.float64)

    def residual(self, w):
        """``y - X w`` in the step's dtype."""
        return np.asarray(self.step.y - self.step.X @ w, dtype=self.step.dtype).ravel()

    def run(self, w, lam, lam2, nonneg, eps, sweeps):
        s = self.step
        if self.kind == "gram":
            grad = s.H @ w - s.b
            return cd_gram(s.H, s.b, w, grad, lam, lam2, nonneg, eps, sweeps)
        r = self.residual(w)
        if self.kind == "dense":
            return cd_dense(self.Xf, r, w, self.colsq, lam, lam2, nonneg, eps, sweeps)
        return cd_csc(self.indptr, self.indices, self.data, s.n, r, w, self.colsq, lam, lam2,
                      nonneg, eps, sweeps)


def coordinate_descent(phi, w0=None, *, tol=None, max_iter=10_000):
    """The fixed point of ``phi`` by coordinate descent, certified on ``Φ`` (docs/theory.md §16.3).

    Parameters
    ----------
    phi : a map at fixed λ whose :func:`supports_cd` is true (least-squares step followed
        by soft-thresholding, weighted soft-thresholding or nonnegative soft-thresholding).
    w0 : warm start (default zeros).
    tol : relative tolerance on ``‖Φ(w) - w‖ / ‖Φ(w)‖`` (default 1e-10 in float64, 1e-6 in
        float32).
    max_iter : budget, shared by coordinate sweeps and the polishing steps of ``Φ``.

    Returns a :class:`~ns_implicit.solvers.fixed_point.SolveResult` with ``solver="cd"``;
    ``iterations`` counts sweeps (full or over the support) plus steps of ``Φ``.
    """
    check_map_at(phi, "coordinate_descent")
    if not supports_cd(phi):
        raise ValueError(
            f"inner_solver='cd' needs a least-squares step followed by soft-thresholding, "
            f"weighted soft-thresholding or nonnegative soft-thresholding; got "
            f"{type(getattr(phi, 'G', phi)).__name__} after "
            f"{type(getattr(phi, 'T', phi)).__name__}: use inner_solver='fixed-point' or "
            "'anderson'.")
    tol = default_tol(tol, phi.dtype)
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    lam, nonneg = _penalty(phi)
    step = phi.T.step
    design = step.cd_layout
    if design is None:  # built once per step, kept across λ
        design = step.cd_layout = _Design(step)
    lam2 = float(phi.T.lam2)
    w = np.zeros(phi.dim, dtype=phi.dtype) if w0 is None else phi.check_point(w0, "w0").copy()
    w = np.ascontiguousarray(w)
    if nonneg:
        np.maximum(w, 0.0, out=w)
    used = 0
    if not np.any(w) and max_iter > 0:  # one sweep from 0 sets the scale of ‖w‖
        ran, _ = design.run(w, lam, lam2, nonneg, np.inf, 1)
        used += int(ran)
    factor = _FIRST_FACTOR
    check = None
    while used < max_iter:
        eps = factor * tol * float(np.linalg.norm(w))
        chunk = min(_CHUNK, max_iter - used)
        ran, _ = design.run(w, lam, lam2, nonneg, eps, chunk)
        used += int(ran)
        check = fixed_point_iteration(phi, w, tol=tol, max_iter=1)
        if check.converged and tol > 0:
            break
        if ran < chunk:  # the sweep test was met but not the certificate: tighten it
            factor *= 0.1
            if factor < _FIRST_FACTOR * 10.0 ** -_ROUNDS:
                break
    polish = 0 if check is None else check.iterations
    if check is None or not check.converged:
        start = w if check is None else check.w
        more = fixed_point_iteration(phi, start, tol=tol, max_iter=max(max_iter - used, 0))
        if check is None or more.iterations > 0:
            check = more
            polish += more.iterations
    return SolveResult(w=check.w, iterations=used + polish, residual=check.residual,
                       converged=check.converged,
                       support_identified_at=used + check.support_identified_at,
                       solver="cd",
                       certificate="relative step of Phi at the coordinate-descent point")
