"""The poisoning attack: projected gradient ascent on the noise, docs/theory.md §10, §12.4.

The attacker maximises the validation cross-entropy ``CE_val(w(Λ))`` of the model trained
on the poisoned data, over the box ``‖Λ‖_∞ <= ε``. With ``f(Λ) = E(w(Λ)) = -CE_val`` and
its hypergradient ``g_k = ∇f(Λ_k)`` (implicit differentiation, docs/theory.md §10 eq. (21)):

    Λ_{k+1} = Π_{[-ε, ε]}(Λ_k - α ε g_k / ‖g_k‖_∞),

a projected gradient step normalised so that the largest entry moves by ``α ε``
(``α = step_size``; scale-free, since the raw hypergradient entries are ``O(γ/n)``).
Each outer step warm-starts the inner solve at the previous weights and the linear system
(AID-CG or AID-FP) at the previous ``v``. The noise with the largest validation
cross-entropy seen is returned.

When the noise grows the spectrum of the design so that the map's contraction check fails,
the step ``γ`` is recomputed at the current noise (:meth:`PoisoningMap.with_noise_ref`);
``w(Λ)`` and its implicit derivative do not depend on ``γ`` (docs/theory.md §11.2).
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ns_implicit._validation import check_positive_float, check_positive_int
from ns_implicit.errors import NotContractiveError
from ns_implicit.steps.logistic import check_noise
from ns_implicit.methods.registry import METHODS, method_names
from ns_implicit.solvers.fixed_point import fixed_point_iteration

#: Implicit methods (the attack warm-starts those that accept it).
ATTACK_METHODS = method_names(("implicit",))


def check_epsilon(epsilon):
    """``ε`` must be a finite number > 0 (the half-width of the noise box)."""
    try:
        value = float(epsilon)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"epsilon must be a number; got {epsilon!r}.") from exc
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"epsilon must be finite and > 0 (the noise lies in [-epsilon, "
                         f"epsilon]); got {epsilon!r}.")
    return value


def random_box_noise(shape, epsilon, rng, *, kind="uniform", dtype=np.float64):
    """Random noise in ``[-ε, ε]``: ``"uniform"`` entries, or ``"sign"`` (the corners ``±ε``)."""
    epsilon = check_epsilon(epsilon)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (numpy.random.default_rng(seed)).")
    if kind == "uniform":
        noise = rng.uniform(-epsilon, epsilon, size=shape)
    elif kind == "sign":
        noise = epsilon * rng.choice(np.array([-1.0, 1.0]), size=shape)
    else:
        raise ValueError(f"kind must be 'uniform' or 'sign'; got {kind!r}.")
    return noise.astype(dtype)


def contractive_at(pmap, noise):
    """``(map, map.at(noise))``, with the step recomputed at ``noise`` if needed."""
    try:
        return pmap, pmap.at(noise)
    except NotContractiveError:
        pmap = pmap.with_noise_ref(noise)
        return pmap, pmap.at(noise)


def train(pmap, noise, *, w0=None, tol=1e-8, max_iter=20_000):
    """Fit the model on the data poisoned by ``noise``: ``(SolveResult, map used)``."""
    pmap, phi = contractive_at(pmap, noise)
    return fixed_point_iteration(phi, w0, tol=tol, max_iter=max_iter), pmap


@dataclass
class AttackResult:
    """``noise``: the best noise found; ``w``: the weights trained on it; ``history``: one
    record per outer step (validation CE, iteration counts, seconds)."""

    noise: np.ndarray
    w: np.ndarray
    val_cross_entropy: float
    best_step: int
    map: object
    seconds: float
    history: list = field(default_factory=list, repr=False)


def poison_attack(problem, epsilon, *, steps=10, step_size=1.0, noise0=None, method="aid-cg",
                  inner_tol=1e-8, inner_iters=20_000, linsys_tol=1e-8, linsys_iters=5_000,
                  callback=None):
    """Projected gradient ascent of the validation cross-entropy over ``‖Λ‖_∞ <= ε``.

    Parameters
    ----------
    problem : :class:`~ns_implicit.problems.poisoning.PoisoningProblem`.
    epsilon : half-width of the box (> 0). steps : outer steps (>= 0).
    step_size : ``α``; the largest noise entry moves by ``α ε`` per step.
    noise0 : starting noise (projected onto the box; default 0 = clean data).
    method : ``aid-cg`` (default), ``aid-fp`` (both warm-started) or ``exact``.
    inner_tol, inner_iters, linsys_tol, linsys_iters : budgets of the inner solve and of
        the linear system at each outer step.
    callback : called as ``callback(record)`` after each outer step.
    """
    epsilon = check_epsilon(epsilon)
    steps = check_positive_int(steps, "steps", minimum=0)
    step_size = check_positive_float(step_size, "step_size")
    if method not in ATTACK_METHODS:
        raise ValueError(f"method must be one of {', '.join(ATTACK_METHODS)}; got {method!r}.")
    dtype = problem.map.dtype
    noise = (problem.zero_noise() if noise0 is None
             else np.clip(check_noise(noise0, problem.noise_shape, dtype, "noise0"),
                          -epsilon, epsilon))
    start = time.perf_counter()
    pmap, w, v = problem.map, None, None
    best = None
    history = []
    for k in range(steps + 1):
        t0 = time.perf_counter()
        pmap, phi = contractive_at(pmap, noise)
        inner = fixed_point_iteration(phi, w, tol=inner_tol, max_iter=inner_iters)
        w = inner.w
        ce = problem.outer.cross_entropy(w)
        record = {"step": k, "val_cross_entropy": ce, "inner_iterations": inner.iterations,
                  "inner_converged": inner.converged, "support_size": inner.support_size,
                  "q": phi.q}
        if best is None or ce > best[0]:
            best = (ce, noise.copy(), w.copy(), k, pmap)
        if k < steps:
            u = problem.outer.grad_w(w)
            lin = METHODS[method].run(phi, w, u, iters=linsys_iters, tol=linsys_tol, v0=v)
            v = getattr(lin, "v", None)
            g = problem.outer.grad_lam(w) + lin.value
            record.update(linsys_iterations=lin.iterations, linsys_residual=lin.residual)
            gmax = float(np.max(np.abs(g)))
            step = (step_size * epsilon / gmax if gmax > 0 else 0.0) * g.reshape(problem.noise_shape)
            noise = np.clip(noise - step.astype(dtype), -epsilon, epsilon)
        record["seconds"] = time.perf_counter() - t0
        history.append(record)
        if callback is not None:
            callback(record)
        if k < steps and gmax == 0:  # a stationary point: later steps would repeat this one
            break
    ce, noise_best, w_best, k_best, map_best = best
    return AttackResult(noise_best, w_best, ce, k_best, map_best,
                        time.perf_counter() - start, history)
