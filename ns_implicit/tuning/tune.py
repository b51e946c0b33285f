"""Hyperparameter tuning by hypergradient descent on any problem bundle (docs/theory.md §10).

``tune(problem, lam0)`` minimises ``f(λ) = E(w(λ))`` over ``λ > 0`` in ``θ = log λ`` with one of
:data:`~ns_implicit.tuning.optimizers.OPTIMIZERS`; each evaluation warm-starts the inner solve
and tightens its tolerance (:class:`~ns_implicit.tuning.objective.Objective`). ``cv=K`` replaces
the validation split by ``K``-fold cross-validation on the training rows.

Stopping rule: after an accepted step, the relative decrease ``|f_prev - f| <= rtol |f_prev|``
once the tolerance schedule has reached its final value, or ``‖∇_θ f‖∞ <= gtol`` (converged);
``max_outer`` evaluations or ``max_seconds`` (not converged: the budget). The result's
``value`` is the loss at the best ``λ`` evaluated once more at the final tolerance. At ``w(λ) = 0``
(``λ1`` at or above ``λ1_max``) ``f`` is flat: the result says so and is not converged. An
inner solve that cannot converge within its budget (:class:`~ns_implicit.tuning.objective.
InnerSolveError`) stops the loop: the result keeps the best ``λ`` evaluated before, is not
converged and its message names the budget; at the first evaluation there is no such ``λ`` and
the error is raised. The same holds for a hypergradient that is not defined at a later ``λ``
(:class:`~ns_implicit.errors.NotContractiveError`: a singular restricted system, e.g. sparse
logistic regression without a ridge on separable data). ``progress`` draws a bar on standard error
(:mod:`~ns_implicit.tuning.progress`).

With one hyperparameter and a squared-error outer loss (``squared_error`` on the validation MSE),
L-BFGS-B minimises ``log f``: the same minimisers, the stopping rule still on ``f``
(:func:`~ns_implicit.tuning.optimizers.lbfgs`, docs/theory.md §10.1).
"""

import time
from functools import partial
from dataclasses import dataclass, field

import numpy as np

from ns_implicit.errors import NotContractiveError
from ns_implicit._validation import as_float_array, check_positive_float, check_positive_int
from ns_implicit.tuning.folds import cross_validation_problems  # noqa: F401 (re-exported)
from ns_implicit.tuning.objective import CrossValidatedObjective, InnerSolveError, Objective
from ns_implicit.tuning.optimizers import OPTIMIZERS, adam, gradient_descent, lbfgs


@dataclass
class TuneResult:
    """``lam`` (the tuned hyperparameters), ``value`` (the outer loss there), ``history`` (one
    ``{"seconds", "lam", "value"}`` per evaluation), ``n_outer`` (evaluations), ``seconds``,
    ``converged`` and ``message`` (why it stopped)."""

    lam: np.ndarray
    value: float
    history: list = field(repr=False)
    n_outer: int
    seconds: float
    converged: bool
    message: str


class _Budget(Exception):
    pass


def tune(problem, lam0=None, *, optimizer="lbfgs", method="exact", max_outer=100,
         max_seconds=None, rtol=1e-6, gtol=1e-8, tol=1e-10, folds=None, n_jobs=1, inner_iters=100_000, linsys_iters=100_000,
         progress=None, accelerate=False):
    """Tune ``λ`` of ``problem`` (or of the fold bundles ``folds``, averaged) from ``lam0``.

    ``lam0`` defaults to ``0.1 λ1_max`` in every entry when the problem has a ``lam1_max``.
    ``n_jobs``: threads evaluating the folds (same bits for any value). ``inner_iters``,
    ``linsys_iters``: the budgets of each evaluation's inner solve and linear system.
    ``accelerate``: seed every inner solve with FISTA (:class:`~ns_implicit.tuning.objective.
    Objective`). ``progress``: None (a bar when tqdm is installed and stderr is a terminal), True, False.
    Returns a :class:`TuneResult`.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}.")
    bundles = list(folds) if folds is not None else [problem]
    n = bundles[0].map.n_hyper
    if lam0 is None:
        if not hasattr(bundles[0], "lam1_max"):
            raise ValueError(f"lam0 is needed for {type(bundles[0]).__name__} (no lam1_max to "
                             "start from): pass the starting hyperparameters.")
        lam0 = np.full(n, 0.1 * float(np.mean([b.lam1_max for b in bundles])))
    lam0 = as_float_array(lam0, "lam0", ndim=1, dtype=np.float64)
    if lam0.shape != (n,) or not np.all(lam0 > 0):
        raise ValueError(f"lam0 must hold {n} positive numbers (tuning runs on log lam); got "
                         f"{lam0.tolist()}.")
    max_outer = check_positive_int(max_outer, "max_outer")
    if max_seconds is not None:
        max_seconds = check_positive_float(max_seconds, "max_seconds")
    rtol, gtol = check_positive_float(rtol, "rtol", strict=False), check_positive_float(
        gtol, "gtol", strict=False)
    from ns_implicit.tuning.progress import progress_bar

    bar = progress_bar(progress, max_outer)
    objectives = [Objective(b, method, tol=tol, inner_iters=inner_iters,
                            linsys_iters=linsys_iters, accelerate=accelerate) for b in bundles]
    objective = (objectives[0] if len(objectives) == 1
                 else CrossValidatedObjective(objectives, n_jobs=n_jobs))
    start, history, best = time.perf_counter(), [], {"value": np.inf}
    state = {"message": "", "converged": False}

    def evaluate(theta):
        if len(history) >= max_outer:
            state["message"] = f"stopped at the budget max_outer={max_outer}"
            raise _Budget
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            state["message"] = f"stopped at the budget max_seconds={max_seconds:g}"
            raise _Budget
        lam = np.exp(theta)
        value, grad = objective(lam)
        history.append({"seconds": time.perf_counter() - start, "lam": lam.tolist(),
                        "value": value})
        bar.update(value)
        if value < best["value"]:
            best.update(value=value, lam=lam, grad=grad)
        return value, grad * lam  # ∇_θ f = λ ⊙ ∇_λ f

    def stop(f_prev, f, grad_theta):
        final = all(o.current_tol() <= o.tol for o in objectives)
        if final and abs(f_prev - f) <= rtol * abs(f_prev):
            state.update(converged=True, message=f"relative decrease <= rtol={rtol:g}")
        elif float(np.max(np.abs(grad_theta))) <= gtol:
            state.update(converged=True, message=f"gradient in log lam <= gtol={gtol:g}")
        return state["converged"]

    run = {"gd": gradient_descent, "adam": adam, "lbfgs": lbfgs}[optimizer]
    if (optimizer == "lbfgs" and n == 1
            and all(getattr(b.outer, "squared_error", False) for b in bundles)):
        run = partial(lbfgs, log_loss=True)  # one λ, a squared error: on log f (§10.1)
    try:
        run(evaluate, np.log(lam0), stop)
        if not state["message"]:
            state.update(converged=True, message="no further decrease along the gradient")
    except _Budget:
        pass
    except (InnerSolveError, NotContractiveError) as err:
        # a later λ whose inner problem is out of reach (budget) or whose hypergradient is not
        # defined (a singular restricted system): keep the best λ before it, say why
        if "lam" not in best:
            raise
        state.update(converged=False, message=f"stopped: {err}")
    finally:
        bar.close()
    # the reported value: the best λ re-evaluated at the final tolerance (early evaluations
    # ran at the schedule's looser ones)
    lam_best = np.asarray(best["lam"])
    try:
        value, _ = objective(lam_best, final=True)
    except InnerSolveError as err:  # the best λ's loss at its own (looser) tolerance
        value = best["value"]
        state.update(converged=False, message=f"{state['message']}; at the final tolerance: "
                     f"{err}")
    flat = all(o.w is not None and not np.any(o.w) for o in objectives)
    if flat:
        state.update(converged=False, message="the inner solution is zero (lam1 >= lam1_max): "
                     "the loss is flat there; start from a smaller lam0")
    return TuneResult(lam_best, float(value), history, len(history),
                      time.perf_counter() - start, bool(state["converged"]), state["message"])
