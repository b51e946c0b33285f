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

from ns_implicit._validation import check_positive_float, check_positive_int
from ns_implicit.kernels.least_squares import support_equal
from ns_implicit.solvers.sampling import BatchStream, as_generator
from ns_implicit.solvers.fixed_point import SolveResult

STEPS = ("dec", "const")


@dataclass
class StochasticSolveResult(SolveResult):
    """A :class:`~ns_implicit.solvers.fixed_point.SolveResult` of the stochastic solver.

    ``iterations`` = steps run; ``residual`` = last relative step ``‖w_s - w_{s-1}‖/‖w_s‖``
    (it does not vanish with constant steps: there is no stopping test, ``converged`` only
    says the budget ran); ``samples_used`` = ``iterations·b``; ``epochs`` = ``samples_used/n``.
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
    """
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
    for s, alpha_s in enumerate(alphas.tolist(), start=1):
        u = F.sample(w, stream).value                              # T̂(w_s, λ, ζ_s)
        w_next = F.operator_step((1 - alpha_s) * w + alpha_s * u, alpha_s)  # G with step α_s γ
        if not support_equal(w_next, w):
            last_change = s
        diff = w_next - w
        step, norm = float(np.sqrt(diff @ diff)), float(np.sqrt(w_next @ w_next))
        residual = step / norm if norm > 0 else step
        w = w_next
    samples = iters * F.batch_size
    return StochasticSolveResult(w=w, iterations=iters, residual=float(residual), converged=True,
                                 support_identified_at=last_change, samples_used=samples,
                                 epochs=samples / F.n_samples)
