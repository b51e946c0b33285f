"""Stochastic proximal gradient for the inner problem, docs/theory.md §10 (Algorithm 2, step 1).

With the stochastic composite map ``Φ = S_τ ∘ T``, ``T = E_ξ T̂`` (protocol in
:mod:`ns_implicit.methods.nsid`),

    w_{s+1} = G((1 - α_s) w_s + α_s T̂(w_s, λ, ζ_s); λ_G, α_s γ)   (S_{α_s τ} for soft-thresholding),

which for a prox-gradient map is ``prox_{α_s γ g_λ}(w_s - α_s γ ∇̂ℓ(w_s))``: a minibatch
proximal-gradient step with step ``α_s γ``. Step sizes ``α_s = β/(γ_0 + s)`` (``"dec"``) or
``α_s ≡ α`` (``"const"``). For the relaxed map ``(1 - α)w + αT(w)``, a
``(1 - α(1 - q))``-contraction, the recursion of Lemma D.2 gives ``E‖w_s - w*‖² = O(1/s)``
when ``β(1 - q) > 1`` and ``α_0 <= 1``; the defaults are ``β = γ_0 = 2/(1 - q)``
(``α_0 = 1``: the first steps are plain minibatch ISTA steps). A constant step converges
linearly to a noise floor ``∝ α``.
"""

from dataclasses import dataclass

import numpy as np

from ns_implicit._validation import check_map_at, check_positive_float, check_positive_int
from ns_implicit.kernels.least_squares import support_equal
from ns_implicit.solvers.sampling import BatchStream, as_generator
from ns_implicit.solvers.fixed_point import SolveResult

STEPS = ("dec", "const")

#: an iterate beyond this multiple of the bound ``‖w_0‖ + ‖Φ(w_0) - w_0‖/(1 - q)`` on the
#: fixed point has diverged (the deterministic map's iterates never leave the bound).
DIVERGENCE_FACTOR = 10.0


@dataclass
class StochasticSolveResult(SolveResult):
    """A :class:`~ns_implicit.solvers.fixed_point.SolveResult` of the stochastic solver.

    ``iterations`` = steps run; ``residual`` = last relative step ``‖w_s - w_{s-1}‖/‖w_s‖``
    (it does not vanish with constant steps: there is no stopping test); ``converged`` says the
    budget ran without divergence: every iterate finite and ``‖w_s‖ <= DIVERGENCE_FACTOR``
    times the a-priori bound on the solution (see :func:`stochastic_prox_gradient`);
    ``samples_used`` = ``iterations·b``; ``epochs`` = ``samples_used/n``.
    """

    samples_used: int = 0
    epochs: float = 0.0


def stochastic_prox_gradient(F, rng, w0=None, *, iters=1000, steps="dec", beta=None,
                             gamma=None, alpha=1.0, sampling="epoch"):
    """Minibatch proximal gradient ``w_{s+1} = S_{α_s τ}((1 - α_s) w_s + α_s T̂(w_s, λ, ζ_s))``.

    Parameters
    ----------
    F : stochastic composite map at fixed ``λ`` (e.g. ``StochasticElasticNetMap(...).at(lam)``).
    rng : integer seed or :class:`numpy.random.Generator` (the batches ``ζ_s``).
    w0 : start (default 0); iters : number of steps (>= 0).
    steps : ``"dec"`` with ``α_s = β/(γ + s)`` (defaults ``β = γ = 2/(1 - q)``), or
        ``"const"`` with ``α_s = alpha`` in ``(0, 1]``.
    sampling : ``"epoch"`` or ``"iid"`` (see :mod:`ns_implicit.solvers.sampling`).

    Divergence (minibatch maps that are not contractions, steps too large): the fixed point
    satisfies ``‖w*‖ <= ‖w_0‖ + ‖Φ(w_0) - w_0‖/(1 - q)`` (contraction). When an iterate is
    not finite or exceeds ``DIVERGENCE_FACTOR`` times that bound, the solver stops and
    returns ``converged=False`` with the last finite iterate (``iterations`` = steps run);
    :func:`~ns_implicit.bilevel.stochastic.stochastic_hypergradient` then raises.
    """
    check_map_at(F, "stochastic_prox_gradient", stochastic=True)
    iters = check_positive_int(iters, "iters", minimum=0)
    if steps not in STEPS:
        raise ValueError(f"steps must be one of {', '.join(STEPS)}; got {steps!r}.")
    if steps == "dec":
        base = 2.0 / (1.0 - float(F.q))
        beta = check_positive_float(base if beta is None else beta, "beta")
        gamma = check_positive_float(base if gamma is None else gamma, "gamma")
        if beta > gamma:
            raise ValueError(f"alpha_0 = beta/gamma = {beta / gamma:.6g} > 1: the relaxation "
                             "(1 - alpha)w + alpha T(w) needs alpha <= 1; use gamma >= beta.")
        alphas = beta / (gamma + np.arange(iters, dtype=np.float64))
    else:
        alpha = check_positive_float(alpha, "alpha")
        if alpha > 1.0:
            raise ValueError(f"alpha must lie in (0, 1] (a relaxation of the map); got {alpha}.")
        alphas = np.full(iters, alpha)
    stream = BatchStream(F.n_samples, F.batch_size, as_generator(rng), sampling)
    w = np.zeros(F.dim, dtype=F.dtype) if w0 is None else F.check_point(w0, "w0").copy()
    residual, last_change = np.inf, 0
    phi = getattr(F, "phi", None)  # the deterministic map: one step gives the a-priori bound
    if phi is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            first = float(np.linalg.norm(phi(w) - w))
        bound = float(np.linalg.norm(w)) + first / (1.0 - float(F.q))
    else:
        bound = np.inf
    limit = DIVERGENCE_FACTOR * bound if np.isfinite(bound) else np.inf
    diverged, ran = False, 0
    for s, alpha_s in enumerate(alphas.tolist(), start=1):
        u = F.sample(w, stream).value                              # T̂(w_s, λ, ζ_s)
        w_next = F.operator_step((1 - alpha_s) * w + alpha_s * u, alpha_s)  # G with step α_s γ
        if not support_equal(w_next, w):
            last_change = s
        diff = w_next - w
        step, norm = float(np.sqrt(diff @ diff)), float(np.sqrt(w_next @ w_next))
        if not (np.isfinite(norm) and np.isfinite(step)) or norm > limit:
            diverged = True
            break
        residual = step / norm if norm > 0 else step
        w = w_next
        ran = s
    samples = ran * F.batch_size
    if diverged:
        residual = np.inf
    return StochasticSolveResult(w=w, iterations=ran, residual=float(residual),
                                 converged=not diverged,
                                 support_identified_at=last_change, samples_used=samples,
                                 epochs=samples / F.n_samples)
