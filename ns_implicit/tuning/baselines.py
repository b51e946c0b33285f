"""The baselines hypergradient tuning is measured against (docs/theory.md §10): grid search and
seeded random search over the same hyperparameters, on the same objective (validation split or
the mean over folds), each solve warm-started from the previous one at the final tolerance.

The search space is the one of scikit-learn's CV estimators: ``λ1`` log-spaced in
``[eps λ1_max, λ1_max]`` (``eps = 1e-3``, largest first so that warm starts follow the path);
for the elastic net, ``alpha`` in ``[eps alpha_max(r), alpha_max(r)]`` for each ``l1_ratio = r``
(``alpha_max(r) = λ1_max / r``), converted by :func:`~ns_implicit.problems.elastic_net.
from_sklearn`; a vector of weights (the weighted lasso) on the grid takes one common value.
Random search draws ``log λ1`` uniformly in the same interval (the elastic net: ``r`` uniform in
``[min(l1_ratios), 1]``, then ``alpha``; a vector: every weight independently) from
``numpy.random.default_rng(seed)``.

Both return a :class:`~ns_implicit.tuning.tune.TuneResult` whose ``history`` has one
``{"seconds", "lam", "value"}`` per point, so that "time to reach a loss" reads the same for
every method. ``accelerate`` seeds the solves with FISTA as in :func:`~ns_implicit.tuning.tune`.
"""

import time

import numpy as np

from ns_implicit._validation import check_positive_float, check_positive_int
from ns_implicit.tuning.objective import InnerSolveError, Objective

#: scikit-learn's ``ElasticNetCV`` ratios used by the benchmark (and the default here)
L1_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _bundles(problem, folds):
    bundles = list(folds) if folds is not None else [problem]
    if not bundles or bundles[0] is None:
        raise ValueError("pass a problem bundle or folds=[bundles].")
    if not hasattr(bundles[0], "lam1_max"):
        raise ValueError(f"{type(bundles[0]).__name__} has no lam1_max to scale the search "
                         "space by: pass lams= (an array of hyperparameter vectors).")
    return bundles


def _is_elastic_net(bundle):
    from ns_implicit.problems.elastic_net import ElasticNetProblem
    return isinstance(bundle, ElasticNetProblem) and bundle.map.n_hyper == 2


def _check_ratios(l1_ratios):
    ratios = np.asarray(l1_ratios, dtype=np.float64).ravel()
    if ratios.size == 0 or not np.all((ratios > 0) & (ratios <= 1)):
        raise ValueError(f"l1_ratios must be numbers in (0, 1]; got {list(l1_ratios)}.")
    return ratios


def default_grid(bundles, n_lam1=100, l1_ratios=L1_RATIOS, eps=1e-3):
    """The candidate ``λ`` (rows, in evaluation order) of :func:`grid_search` (module
    docstring); ``λ1_max`` is the mean over the bundles (folds)."""
    n_lam1 = check_positive_int(n_lam1, "n_lam1")
    lam1_max = float(np.mean([b.lam1_max for b in bundles]))
    if not lam1_max > 0:
        raise ValueError("lam1_max = 0 (y constant or X zero): every lam gives w = 0, there is "
                         "nothing to search.")
    path = np.geomspace(1.0, eps, n_lam1)
    n = bundles[0].map.n_hyper
    if _is_elastic_net(bundles[0]):
        from ns_implicit.problems.elastic_net import from_sklearn
        return np.array([from_sklearn(a, r) for r in _check_ratios(l1_ratios)
                         for a in path * lam1_max / r])
    return np.repeat((path * lam1_max)[:, None], n, axis=1)  # a vector: one common value


def _search(bundles, candidates, max_seconds, tol, inner_iters, label, accelerate):
    objectives = [Objective(b, tol=tol, inner_iters=inner_iters, accelerate=accelerate)
                  for b in bundles]
    start, history = time.perf_counter(), []
    best_value, best_lam, message, complete = np.inf, None, label, True
    for lam in candidates:
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            message, complete = f"{label}: stopped at the budget max_seconds={max_seconds:g}", False
            break
        try:
            value = float(np.mean([o.value(lam) for o in objectives]))
        except InnerSolveError as err:
            if best_lam is None:
                raise
            message, complete = f"{label}: stopped: {err}", False
            break
        history.append({"seconds": time.perf_counter() - start, "lam": np.asarray(lam).tolist(),
                        "value": value})
        if value < best_value:
            best_value, best_lam = value, np.array(lam, dtype=np.float64)
    from ns_implicit.tuning.tune import TuneResult
    if best_lam is None:
        raise ValueError(f"{label}: no point was evaluated within max_seconds={max_seconds}.")
    return TuneResult(best_lam, best_value, history, len(history), time.perf_counter() - start,
                      complete, message)


def grid_search(problem=None, *, folds=None, lams=None, n_lam1=100, l1_ratios=L1_RATIOS,
                max_seconds=None, tol=1e-10, inner_iters=100_000, accelerate=False):
    """The best of the candidate ``lams`` (default :func:`default_grid`) for ``problem`` (or the
    mean over ``folds``); ``converged`` means the whole grid was evaluated."""
    bundles = list(folds) if folds is not None and lams is not None else None
    if lams is None:
        bundles = _bundles(problem, folds)
        lams = default_grid(bundles, n_lam1, l1_ratios)
    elif bundles is None:
        bundles = list(folds) if folds is not None else [problem]
    lams = np.asarray(lams, dtype=np.float64)
    n = bundles[0].map.n_hyper
    if lams.ndim != 2 or lams.shape[1] != n or not np.all(lams >= 0) or not lams.size:
        raise ValueError(f"lams must be a (k, {n}) array of hyperparameters >= 0; got shape "
                         f"{lams.shape}.")
    if max_seconds is not None:
        max_seconds = check_positive_float(max_seconds, "max_seconds")
    return _search(bundles, lams, max_seconds, tol, inner_iters, f"grid of {len(lams)} points",
                   accelerate)


def random_search(problem=None, *, folds=None, n_evaluations=100, max_seconds=None, seed=0,
                  l1_ratios=L1_RATIOS, eps=1e-3, tol=1e-10, inner_iters=100_000,
                  accelerate=False):
    """``n_evaluations`` seeded random points of the grid's box (module docstring), or as many
    as ``max_seconds`` allows; ``converged`` means all ``n_evaluations`` were evaluated."""
    bundles = _bundles(problem, folds)
    n_evaluations = check_positive_int(n_evaluations, "n_evaluations")
    if max_seconds is not None:
        max_seconds = check_positive_float(max_seconds, "max_seconds")
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    lam1_max = float(np.mean([b.lam1_max for b in bundles]))
    if not lam1_max > 0:
        raise ValueError("lam1_max = 0 (y constant or X zero): every lam gives w = 0, there is "
                         "nothing to search.")
    n = bundles[0].map.n_hyper
    log_eps = np.log(eps)

    def draw():
        if _is_elastic_net(bundles[0]):
            from ns_implicit.problems.elastic_net import from_sklearn
            r = rng.uniform(float(np.min(_check_ratios(l1_ratios))), 1.0)
            return from_sklearn(lam1_max / r * np.exp(log_eps * rng.random()), r)
        return lam1_max * np.exp(log_eps * rng.random(n))

    candidates = (draw() for _ in range(n_evaluations))
    return _search(bundles, candidates, max_seconds, tol, inner_iters,
                   f"random search, {n_evaluations} points at most (seed {seed})", accelerate)
