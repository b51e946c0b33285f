"""Stochastic hypergradients: NSID-Bilevel, docs/theory.md §10 (Algorithm 2).

1. inner solve for ``w_t``: deterministic fixed-point iteration of ``Φ(·, λ)`` (the paper's
   experiments, ``last_det``) or the stochastic proximal gradient of
   :mod:`ns_implicit.solvers.stochastic`;
2. ``u = ∇_1E(w_t, λ)``;
3. NSID (or SID) at ``(λ, w_t, u)`` with samples independent of step 1;
4. ``ĝ = ∇_2E(w_t, λ) + (A_G B̄_T + B_G)ᵀ v_K``.

Sample accounting as in the paper (docs/theory.md §12): ``samples_used = (K + J)·b`` and
``epochs = samples_used / n`` count the hypergradient's samples; a stochastic inner solve
reports its own ``inner.samples_used``. NSID/SID are kept out of
:func:`ns_implicit.bilevel.hypergradient.hypergradient`, whose deterministic methods take no sampling
arguments.
"""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ns_implicit._validation import check_positive_int, default_tol, describe
from ns_implicit.errors import NotContractiveError
from ns_implicit.bilevel.hypergradient import EarlyStopWarning
from ns_implicit.methods.nsid import StochasticResult
from ns_implicit.methods.registry import get_method, method_names
from ns_implicit.solvers.sampling import as_generator, spawn
from ns_implicit.solvers.fixed_point import SolveResult, fixed_point_iteration
from ns_implicit.solvers.stochastic import stochastic_prox_gradient

STOCHASTIC_METHODS = method_names(("stochastic",))
INNER_SOLVERS = ("deterministic", "stochastic")


@dataclass
class StochasticHypergradientResult:
    """``value`` = ``ĝ``; ``inner`` = the inner solve; ``linear`` = the NSID/SID record."""

    value: np.ndarray
    method: str
    inner: SolveResult
    linear: StochasticResult
    samples_used: int
    epochs: float
    seconds: float
    history: list = field(default=None, repr=False)

    @property
    def converged(self):
        return bool(self.inner.converged and self.linear.converged)


def stochastic_hypergradient(stochastic_map, outer, lam, method="nsid", *, K=1000, J=None,
                             rng=None, steps="dec", beta=None, gamma=None, beta_mult=1.0,
                             gamma_mult=1.0, tol=None, inner="deterministic",
                             inner_iters=10_000, inner_tol=None, inner_steps="dec", w0=None,
                             history=False, compiled=True, sampling="epoch",
                             allow_empty_support=False):
    """NSID-Bilevel (docs/theory.md §10, Algorithm 2): a stochastic hypergradient of ``E(w(λ), λ)``.

    Parameters
    ----------
    stochastic_map : e.g. :class:`~ns_implicit.maps.stochastic.StochasticElasticNetMap`;
        its ``.at(lam)`` follows the protocol of :mod:`ns_implicit.methods.nsid` (plus
        ``phi``, the deterministic map, for ``inner="deterministic"``).
    outer : outer loss with ``grad_w(w, lam)`` and ``grad_lam(w, lam)``.
    method : ``"nsid"`` or ``"sid"``; K, J, steps, beta, gamma, beta_mult, gamma_mult, tol,
        compiled, sampling : as for :func:`~ns_implicit.methods.nsid.nsid` (``sampling``
        also applies to a stochastic inner solve).
    rng : integer seed or :class:`numpy.random.Generator` (required); the inner solver and
        the method get independent streams derived from it.
    inner : ``"deterministic"`` (``inner_iters`` steps of ``Φ`` to relative step
        ``inner_tol``, from ``w0``) or ``"stochastic"`` (``inner_iters`` minibatch
        proximal-gradient steps with ``inner_steps``).
    history : keep ``ĝ`` after every NSID/SID iteration.
    allow_empty_support : return ``∇_2E`` instead of raising when ``w_t = 0``.

    Warns :class:`~ns_implicit.bilevel.hypergradient.EarlyStopWarning` when the deterministic inner solve
    stops before ``inner_tol``.
    """
    if method not in STOCHASTIC_METHODS:
        raise ValueError(f"method must be one of {', '.join(STOCHASTIC_METHODS)}; got {method!r}.")
    if inner not in INNER_SOLVERS:
        raise ValueError(f"inner must be one of {', '.join(INNER_SOLVERS)}; got {inner!r}.")
    if not hasattr(stochastic_map, "at"):
        raise TypeError(f"stochastic_map must be a stochastic map with .at(lam) (e.g. "
                        f"StochasticElasticNetMap); got {type(stochastic_map).__name__}.")
    inner_iters = check_positive_int(inner_iters, "inner_iters", minimum=0)
    check_positive_int(K, "K", minimum=1)
    start = time.perf_counter()
    inner_rng, method_rng = spawn(as_generator(rng), 2)
    F = stochastic_map.at(lam)
    inner_tol = default_tol(inner_tol, F.dtype, "inner_tol")
    if inner == "deterministic":
        solve = fixed_point_iteration(F.phi, w0, tol=inner_tol, max_iter=inner_iters)
    else:
        solve = stochastic_prox_gradient(F, inner_rng, w0, iters=inner_iters, steps=inner_steps,
                                         sampling=sampling)
    w = solve.w
    if not solve.converged and inner == "stochastic":
        raise NotContractiveError(
            f"the stochastic inner solver diverged after {solve.iterations} steps (an iterate "
            "left the a-priori bound on the solution or overflowed): the minibatch maps are "
            "probably not contractions; use a larger batch size or smaller steps.")
    if not np.any(w) and not allow_empty_support:
        raise ValueError(
            f"the inner solution is identically zero at lam={describe(F.lam)} (empty support), "
            "so the hypergradient carries no information; lower lam1 or pass "
            "allow_empty_support=True.")
    u = outer.grad_w(w, F.lam)
    fn = get_method(method, ("stochastic",)).function
    lin = fn(F, w, u, K, J, method_rng, steps=steps, beta=beta, gamma=gamma,
             beta_mult=beta_mult, gamma_mult=gamma_mult, tol=tol, history=history,
             compiled=compiled, sampling=sampling)
    grad_lam = outer.grad_lam(w, F.lam)
    hist = [grad_lam + g for g in lin.history] if history else None
    result = StochasticHypergradientResult(
        value=np.asarray(grad_lam + lin.value), method=method, inner=solve, linear=lin,
        samples_used=lin.samples_used, epochs=lin.epochs,
        seconds=time.perf_counter() - start, history=hist)
    if not solve.converged:
        warnings.warn(f"inner solve stopped after {solve.iterations} iterations with relative "
                      f"step {solve.residual:.3g} > tol={inner_tol:g}; raise inner_iters.",
                      EarlyStopWarning, stacklevel=2)
    return result
