"""The outer objective ``f(λ) = E(w(λ))`` and its gradient, for any problem bundle, with warm
starts and a tightening tolerance (docs/theory.md §10).

One evaluation solves the inner problem from the previous solution (warm start: consecutive
outer iterates are close) and computes the hypergradient with an implicit method. The inner
and linear-system tolerance of evaluation ``k`` is ``max(tol, tol_start · decay^k)``: loose
while the outer iterates move, tight near the end (the schedule of HOAG, Pedregosa 2016, in its
simplest geometric form).

An inner solve (or linear system) that exhausts its budget raises :class:`InnerSolveError`
with the budget and the fix instead of returning a value that is not ``f(λ)``; the driver stops
the outer loop on it (:func:`~ns_implicit.tuning.tune`).
"""

import warnings
from contextlib import nullcontext

import numpy as np

from ns_implicit.bilevel.hypergradient import EarlyStopWarning, hypergradient
from ns_implicit.methods.registry import get_method


class InnerSolveError(RuntimeError):
    """An evaluation whose inner solve or linear system did not converge within its budget."""


class Objective:
    """``λ ↦ (f(λ), ∇f(λ))`` for one problem bundle (``map``, ``outer``).

    Parameters
    ----------
    problem : a bundle of :mod:`ns_implicit.problems`.
    method : an implicit method (``exact``, ``aid-cg``, ``aid-fp``, ``aid-gmres``).
    tol, tol_start, decay : the tolerance schedule (module docstring).
    inner_iters, linsys_iters : budgets of each evaluation.
    accelerate : seed each inner solve with FISTA and restarts
        (:func:`~ns_implicit.tuning.accelerated.accelerated_solve`, within ``inner_iters``).
    """

    def __init__(self, problem, method="exact", *, tol=1e-10, tol_start=1e-6, decay=0.5,
                 inner_iters=100_000, linsys_iters=100_000, accelerate=False):
        get_method(method, ("implicit",))  # names the implicit methods when unknown
        self.problem, self.method = problem, method
        self.tol, self.tol_start, self.decay = float(tol), float(tol_start), float(decay)
        self.inner_iters, self.linsys_iters = inner_iters, linsys_iters
        self.accelerate = bool(accelerate)
        self.w = None  # the warm start
        self.evaluations = 0

    @property
    def n_hyper(self):
        return self.problem.map.n_hyper

    def current_tol(self):
        return max(self.tol, self.tol_start * self.decay ** self.evaluations)

    def __call__(self, lam, final=False, quiet=True):
        """``(f(λ), ∇f(λ))`` at the scheduled tolerance (``final``: the final one). ``quiet``
        silences the early-stop warnings of the loose early tolerances (a caller running
        several objectives in threads does it once around them: warning filters are global)."""
        tol = self.tol if final else self.current_tol()
        w0 = self._seed(lam, tol)
        with warnings.catch_warnings() if quiet else nullcontext():
            if quiet:
                warnings.simplefilter("ignore", EarlyStopWarning)
            res = hypergradient(self.problem.map, self.problem.outer, lam, self.method,
                                tol=tol, w0=w0, inner_iters=self.inner_iters,
                                linsys_iters=self.linsys_iters, allow_empty_support=True)
        if not res.converged:
            self._refuse(lam, res.inner if not res.inner.converged else res.linear, tol,
                         "inner solve" if not res.inner.converged else "linear system")
        self.w = res.inner.w
        self.evaluations += 1
        value = self.problem.outer.value(self.w, lam)
        return float(value), np.asarray(res.value, dtype=np.float64)

    def value(self, lam):
        """``f(λ)`` alone at the final tolerance, warm-started from the previous solution (the
        grid and random-search baselines: no hypergradient)."""
        sol = self.problem.solve(lam, w0=self._seed(lam, self.tol), tol=self.tol,
                                 max_iter=self.inner_iters)
        if not sol.converged:
            self._refuse(lam, sol, self.tol, "inner solve")
        self.w = sol.w
        self.evaluations += 1
        return float(self.problem.outer.value(self.w, lam))

    def _seed(self, lam, tol):
        """The inner solve's starting point: the previous solution, improved by FISTA when
        ``accelerate`` (the fixed-point iteration from there certifies it)."""
        if not self.accelerate:
            return self.w
        from ns_implicit.tuning.accelerated import accelerated_solve
        return accelerated_solve(self.problem.map.at(lam), self.w, tol=tol,
                                 max_iter=self.inner_iters)[0]

    def _refuse(self, lam, res, tol, what):
        budget = "inner_iters" if what == "inner solve" else "linsys_iters"
        raise InnerSolveError(
            f"the {what} did not converge at lam={np.asarray(lam).tolist()} within "
            f"{budget}={getattr(self, budget)} (residual {float(res.residual):.3g} > "
            f"tol={tol:g}); raise {budget}, or make the inner map a strict contraction (a "
            "ridge term lam2 > 0) or bound lam away from 0.")


class CrossValidatedObjective:
    """The mean of several objectives (one per fold): ``f(λ) = (1/K) Σ_k f_k(λ)``.

    ``n_jobs > 1`` evaluates the folds in that many threads (joblib's threading backend: each
    fold keeps its warm start; the folds are independent and averaged in fold order, so the
    result has the same bits for any ``n_jobs``)."""

    def __init__(self, objectives, n_jobs=1):
        self.objectives = list(objectives)
        if not self.objectives:
            raise ValueError("cross-validation needs at least one fold.")
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
            raise ValueError(f"n_jobs must be an integer >= 1; got {n_jobs!r}.")
        self.n_jobs = int(n_jobs)
        if self.n_jobs > 1:
            try:
                import joblib  # noqa: F401
            except ImportError:
                raise ValueError("n_jobs > 1 evaluates the folds with joblib, which is not "
                                 "installed: pip install joblib (or use n_jobs=1).") from None

    @property
    def n_hyper(self):
        return self.objectives[0].n_hyper

    @property
    def evaluations(self):
        return self.objectives[0].evaluations

    def __call__(self, lam, final=False):
        if self.n_jobs > 1:
            from joblib import Parallel, delayed  # optional: installed with scikit-learn

            with warnings.catch_warnings():  # once, in this thread: filters are global
                warnings.simplefilter("ignore", EarlyStopWarning)
                results = Parallel(n_jobs=self.n_jobs, backend="threading")(
                    delayed(f)(lam, final, quiet=False) for f in self.objectives)
        else:
            results = [f(lam, final) for f in self.objectives]
        values, grads = zip(*results)
        return float(np.mean(values)), np.mean(grads, axis=0)


def kfold(n, k):
    """``KFold(k)`` without shuffling (scikit-learn's default): ``k`` contiguous folds, the
    first ``n % k`` one row longer; returns ``[(train, validation)]`` index arrays."""
    if not 2 <= k <= n:
        raise ValueError(f"cv must be an integer in [2, n] = [2, {n}] (folds of the {n} "
                         f"rows); got {k}.")
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    rows = np.arange(n)
    return [(np.concatenate([rows[:a], rows[b:]]), rows[a:b])
            for a, b in zip(bounds[:-1], bounds[1:])]

