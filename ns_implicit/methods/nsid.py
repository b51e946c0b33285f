"""NSID and SID: stochastic implicit differentiation, docs/theory.md §9 (Algorithm 1, eq. (19)).

Setting (eq. (2)): ``Φ(w, λ) = G(T(w, λ), λ)`` with ``G = S_{τ(λ)}`` exact and ``T`` known
only through minibatches, ``T = E_ξ T̂(·, ·, ξ)``. NSID approximates
``D_w(λ)ᵀu = (A_G B_T + B_G)ᵀ (I - A_Tᵀ A_Gᵀ)⁻¹ u`` (eq. (18)):

1. first sample set ``ξ'_1 … ξ'_J``: ``ū = (1/J) Σ_j T̂(w, λ, ξ'_j)``, ``B̄_T`` likewise;
2. one selection ``(A_G, B_G)`` of ``G`` at ``ū``, **frozen** for the rest of the run;
3. ``v_0 = 0``; for ``k < K``, with a fresh ``ξ_k`` from a second, independent stream:
   ``v_{k+1} = (1 - η_k) v_k + η_k (∂_1T̂(w, λ, ξ_k)ᵀ A_Gᵀ v_k + u)``;
4. ``ĝ = (A_G B̄_T + B_G)ᵀ v_K``.

SID (docs/theory.md §9, "SID as a special case") runs the same steps with ``G``'s selection taken at
each stochastic point ``T̂(w, λ, ξ_k)`` instead of the frozen ``ū`` (the authors' code calls
NSID with ``T̂ := G∘T̂`` and ``G := Id``); its final step is NSID's. In the nonsmooth case
the random selection biases SID; NSID removes the bias.

Step sizes: ``η_k = β/(γ + k)`` (``steps="dec"``) or ``η_k ≡ β/γ`` (``"const"``), by default
``β = β_mult·2/(1 - q²)``, ``γ = γ_mult·2/(1 - q²)`` (docs/theory.md §12.3). Lemma D.2 needs
``β(1 - q²) > 1`` and ``γ >= β(1 + σ₂) >= β`` (so ``η_0 <= 1``); a violation warns
:class:`StepSizeWarning`. (This ``γ`` is the paper's step-size offset, not the step of ``T``.)

Sample accounting (docs/theory.md §12): ``samples_used = (K + J)·b``, ``epochs = samples_used / n``.

Stochastic composite map protocol
---------------------------------
NSID and SID use nothing but the following from ``F = stochastic_map.at(lam)``
(:class:`~ns_implicit.maps.stochastic.StochasticCompositeMap` implements it for any operator
``G`` and any step with a minibatch oracle):

``dim``, ``n_hyper``, ``dtype``, ``lam``, ``q``
    as in the map protocol of :mod:`ns_implicit.maps` (``q``: contraction factor of
    ``Φ(·, λ)``, used for the default step sizes); ``check_point(w, name) -> w``.
``n_samples``, ``batch_size``
    the ``n`` rows ``ξ`` is drawn from and ``b = |ξ|``; NSID deals the batches through
    :class:`~ns_implicit.solvers.sampling.BatchStream` (by default shuffled epochs, as in the paper).
``sample(w, stream) -> lin``, ``average(w, stream, J) -> lin``
    ``T̂(w, λ, ξ)`` on the next batch of ``stream``, and ``T̄_J(w, λ)`` over the next ``J``
    batches: linearizations of the step (``value``, ``vjp_w``, ``vjp_lam``, …).
``operator_selection(u) -> gsel``
    ``G``'s selection at ``u`` with the operator's tie rule (``rows``, ``AT``, ``BT``, …).
``compose(lin, gsel) -> Selection``
    the selection ``(A_G ∂_wT, A_G ∂_λT + B_G)`` of ``Φ`` (step 4 uses its ``BT``).
``stochastic_linear_system(w, gsel, u, etas, stream, *, per_sample_mask, tol, record)``
    step 3 in compiled code, returning ``(v_k, k, last step)``, or None when not offered
    (then the generic loop runs). It must give the generic loop's ``v_k[R]`` on the same
    batches (only those rows enter ``ĝ``, the early stop and the bound check).
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from ns_implicit._validation import (as_float_array, check_map_at, check_positive_float,
                                     check_positive_int)
from ns_implicit.errors import NotContractiveError
from ns_implicit.solvers.sampling import BatchStream, spawn
from ns_implicit.methods.result import MethodResult

STEPS = ("dec", "const")


class StepSizeWarning(UserWarning):
    """The NSID/SID step sizes violate the conditions of Lemma D.2 (docs/theory.md §9)."""


class DivergenceWarning(RuntimeWarning):
    """The NSID/SID iterate exceeds twice the bound ``‖u‖/(1 - q)`` on the solution (Lemma D.3(a))."""


@dataclass
class StochasticResult(MethodResult):
    """A :class:`~ns_implicit.methods.result.MethodResult` with the sample accounting of docs/theory.md §12.

    ``iterations`` = ``k`` linear-system steps run (``K`` unless stopped early);
    ``residual`` = ``‖m ⊙ (v_k - v_{k-1})‖ / ‖u‖`` (``m`` the selection mask; only
    ``v[R]`` enters ``ĝ``); ``converged`` is True when the early stop ``tol`` was met, or
    when no ``tol`` was given and the ``K`` steps ran; ``samples_used = (k + J)·b``;
    ``epochs = samples_used / n``; ``batches`` = ``J``; ``support_size`` = ``|{m(ū) = 1}|``;
    ``etas`` = the step sizes ``η_0 … η_{K-1}``.
    """

    samples_used: int = 0
    epochs: float = 0.0
    batches: int = 0
    support_size: int = 0
    etas: np.ndarray = field(default=None, repr=False)


def step_sizes(K, q, steps="dec", *, beta=None, gamma=None, beta_mult=1.0, gamma_mult=1.0):
    """``η_0 … η_{K-1}``: ``β/(γ + k)`` or the constant ``β/γ`` (docs/theory.md §9, §12.3).

    ``beta``/``gamma`` default to ``beta_mult``/``gamma_mult`` times ``2/(1 - q²)``. Warns
    :class:`StepSizeWarning` when Lemma D.2's ``β(1 - q²) > 1`` (decreasing steps) or
    ``η_0 = β/γ <= 1`` fails. Returns a float64 array.
    """
    return _step_sizes(K, q, steps, beta, gamma, beta_mult, gamma_mult, stacklevel=3)


def _step_sizes(K, q, steps, beta, gamma, beta_mult, gamma_mult, stacklevel):
    K = check_positive_int(K, "K", minimum=0)
    if steps not in STEPS:
        raise ValueError(f"steps must be one of {', '.join(STEPS)}; got {steps!r}.")
    q = float(q)
    if not 0.0 <= q < 1.0:
        raise ValueError(f"q must lie in [0, 1) (a contraction factor); got {q}.")
    base = 2.0 / (1.0 - q * q)
    beta = base * check_positive_float(beta_mult, "beta_mult") if beta is None else beta
    gamma = base * check_positive_float(gamma_mult, "gamma_mult") if gamma is None else gamma
    beta = check_positive_float(beta, "beta")
    if not np.isfinite(float(gamma)) or float(gamma) < 0:
        raise ValueError(f"gamma must be finite and >= 0 (eta_k = beta/(gamma + k)); got {gamma}.")
    gamma = float(gamma)
    if gamma == 0.0:
        raise ValueError("gamma must be > 0: eta_0 = beta/gamma is undefined for gamma = 0 "
                         "(use gamma >= beta so that eta_0 <= 1).")
    if steps == "dec" and beta * (1.0 - q * q) <= 1.0 + 1e-12:
        warnings.warn(
            f"beta*(1 - q^2) = {beta * (1.0 - q * q):.6g} <= 1 violates Lemma D.2 (docs/theory.md §9) for "
            f"q = {q:.6g}: the O(1/k) rate is not guaranteed; use beta > 1/(1 - q^2) = "
            f"{1.0 / (1.0 - q * q):.6g} (beta_mult > 0.5 with the default base 2/(1 - q^2)).",
            StepSizeWarning, stacklevel=stacklevel)
    if beta / gamma > 1.0:
        warnings.warn(
            f"eta_0 = beta/gamma = {beta / gamma:.6g} > 1 violates Lemma D.2 (docs/theory.md §9: gamma >= "
            f"beta(1 + sigma_2)); use gamma >= beta.", StepSizeWarning, stacklevel=stacklevel)
    k = np.arange(K, dtype=np.float64)
    return beta / (gamma + k) if steps == "dec" else np.full(K, beta / gamma)


def _linear_system(F, w, u, gsel, etas, stream, frozen, tol, record):
    """Step 3 of Algorithm 1, eq. (19), generic loop over the protocol's ``sample``."""
    v = np.zeros_like(u)
    rows = gsel.rows
    step, k = 0.0, 0
    for k, eta in enumerate(etas.tolist(), start=1):            # Python floats keep u's dtype
        lin = F.sample(w, stream)                                   # ξ_k, second sample set
        if not frozen:                                              # SID: G's selection at T̂(w, λ, ξ_k)
            gsel = F.operator_selection(lin.value)
            rows = gsel.rows
        v_next = (1 - eta) * v + eta * (lin.vjp_w(gsel.AT(v)) + u)  # eq. (19)
        step = float(np.linalg.norm((v_next - v)[rows]))
        v = v_next
        if record is not None:
            record[k - 1] = v
        if tol > 0 and step <= tol:
            break
    return v, k, step


def _check_bounded(v, rows, u_norm, F):
    """Refuse a non-finite iterate; warn when ``‖v_k[R]‖ > 2‖u‖/(1 - q)``.

    Lemma D.3(a) bounds the solution: ``‖v_∞‖ <= ‖u‖/(1 - q)``. Past twice that bound,
    ``‖v_k - v_∞‖ >= ‖v_k‖ - ‖v_∞‖ > ‖v_∞‖``: the iterate is certainly off by more than 100%.
    """
    hint = (f"the minibatch maps (batch size {F.batch_size}) are probably not contractions "
            "(Assumption 5.3), or the steps are too large; use a larger batch size or smaller "
            "steps (beta_mult, or gamma_mult > 1)")
    active = v[rows]  # the rows of v that enter ĝ
    if not np.all(np.isfinite(active)):
        raise NotContractiveError(f"the stochastic linear system diverged (non-finite iterate): "
                                  f"{hint}.")
    norm, bound = float(np.linalg.norm(active)), u_norm / (1.0 - float(F.q))
    if norm > 2.0 * bound:
        warnings.warn(f"||v_k[R]|| = {norm:.3g} exceeds twice the bound ||u||/(1 - q) = "
                      f"{bound:.3g} on the solution (Lemma D.3(a)): the estimate is off by more "
                      f"than 100%; {hint}.", DivergenceWarning, stacklevel=4)


def _stochastic_implicit(F, w, u, K, J, rng, frozen, steps, beta, gamma, beta_mult, gamma_mult,
                         tol, history, compiled, sampling):
    check_map_at(F, "nsid" if frozen else "sid", stochastic=True)
    w = F.check_point(w, "w")
    u = as_float_array(u, "u", ndim=1, dtype=F.dtype)
    if u.shape[0] != F.dim:
        raise ValueError(f"u must have length {F.dim} (the dimension of w); got {u.shape[0]}.")
    K = check_positive_int(K, "K", minimum=1)  # K = 0 would return B̄ᵀ0 = 0, "converged"
    J = K + 1 if J is None else check_positive_int(J, "J", minimum=1)
    tol = 0.0 if tol is None else check_positive_float(tol, "tol", strict=False)
    etas = _step_sizes(K, F.q, steps, beta, gamma, beta_mult, gamma_mult, stacklevel=4)
    first, second = (BatchStream(F.n_samples, F.batch_size, g, sampling) for g in spawn(rng, 2))

    lin_bar = F.average(w, first, J)                            # step 1: ū, B̄_T
    gsel = F.operator_selection(lin_bar.value)                  # step 2: (A_G, B_G) at ū, frozen
    sel = F.compose(lin_bar, gsel)

    u_norm = float(np.linalg.norm(u))
    tol_abs = tol * u_norm
    record = np.empty((K, F.dim), dtype=F.dtype) if history else None
    out = None
    if compiled:                                                # step 3, compiled (when offered)
        out = F.stochastic_linear_system(w, gsel, u, etas, second, per_sample_mask=not frozen,
                                         tol=tol_abs, record=record)
    if out is None:                                             # step 3, generic
        out = _linear_system(F, w, u, gsel, etas, second, frozen, tol_abs, record)
    v, k, step = out

    _check_bounded(v, gsel.rows, u_norm, F)
    value = sel.BT(v)                                           # step 4: (A_G B̄_T + B_G)ᵀ v_K
    hist = [sel.BT(record[i]) for i in range(k)] if history else None
    residual = step / u_norm if u_norm > 0 else step
    samples = (k + J) * F.batch_size
    return StochasticResult(
        value=value, method="nsid" if frozen else "sid", iterations=k, residual=residual,
        converged=(tol == 0.0 and k == K) or (tol > 0 and step <= tol_abs), history=hist,
        samples_used=samples, epochs=samples / F.n_samples, batches=J,
        support_size=len(gsel.rows), etas=etas)


def nsid(F, w, u, K, J=None, rng=None, *, steps="dec", beta=None, gamma=None, beta_mult=1.0,
         gamma_mult=1.0, tol=None, history=False, compiled=True, sampling="epoch"):
    """NSID (docs/theory.md §9, Algorithm 1): an estimate of ``D_w(λ)ᵀu`` from ``(K + J)·b`` samples.

    Parameters
    ----------
    F : a stochastic composite map at fixed ``λ`` (protocol in this module's docstring),
        e.g. ``StochasticElasticNetMap(X, y, batch_size).at(lam)``.
    w : the point (an approximate fixed point); u : the vector (bilevel: ``∇_1E(w, λ)``).
    K : linear-system iterations (>= 1: K = 0 has no estimate; ``ValueError``); J : batches of the averaged map (>= 1; default
        ``K + 1``, the paper's ``J_inner_mult = 1``).
    rng : integer seed or :class:`numpy.random.Generator` (required); two independent
        streams are derived from it, one per sample set.
    steps : ``"dec"`` (``η_k = β/(γ + k)``) or ``"const"`` (``η_k = β/γ``).
    beta, gamma : step-size constants (default ``beta_mult``, ``gamma_mult`` times ``2/(1 - q²)``).
    tol : optional early stop when ``‖m ⊙ (v_{k+1} - v_k)‖ <= tol·‖u‖`` (default: run all K).
    history : keep ``ĝ`` after every iteration in ``result.history``.
    compiled : use ``F.stochastic_linear_system`` when ``F`` has it (same iterates, faster).
    sampling : ``"epoch"`` (the paper's shuffled epochs) or ``"iid"`` (independent batches,
        the theory's Assumption 5.3); see :mod:`ns_implicit.solvers.sampling`.

    Returns a :class:`StochasticResult` (``value`` = ``ĝ``, length ``n_hyper``).
    """
    return _stochastic_implicit(F, w, u, K, J, rng, True, steps, beta, gamma, beta_mult,
                                gamma_mult, tol, history, compiled, sampling)


def sid(F, w, u, K, J=None, rng=None, *, steps="dec", beta=None, gamma=None, beta_mult=1.0,
        gamma_mult=1.0, tol=None, history=False, compiled=True, sampling="epoch"):
    """SID (docs/theory.md §9, "SID as a special case"): NSID with ``G``'s selection re-taken at
    every stochastic point ``T̂(w, λ, ξ_k)``. Same parameters and result as :func:`nsid`;
    biased when coordinates of ``T(w, λ)`` lie within minibatch noise of the threshold.
    """
    return _stochastic_implicit(F, w, u, K, J, rng, False, steps, beta, gamma, beta_mult,
                                gamma_mult, tol, history, compiled, sampling)
