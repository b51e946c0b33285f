"""The testing kit beyond the elastic net: seeded instances at certified generic points for the
lasso (``p > n`` included), the weighted and the nonnegative lasso, sparse logistic regression
and the linear SVM, each with our exact reference (docs/theory.md §15).

Candidate conventions (stable): float64 arrays, Python floats, and the answer in the order of
the hyperparameters (anything ``numpy.asarray`` turns into a float array of that shape):

=================  ===============================================  =========================
problem            candidate(...)                                   returns
=================  ===============================================  =========================
``lasso``          ``(X, y, X_val, y_val, lam1)``                   ``[dE/dlam1]``
``weighted-lasso`` ``(X, y, X_val, y_val, lam)`` (``lam``: p array)  ``dE/dlam`` (p,)
``nonneg-lasso``   ``(X, y, X_val, y_val, lam1)``                   ``[dE/dlam1]``
``sparse-logreg``  ``(X, y, X_val, y_val, lam1)`` (labels ±1)       ``[dE/dlam1]``
``svm``            ``(X, y, X_val, y_val, C)`` (labels ±1)          ``[dE/dC]``
``deq``            ``(X, y, readout, theta)``                       ``dE/dtheta``
``group-lasso``    ``(X, y, X_val, y_val, groups, lam1)``           ``[dE/dlam1]``
``simplex-ls``     ``(X, y, X_val, y_val, radius)``                 ``[dE/dradius]``
``l1-ball-ls``     ``(X, y, X_val, y_val, radius)``                 ``[dE/dradius]``
=================  ===============================================  =========================

with the inner problems and outer losses of the problem bundles of the same names
(:mod:`ns_implicit.problems`; the SVM's outer loss is the held-out logistic loss of
``w = Xᵀ(y ⊙ α)``; for ``deq``, ``X`` holds the ``m`` inputs, ``y`` the targets of the readout
and ``theta = (W, U, b)`` flattened in C order, :class:`~ns_implicit.problems.deq.ReLUEquilibriumProblem`;
``groups`` holds one integer label per feature and every group has the weight ``√|g|``,
:class:`~ns_implicit.problems.group_lasso.GroupLassoProblem`; ``simplex-ls`` and ``l1-ball-ls``
are least squares over ``{w >= 0, Σw = r}`` and ``{‖w‖₁ <= r}``,
:mod:`ns_implicit.problems.constrained_least_squares`). Half of the group-lasso instances
(odd seeds) have a group of all-zero features, whose ``u_g`` is exactly 0 at every iterate:
far from the kink ``‖u_g‖ = τ_g``, and where a block soft-threshold differentiated naively
(``u·max(0, 1 - τ/‖u‖)`` through ``u/‖u‖``) returns NaN.
An instance is generic when every coordinate of ``u = T(w*)`` is at relative distance at least
:data:`GENERIC_MARGIN` from the operator's kinks (the operator's own
``ties(..., tie_tol=GENERIC_MARGIN)`` is empty; for the ReLU layer every pre-activation is at
least ``GENERIC_MARGIN`` away from 0): the hypergradient is unique there.
"""

from dataclasses import dataclass

import numpy as np

from ns_implicit.testing._call import call_with_timeout
from ns_implicit.testing.assertions import ATOL, RTOL, TIMEOUT, CheckReport

GENERIC_MARGIN = 1e-3
#: Relative tie tolerance of a group-lasso block kink (Brent's root in λ1 to ~1e-15 relative,
#: solves to round-off; the other groups are checked to be >= 1e3 × this far).
KINK_TIE_TOL = 1e-8
#: Relative offsets of a near-kink instance from its block kink (log-uniform).
NEAR_KINK_OFFSET = (1e-6, 1e-3)
PROBLEMS = ("lasso", "weighted-lasso", "nonneg-lasso", "sparse-logreg", "svm", "deq",
            "group-lasso", "simplex-ls", "l1-ball-ls")


@dataclass(frozen=True, eq=False)
class ProblemInstance:
    """One instance of a problem: its arrays, hyperparameters ``lam``, the solution ``w`` and
    our reference ``expected``; ``seed`` rebuilds it with :func:`build_problem_instance`."""

    problem: str
    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    lam: np.ndarray
    w: np.ndarray
    expected: np.ndarray
    seed: int
    kind: str = "generic"
    at_kink: bool = False
    groups: np.ndarray = None
    kink_set: np.ndarray = None  # at a kink: the vertex hypergradients (rows)

    def arguments(self):
        """Fresh copies for a candidate (a candidate cannot change the instance)."""
        if self.problem == "deq":  # X_val holds the readout there
            return self.X.copy(), self.y.copy(), self.X_val.copy(), self.lam.copy()
        lam = (self.lam.copy(),) if self.problem == "weighted-lasso" else (float(self.lam[0]),)
        groups = (self.groups.copy(),) if self.groups is not None else ()
        return (self.X.copy(), self.y.copy(), self.X_val.copy(), self.y_val.copy(), *groups,
                *lam)

    def summary(self):
        n, p = self.X.shape
        return (f"generic {self.problem}: p={p}, n={n}, n_val={self.X_val.shape[0]}, "
                f"lam={np.round(self.lam[:4], 6).tolist()}{' …' if len(self.lam) > 4 else ''}, "
                f"support={int(np.count_nonzero(self.w))}\n"
                f"rebuild: ns_implicit.testing.problems.build_problem_instance("
                f"{self.problem!r}, {self.seed})")


def _bundle(name, X, y, X_val, y_val, groups=None):
    from ns_implicit.problems.constrained_least_squares import (L1BallLeastSquaresProblem,
                                                                SimplexLeastSquaresProblem)
    from ns_implicit.problems.elastic_net import LassoProblem
    from ns_implicit.problems.group_lasso import GroupLassoProblem
    from ns_implicit.problems.nonneg_lasso import NonnegativeLassoProblem
    from ns_implicit.problems.sparse_logreg import SparseLogisticProblem
    from ns_implicit.problems.svm import LinearSVMProblem
    from ns_implicit.problems.weighted_lasso import WeightedLassoProblem

    cls = {"lasso": LassoProblem, "weighted-lasso": WeightedLassoProblem,
           "nonneg-lasso": NonnegativeLassoProblem, "sparse-logreg": SparseLogisticProblem,
           "svm": LinearSVMProblem, "simplex-ls": SimplexLeastSquaresProblem,
           "l1-ball-ls": L1BallLeastSquaresProblem}.get(name)
    if name == "group-lasso":
        return GroupLassoProblem(X, y, X_val, y_val, groups)
    return cls(X, y, X_val, y_val)


def _groups(rng, p, dead):
    """Consecutive groups of 1-4 features; with ``dead``, one group of >= 2 features whose
    columns will be zeroed."""
    sizes = []
    while sum(sizes) < p:
        sizes.append(int(rng.integers(1, 5)))
    groups = np.repeat(np.arange(len(sizes)), sizes)[:p]
    return groups, (int(np.argmax(np.bincount(groups))) if dead else None)


def build_problem_instance(name, seed, kink="none"):
    """The instance of ``name`` drawn from ``seed``, or None when the draw is too close to a
    kink (or degenerate) to serve as a generic point.

    ``kink`` (``group-lasso`` only): ``"exact"`` moves ``λ1`` down to the first block kink below
    the drawn one, where a group enters (``‖u*_g‖ = τ_g`` to ~1e-15; the answer is checked
    against the hull of the vertex hypergradients), ``"near"`` to a relative offset in
    :data:`NEAR_KINK_OFFSET` on either side of it (a generic point with a small margin)."""
    from ns_implicit.methods.exact import exact

    if name not in PROBLEMS:
        raise ValueError(f"problem must be one of {', '.join(PROBLEMS)}; got {name!r}.")
    if kink not in ("none", "exact", "near"):
        raise ValueError(f"kink must be 'none', 'exact' or 'near'; got {kink!r}.")
    if kink != "none" and name != "group-lasso":
        raise ValueError(f"kink instances are built for group-lasso (and, through "
                         f"ns_implicit.testing.strategies, the elastic net); got {name!r}.")
    if name == "deq":
        return _deq_instance(seed)
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(20, 60)), int(rng.integers(4, 40))
    X, X_val = rng.standard_normal((n, p)), rng.standard_normal((30, p))
    beta = np.where(rng.random(p) < 0.3, rng.standard_normal(p) * 2.0, 0.0)
    groups = None
    if name == "group-lasso":
        groups, dead = _groups(rng, p, dead=seed % 2 == 1 and kink == "none")
        beta = np.where(rng.random(groups.max() + 1) < 0.4, 1.0, 0.0)[groups] * beta * 2.0
        if dead is not None:
            X[:, groups == dead] = 0.0  # u_g = 0 exactly at every iterate
    if name in ("nonneg-lasso", "simplex-ls"):
        beta = np.abs(beta)
    y, y_val = X @ beta + 0.1 * rng.standard_normal(n), X_val @ beta
    if name in ("sparse-logreg", "svm"):
        y, y_val = np.where(y > 0, 1.0, -1.0), np.where(y_val > 0, 1.0, -1.0)
        if len(np.unique(y)) < 2:
            return None
    bundle = _bundle(name, X, y, X_val, y_val, groups)
    if name == "svm":
        lam = np.array([10.0 ** rng.uniform(-2.5, 0.0)])
    elif name == "simplex-ls":
        lam = np.array([max(float(np.abs(beta).sum()), 0.5) * rng.uniform(0.3, 1.5)])
    elif name == "l1-ball-ls":  # the constraint binds below the least-squares solution's norm
        lam = np.array([rng.uniform(0.2, 0.8) * bundle.radius_max])
    else:
        lam = np.full(bundle.map.n_hyper, rng.uniform(0.05, 0.6) * bundle.lam1_max)
        if name == "weighted-lasso":
            lam *= np.exp(0.3 * rng.standard_normal(p))
    if not np.all(lam > 0):
        return None
    if kink != "none":
        return _group_kink_instance(bundle, lam, (X, y, X_val, y_val), groups, seed, kink, rng)
    phi = bundle.map.at(lam)
    w = bundle.solve(lam, tol=1e-14, max_iter=1_000_000).w
    u = phi.inner_point(w)
    if not np.any(w) or len(phi.G.ties(u, phi.lam_G, phi.gamma, tie_tol=GENERIC_MARGIN)):
        return None  # an empty support or a coordinate near a kink: not generic
    try:
        expected = exact(phi, w, bundle.outer.grad_w(w)).value.astype(np.float64)
    except ValueError:  # a singular restricted system (non-unique solution): not usable
        return None
    if not np.any(expected):  # e.g. a separable SVM with no α at C: ∂E/∂C = 0 tests nothing
        return None
    return ProblemInstance(name, X, y, X_val, y_val, np.asarray(lam, np.float64), w,
                           expected, int(seed), groups=groups)


def _group_kink_instance(bundle, lam, arrays, groups, seed, kink, rng):
    """The first block kink below ``lam`` (a group entering), or a point near it."""
    from ns_implicit.methods.exact import exact
    from ns_implicit.theory.group_instances import block_gaps, entering_block_kink
    from ns_implicit.theory.instances import DegenerateKinkError
    from ns_implicit.theory.sets import implicit_jacobians

    try:
        lam_k, w, _ = entering_block_kink(bundle.map, float(lam[0]))
    except DegenerateKinkError:
        return None
    if kink == "near":
        offset = np.exp(rng.uniform(*np.log(NEAR_KINK_OFFSET)))
        lam_k *= 1.0 + (offset if rng.random() < 0.5 else -offset)
        w = bundle.solve([lam_k], w0=w, tol=1e-15, max_iter=1_000_000).w
    lam = np.array([lam_k])
    phi = bundle.map.at(lam)
    gaps = np.abs(block_gaps(bundle.map, lam, w))
    tied = np.flatnonzero(gaps <= KINK_TIE_TOL)
    if kink == "exact" and (len(tied) != 1 or np.sum(gaps < 1e3 * KINK_TIE_TOL) != 1):
        return None  # not one clean tie
    if kink == "near" and np.min(gaps) < 1e-9:
        return None
    grad = bundle.outer.grad_w(w)
    expected = exact(phi, w, grad).value.astype(np.float64)
    kink_set = None
    if kink == "exact":
        Js = implicit_jacobians(phi, w, tie_tol=KINK_TIE_TOL)
        kink_set = np.array([J.T @ np.asarray(grad, np.float64) for J in Js])
    return ProblemInstance("group-lasso", *arrays, lam, w, expected, int(seed),
                           kind="kink" if kink == "exact" else "near-kink",
                           at_kink=kink == "exact", groups=groups, kink_set=kink_set)


def _deq_instance(seed):
    """A ReLU equilibrium layer (width 3-8, 1-4 inputs, ``‖W‖₂`` in [0.3, 0.9]) at a point
    whose pre-activations are all at least ``GENERIC_MARGIN`` from 0."""
    from ns_implicit.methods.exact import exact
    from ns_implicit.problems.deq import ReLUEquilibriumProblem

    rng = np.random.default_rng(seed)
    d, k, m = int(rng.integers(3, 9)), int(rng.integers(2, 6)), int(rng.integers(1, 5))
    X, t, r = rng.standard_normal((m, k)), rng.standard_normal(m), rng.standard_normal(d)
    bundle = ReLUEquilibriumProblem(X, t, r, d)
    W = rng.standard_normal((d, d))
    W *= rng.uniform(0.3, 0.9) / np.linalg.norm(W, 2)
    theta = bundle.pack(W, rng.standard_normal((d, k)), 0.5 * rng.standard_normal(d))
    phi = bundle.map.at(theta)
    z = bundle.solve(theta, tol=1e-15, max_iter=100_000).w
    if np.min(np.abs(phi.inner_point(z))) < GENERIC_MARGIN or not np.any(z):
        return None
    expected = exact(phi, z, bundle.outer.grad_w(z)).value.astype(np.float64)
    if not np.any(expected):
        return None
    return ProblemInstance("deq", X, t, r, np.zeros(0), np.asarray(theta, np.float64), z,
                           expected, int(seed))


def sample_problem_instances(name, n, seed=0, near_kinks=False):
    """``n`` generic instances of ``name`` from consecutive seeds starting at ``seed``; with
    ``near_kinks`` (group-lasso) alternately at an exact block kink and near one."""
    out, s = [], int(seed)
    while len(out) < n:
        kink = ("exact" if len(out) % 2 == 0 else "near") if near_kinks else "none"
        inst = build_problem_instance(name, s, kink)
        if inst is not None:
            out.append(inst)
        s += 1
        if s - seed > 50 * n + 100:
            raise RuntimeError(f"could not draw {n} generic {name} instances")
    return out


def problem_instances(name, near_kinks=False):
    """A Hypothesis strategy of generic instances of ``name`` (drawn by seed); with
    ``near_kinks`` (group-lasso), instances at exact block kinks and near them."""
    from hypothesis import strategies as st

    if name not in PROBLEMS:
        raise ValueError(f"problem must be one of {', '.join(PROBLEMS)}; got {name!r}.")
    kinds = st.sampled_from(("exact", "near")) if near_kinks else st.just("none")
    return st.tuples(st.integers(0, 2**32 - 1), kinds).map(
        lambda a: build_problem_instance(name, *a)).filter(lambda inst: inst is not None)


def check_problem_hypergradient(candidate, instance, *, rtol=RTOL, atol=ATOL, timeout=TIMEOUT):
    """Call ``candidate`` on ``instance`` and compare (relative error at a generic point);
    returns a :class:`~ns_implicit.testing.CheckReport` (never raises for the candidate)."""
    out = call_with_timeout(candidate, instance.arguments(), timeout)
    report = lambda check, message, **kw: CheckReport(  # noqa: E731
        instance, False, check, message, seconds=out.seconds, **kw)
    if out.status == "timeout":
        return report("timeout", f"no answer within timeout={timeout:g} s")
    if out.status == "raised":
        return report("raised", f"the candidate raised {out.error}", detail=out.traceback)
    try:
        got = np.array(out.value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return report("wrong-type", f"the answer is not convertible to a float array ({exc})")
    if got.shape != instance.expected.shape:
        return report("wrong-shape", f"the answer has shape {got.shape}; expected "
                                     f"{instance.expected.shape}")
    if not np.all(np.isfinite(got)):
        return report("non-finite", "the answer contains NaN or inf", got=got)
    if instance.kink_set is not None:  # an exact kink: the hull of the vertex hypergradients
        from ns_implicit.theory.conservative import distance_to_hull

        scale = float(np.max(np.linalg.norm(instance.kink_set, axis=1)))
        error = float(distance_to_hull(got, instance.kink_set))
        tol = atol + rtol * scale
        passed = error <= tol
        hull = (f"[{instance.kink_set.min():.6g}, {instance.kink_set.max():.6g}]"
                if got.size == 1 else f"the hull of {len(instance.kink_set)} vertices")
        message = (f"inside the conservative set {hull}" if passed else
                   f"distance {error:.3g} from the conservative set {hull} exceeds "
                   f"atol + rtol·max|v| = {tol:.3g}")
        return CheckReport(instance, passed, "kink-set", message, got=got, error=error,
                           tolerance=tol, seconds=out.seconds)
    error = float(np.linalg.norm(got - instance.expected))
    tol = atol + rtol * float(np.linalg.norm(instance.expected))
    rel = error / max(float(np.linalg.norm(instance.expected)), 1e-300)
    passed = error <= tol
    message = (f"relative error {rel:.2e}" if passed else
               f"relative error {rel:.2e} exceeds rtol={rtol:g} (atol={atol:g})")
    return CheckReport(instance, passed, "relative-error", message, got=got, error=error,
                       tolerance=tol, seconds=out.seconds)


def check_problem_backend(candidate, name, *, examples=20, seed=0, rtol=RTOL, atol=ATOL,
                          timeout=TIMEOUT, near_kinks=False):
    """``candidate`` on ``examples`` generic instances of ``name`` (with ``near_kinks``, for
    group-lasso: alternately at exact block kinks and near them); one report each (the
    remaining ones ``not-run`` after a timeout)."""
    reports, timed_out = [], False
    for inst in sample_problem_instances(name, examples, seed, near_kinks):
        if timed_out:
            reports.append(CheckReport(inst, False, "not-run",
                                       "skipped: an earlier call timed out and may still run"))
            continue
        rep = check_problem_hypergradient(candidate, inst, rtol=rtol, atol=atol,
                                          timeout=timeout)
        timed_out = rep.check == "timeout"
        reports.append(rep)
    return reports
