"""Theorem 5.4's bound for NSID on soft-thresholding ∘ least squares, with its constants
computed (docs/theory.md §9):

    E dist²(ĝ, D_w(λ)ᵀu) <= C_w δ² + C_J/J + C_K/(γ + K),     δ = ‖w - w*‖.

For this map ``∂_wT = I - γ(H + λ2 I)`` does not depend on ``w`` (``ν_{T,1} = 0``);
``ν_{T,2} = max_{h ∈ {μ, L}} |γ + γ'(h + λ2)|`` (``∂_λ2T`` is affine in ``w``); ``L_G = 1``;
``L_{G,λ} = √|S| (γ² + (λ1 γ')²)^{1/2}`` (the two columns of ``B_G`` on the support); the
selection of ``G`` is constant within ``R_G`` = the distance from ``ū* = T(w*)`` to the nearest
kink of an untied coordinate, so ``ν_{G,1} = ν_{G,2} = 0``; ``L_{T,λ}`` is ``‖∂_λ2T‖`` at ``w*``
plus ``ν_{T,2} δ`` (the ball the input lies in); ``σ0², σ1², σ2²`` are exact
(:mod:`ns_implicit.theory.oracle`). With these, ``a_u = 0``, ``a_δ = ν_{T,2} U/(1 - q)``,
``a_B = U/(1 - q)``, ``C_b = 2 L_P U/(1 - q)``, ``L_P = L_{T,λ} + L_{G,λ}``, and

    C_w = 4 a_δ² + C_b² L_T²/R_G²,   C_J = 4 a_B² σ2² + C_b² σ0²/R_G²,   C_K = 4 L_P² c_v,

with ``c_v`` Lemma D.2's constant for the linear system (``σ_1 = 2σ1² ‖v∞‖²``,
``σ_2 = 2σ1²/(1 - q)²``, ``‖v∞‖ <= U/(1 - q)``, ``x_0 = 0``). The step sizes must satisfy Lemma
D.2: :func:`admissible_steps` gives ``β = 2/(1 - q²)``, ``γ = β(1 + σ_2)``. The theorem
assumes independent batches: ``sampling="iid"``.
"""

from dataclasses import asdict, dataclass

import numpy as np

from ns_implicit._validation import check_contraction
from ns_implicit.theory.oracle import least_squares_oracle_variances


@dataclass(frozen=True)
class NSIDConstants:
    q: float
    U: float
    L_P: float
    R_G: float
    sigma0_sq: float
    sigma1_sq: float
    sigma2_sq: float
    nu_T2: float
    lemma_sigma1: float
    lemma_sigma2: float
    beta: float
    gamma: float
    C_w: float
    C_J: float
    C_K: float

    def as_dict(self):
        return asdict(self)


def admissible_steps(q, lemma_sigma2):
    """``(β, γ)`` with ``β(1 - q²) = 2 > 1`` and ``γ = β(1 + σ_2)`` (Lemma D.2)."""
    beta = 2.0 / (1.0 - q * q)
    return beta, beta * (1.0 + lemma_sigma2)


def nsid_constants(phi, w_star, u, batch_size, delta=0.0, sampling="iid"):
    """The constants of Theorem 5.4 (module docstring) for an elastic-net map ``phi`` at its
    fixed point ``w_star``, the vector ``u``, minibatches of ``batch_size`` rows and inputs
    within ``delta`` of ``w_star``."""
    check_contraction(phi, "Theorem 5.4's constants")
    T = phi.parent.T
    lam1, lam2 = (float(v) for v in phi.lam)
    gamma_s, dgamma = T.step_size(lam2)
    q, U = float(phi.q), float(np.linalg.norm(u))
    lin = phi.T.linearize(phi.check_point(w_star, "w_star"))
    u_bar = lin.value.astype(np.float64)
    tau = float(phi.tau)
    gap = np.abs(np.abs(u_bar) - tau)
    untied = gap[gap > 0]
    R_G = float(np.min(untied)) if len(untied) else np.inf
    S = int(np.count_nonzero(np.abs(u_bar) >= tau))
    nu_T2 = max(abs(gamma_s + dgamma * (h + lam2)) for h in (T.L, T.mu))
    L_Tlam = float(np.linalg.norm(lin.dT_dlam2)) + nu_T2 * float(delta)
    L_Glam = np.sqrt(S) * np.hypot(gamma_s, lam1 * dgamma)
    L_P = L_Tlam + L_Glam
    s0, s1, s2 = least_squares_oracle_variances(T, lam2, w_star, batch_size, sampling)
    v_inf = U / (1.0 - q)
    lemma_sigma1, lemma_sigma2 = 2.0 * s1 * v_inf ** 2, 2.0 * s1 / (1.0 - q) ** 2
    beta, gamma = admissible_steps(q, lemma_sigma2)
    c_v = max(gamma * v_inf ** 2, beta ** 2 * lemma_sigma1 / (beta * (1.0 - q * q) - 1.0))
    C_b = 2.0 * L_P * U / (1.0 - q)
    a_delta, a_B = nu_T2 * U / (1.0 - q), U / (1.0 - q)
    C_w = 4.0 * a_delta ** 2 + C_b ** 2 * q ** 2 / R_G ** 2
    C_J = 4.0 * a_B ** 2 * s2 + C_b ** 2 * s0 / R_G ** 2
    C_K = 4.0 * L_P ** 2 * c_v
    return NSIDConstants(q, U, float(L_P), R_G, s0, s1, s2, float(nu_T2), lemma_sigma1,
                         lemma_sigma2, beta, gamma, float(C_w), float(C_J), float(C_K))


def nsid_bound(c, delta, J, K):
    """``C_w δ² + C_J/J + C_K/(γ + K)``."""
    return float(sum(nsid_terms(c, delta, J, K)))


def nsid_terms(c, delta, J, K):
    """The three terms ``(C_w δ², C_J/J, C_K/(γ + K))`` of the bound."""
    return c.C_w * delta ** 2, c.C_J / J, c.C_K / (c.gamma + K)


def check_nsid_bound(F, w, u, g_star, c, J, K, seeds, delta=0.0, sampling="iid"):
    """Measure ``E‖ĝ - g*‖²`` over the seeds ``seeds`` (independent repetitions, Lemma D.2's
    step sizes from ``c``; ``sampling="iid"`` is the theorem's, ``"epoch"`` the experiments')
    and compare it with the bound: returns ``(mean, standard error, bound, passed)``, passed
    when ``mean - 3·se <= bound`` (the Monte-Carlo interval). ``g*`` is the target
    ``D_w(λ)ᵀu`` at a generic point (one element)."""
    from ns_implicit.methods.nsid import nsid

    errs = np.array([float(np.sum((nsid(F, w, u, K=K, J=J, rng=np.random.default_rng(s),
                                        beta=c.beta, gamma=c.gamma, sampling=sampling).value
                                   - g_star) ** 2)) for s in seeds])
    mean, se = float(errs.mean()), float(errs.std(ddof=1) / np.sqrt(len(errs)))
    bound = nsid_bound(c, delta, J, K)
    return mean, se, bound, mean - 3.0 * se <= bound
