"""Checking another backend's elastic-net hypergradient against ours (docs/theory.md §2, §6, §11.2).

The candidate convention (stable)::

    candidate(X, y, X_val, y_val, lam1, lam2) -> [dE/dlam1, dE/dlam2]

with float64 NumPy arrays ``X (n, p)``, ``y (n,)``, ``X_val (n_val, p)``, ``y_val (n_val,)``,
Python floats ``lam1, lam2``, the inner problem
``min_w ‖Xw - y‖²/(2n) + lam1‖w‖₁ + (lam2/2)‖w‖²`` and the outer loss
``E(w) = ‖X_val w - y_val‖²/(2 n_val)``. The answer may be anything ``numpy.asarray`` turns
into a float array of shape ``(2,)``.

Two checks, chosen by the instance:

* generic point (a unique derivative, docs/theory.md §2 (P1)): the relative error
  ``‖got - expected‖ <= atol + rtol·‖expected‖``;
* kink (``instance.at_kink``): membership of the conservative set of the hypergradient,
  ``dist(got, conv V) <= atol + kink_tol·max_v ‖v‖`` with ``V`` the vertex hypergradients
  ``∇_2E + Jᵀ∇_1E``, ``J = (I - A)⁻¹B`` over the 0/1 selections of the tied coordinates
  (docs/theory.md §6 eq. (10); the hull is conservative by §2 (P2)). An answer outside it is also
  located against the larger fixed-point set (11), where unrolled differentiation (ITD)
  converges at a kink when the iterates approach the tie from alternating sides (docs/theory.md §6,
  Lemma 3.2 (c)); ``kink_set="fixed-point"`` makes that the pass criterion.
  Every kink report also names the answer's tie convention (``report.convention``: the inactive
  or the active vertex, or an interior point with its tie weight θ; see
  :mod:`ns_implicit.testing.convention`); ``strict_vertices=True`` fails an interior answer.

A candidate that raises, returns something that is not a float array, the wrong shape, NaN /
inf, or no answer within ``timeout`` seconds fails with that reason (see
:mod:`ns_implicit.testing._call` for how the time limit works).
"""

from dataclasses import dataclass

import numpy as np

from ns_implicit._validation import check_positive_float, check_positive_int
from ns_implicit.theory.conservative import distance_to_hull, nearest_point_in_hull
from ns_implicit.testing._call import call_with_timeout
from ns_implicit.testing.convention import classify
from ns_implicit.testing.instance import Instance

#: Default relative tolerance at generic points. The reference is exact to ~1e-12 (closed-form
#: polish of w*, direct solve in float64, condition numbers <= 1e2 / lam2_ratio); 1e-5 admits a
#: float64 candidate whose inner solve stops at a relative step ~1e-8 when q <= 0.98, and is
#: still ~1e3 times smaller than the effect of any sign, transpose or step-size error on the
#: generated instances. Float32 backends need about rtol=1e-3.
RTOL = 1e-5
#: Absolute floor (the generated data have unit scale; hypergradients are ~1e-3 … 1).
ATOL = 1e-9
#: Tolerance of the hull membership at kinks, relative to the largest vertex hypergradient
#: (float64 candidates land on a vertex to ~1e-10 when their inner solve is tight).
KINK_TOL = 1e-5
#: Seconds a single candidate call may take (generous for a first JIT compile).
TIMEOUT = 10.0
#: Instances per :func:`check_backend` run (and per ``ns-implicit check-backend``).
DEFAULT_EXAMPLES = 20

#: What an answer at a kink must belong to: the hull of the implicit set (10) (AID / implicit
#: differentiation), or the hull of the fixed-point set (11) which contains it and is where
#: unrolled differentiation converges (docs/theory.md §6, Lemma 3.2 (c)).
KINK_SETS = ("implicit", "fixed-point")
FAILURES = ("raised", "wrong-type", "wrong-shape", "non-finite", "timeout", "not-run")
CHECKS = ("relative-error", "conservative-set", "fixed-point-set", "vertex") + FAILURES


@dataclass
class CheckReport:
    """The outcome of one candidate call on one instance.

    ``check`` names what decided: ``relative-error`` or ``conservative-set`` (the answer was
    compared), or one of ``raised``, ``wrong-type``, ``wrong-shape``, ``non-finite``,
    ``timeout``, ``not-run``. ``error`` and ``tolerance`` are the compared numbers.
    """

    instance: Instance
    passed: bool
    check: str
    message: str
    got: np.ndarray = None
    error: float = float("nan")
    tolerance: float = float("nan")
    seconds: float = 0.0
    detail: str = ""
    convention: object = None  # the TieConvention of an answer at a kink

    def __str__(self):
        inst = self.instance
        head = "passed" if self.passed else "FAILED"
        lines = [f"hypergradient check {head} [{self.check}]: {self.message}",
                 "  instance : " + inst.summary().replace("\n", "\n             ")]
        lines.append(f"  expected : {_fmt(inst.expected)}  (ns_implicit exact"
                     f"{', tied coordinates inactive' if inst.at_kink else ''})")
        if inst.at_kink:
            rows = "\n             ".join(_fmt(v) for v in inst.vertices)
            lines.append(f"  vertices : {rows}  (implicit set (10))")
            rows = "\n             ".join(_fmt(v) for v in inst.fixed_point_vertices)
            lines.append(f"  fixed pt : {rows}  (extreme points of the fixed-point set (11), "
                         f"radius {inst.fixed_point_radius:.2e})")
        lines.append(f"  got      : {_fmt(self.got) if self.got is not None else '-'}")
        if np.isfinite(self.error):
            what = {"conservative-set": "dist(got, conv vertices)",
                    "fixed-point-set": "dist(got, conv fixed-point set)"}.get(
                        self.check, "||got - expected||")
            lines.append(f"  error    : {what} = {self.error:.3e}; "
                         f"tolerance {self.tolerance:.3e}")
        lines.append(f"  seconds  : {self.seconds:.3f}")
        if self.detail:
            lines.append("  " + self.detail.rstrip().replace("\n", "\n  "))
        return "\n".join(lines)


class HypergradientMismatch(AssertionError):
    """Raised by :func:`assert_hypergradient_close`; ``.report`` is the :class:`CheckReport`."""

    def __init__(self, report):
        super().__init__(str(report))
        self.report = report


def _fmt(v):
    if v is None:
        return "-"
    v = np.asarray(v)
    if v.dtype.kind not in "fiu" or v.ndim != 1:
        return repr(v)
    return "[" + ", ".join(f"{x: .10e}" for x in v) + "]"


def _tolerances(rtol, atol, kink_tol, timeout):
    return (check_positive_float(rtol, "rtol", strict=False),
            check_positive_float(atol, "atol", strict=False),
            check_positive_float(kink_tol, "kink_tol", strict=False),
            check_positive_float(timeout, "timeout"))


def _check_at_kink(instance, got, atol, kink_tol, kink_set, seconds, strict_vertices=False):
    V, F = instance.vertices, instance.fixed_point_vertices
    scale = float(np.max(np.linalg.norm(np.vstack([V, F]), axis=1)))
    tol = atol + kink_tol * scale
    d_imp = distance_to_hull(got, V)
    d_fix = distance_to_hull(got, F)
    # Every point of conv(11) is within the radius of conv(F) (F is an inner approximation).
    fix_tol = tol + instance.fixed_point_radius
    inside_imp = d_imp <= tol
    if kink_set == "implicit":
        passed, error, check = inside_imp, d_imp, "conservative-set"
    else:
        passed, error, tol, check = d_fix <= fix_tol, d_fix, fix_tol, "fixed-point-set"
    _, weights = nearest_point_in_hull(got, V)
    convention = classify(got, V, instance.vertex_activity, tol, instance.tie_beta)
    if inside_imp:
        message = (f"inside the implicit conservative set (10): {convention}; hull weights "
                   f"{np.round(weights, 4).tolist()} on the vertices")
        if strict_vertices and convention.kind == "interior":
            passed, check = False, "vertex"
            error = float(np.min(np.linalg.norm(V - got, axis=1)))
            message += " — not a vertex (strict_vertices)"
    else:
        message = f"outside the implicit conservative set (10) by {d_imp:.3e}"
        if d_fix <= fix_tol:
            message += ("; within the fixed-point set (11) where unrolled differentiation (ITD) "
                        f"converges at a kink (distance {d_fix:.3e}, radius "
                        f"{instance.fixed_point_radius:.2e}; docs/theory.md §6 Lemma 3.2)")
        else:
            message += f"; also {d_fix:.3e} from the fixed-point set (11)"
    return CheckReport(instance, passed, check, message, got=got, error=error, tolerance=tol,
                       seconds=seconds, convention=convention)


def _check_kink_set(kink_set):
    if kink_set not in KINK_SETS:
        raise ValueError(f"kink_set must be one of {KINK_SETS}; got {kink_set!r}.")


def check_hypergradient(candidate, instance, *, rtol=RTOL, atol=ATOL, kink_tol=KINK_TOL,
                        timeout=TIMEOUT, kink_set="implicit", strict_vertices=False):
    """Call ``candidate`` on ``instance`` and compare; returns a :class:`CheckReport` (never
    raises for a misbehaving candidate). ``strict_vertices``: at a kink the answer must be a
    vertex of the implicit set (a definite tie convention), not an interior point."""
    if not callable(candidate):
        raise TypeError(f"candidate must be callable as candidate(X, y, X_val, y_val, lam1, "
                        f"lam2); got {type(candidate).__name__}.")
    if not isinstance(instance, Instance):
        raise TypeError(f"instance must be an ns_implicit.testing.Instance (draw one with "
                        f"elastic_net_instances() or sample_instances()); got "
                        f"{type(instance).__name__}.")
    rtol, atol, kink_tol, timeout = _tolerances(rtol, atol, kink_tol, timeout)
    _check_kink_set(kink_set)
    out = call_with_timeout(candidate, instance.arguments(), timeout)
    report = lambda check, message, **kw: CheckReport(  # noqa: E731
        instance, False, check, message, seconds=out.seconds, **kw)
    if out.status == "timeout":
        return report("timeout", f"no answer within timeout={timeout:g} s (the call was "
                                 "abandoned; it may still be running in a daemon thread)")
    if out.status == "raised":
        return report("raised", f"the candidate raised {out.error}", detail=out.traceback)
    try:
        got = np.array(out.value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return report("wrong-type", f"the answer {type(out.value).__name__} is not convertible "
                                    f"to a float array ({exc})")
    if got.shape != (2,):
        return report("wrong-shape", f"the answer has shape {got.shape}; expected (2,) = "
                                     "[dE/dlam1, dE/dlam2]", got=got if got.ndim == 1 else None)
    if not np.all(np.isfinite(got)):
        return report("non-finite", "the answer contains NaN or inf", got=got)
    if instance.at_kink:
        return _check_at_kink(instance, got, atol, kink_tol, kink_set, out.seconds,
                              bool(strict_vertices))
    error = float(np.linalg.norm(got - instance.expected))
    tol = atol + rtol * float(np.linalg.norm(instance.expected))
    passed = error <= tol
    rel = error / max(float(np.linalg.norm(instance.expected)), 1e-300)
    message = (f"relative error {rel:.2e}" if passed else
               f"relative error {rel:.2e} exceeds rtol={rtol:g} (atol={atol:g})")
    return CheckReport(instance, passed, "relative-error", message, got=got, error=error,
                       tolerance=tol, seconds=out.seconds)


def assert_hypergradient_close(candidate, instance, *, rtol=RTOL, atol=ATOL, kink_tol=KINK_TOL,
                               timeout=TIMEOUT, kink_set="implicit", strict_vertices=False):
    """Assert that ``candidate`` agrees with our hypergradient on ``instance``.

    Raises :class:`HypergradientMismatch` (an ``AssertionError``) carrying a readable report:
    the instance, the expected value (and the vertices at a kink), what the candidate gave and
    which check failed. Returns the :class:`CheckReport` when it passes.
    """
    report = check_hypergradient(candidate, instance, rtol=rtol, atol=atol, kink_tol=kink_tol,
                                 timeout=timeout, kink_set=kink_set,
                                 strict_vertices=strict_vertices)
    if not report.passed:
        raise HypergradientMismatch(report)
    return report


def check_backend(candidate, instances=None, *, examples=DEFAULT_EXAMPLES, seed=0,
                  near_kink=False, rtol=RTOL, atol=ATOL, kink_tol=KINK_TOL, timeout=TIMEOUT,
                  kink_set="implicit", strict_vertices=False):
    """Check ``candidate`` on ``instances`` (default: :func:`sample_instances` with
    ``examples``, ``seed``, ``near_kink``); returns one :class:`CheckReport` per instance.

    After a timeout the remaining instances are reported as ``not-run``: the abandoned call
    may still be running and would distort every later time limit.
    """
    from ns_implicit.testing.strategies import sample_instances
    _tolerances(rtol, atol, kink_tol, timeout)
    _check_kink_set(kink_set)
    if instances is None:
        examples = check_positive_int(examples, "examples")
        instances = sample_instances(examples, seed=seed, near_kink=near_kink)
    reports, timed_out = [], False
    for inst in instances:
        if timed_out:
            reports.append(CheckReport(inst, False, "not-run",
                                       "skipped: an earlier call timed out and may still run"))
            continue
        rep = check_hypergradient(candidate, inst, rtol=rtol, atol=atol, kink_tol=kink_tol,
                                  timeout=timeout, kink_set=kink_set,
                                  strict_vertices=strict_vertices)
        timed_out = rep.check == "timeout"
        reports.append(rep)
    return reports
