"""The constants of Assumption 3.1 for the group elastic net (docs/theory.md §15.10).

For ``Φ(w, λ) = G(u(w, λ))`` with ``G`` block soft-thresholding (``τ_g = γλ1ω_g``) and
``u = w - γ(Hw - b + λ2 w)`` the least-squares step with the paper's ``γ(λ2)``, at the fixed
point ``w*`` with ``u* = u(w*)``, ``r*_g = ‖u*_g‖`` and ``M = ∂_wu`` (``‖M‖ = q``):

* ``q = ‖I - γ(H + λ2 I)‖`` (``‖A_G‖ <= 1``);
* ``R = margin / q`` with ``margin = min_{g untied} |r*_g - τ_g|``: ``u`` is ``q``-Lipschitz in
  ``w``, so inside the ball no untied group crosses its threshold (a tied group may take
  either branch, both of which are vertices at ``w*``);
* ``ν₁ = q κ``, ``κ = max_g 2qτ_g/(r*_g ρ_g)`` over the active or tied groups, ``ρ_g = r*_g - qR``
  (untied) or ``τ_g`` (tied, whose active branch has ``r_g >= τ_g``): on an active branch
  ``A_g(u) - A_g(u*) = -τ[(I - ddᵀ)/r - (I - d*d*ᵀ)/r*]``, ``‖ddᵀ - d*d*ᵀ‖ <= ‖u - u*‖/r*``
  and ``|1/r - 1/r*| <= ‖u - u*‖/(r r*)``, so ``‖A_G - Ā_G‖ <= κ‖w - w*‖``; ``A = A_G M``;
* ``ν₂ = (ν_λ1² + ν_λ2²)^{1/2}`` with ``ν_λ1 = 2γqδ``, ``δ = max_g ω_g/r*_g`` (the ``λ1``
  column ``-γΣω_g d_g`` and ``‖d - d*‖ <= 2‖u - u*‖/r*``) and
  ``ν_λ2 = max_{h ∈ {μ, L}}|γ + γ'(h + λ2)| + κ‖t*‖ + 2|γ'|λ1qδ`` (the ``λ2`` column
  ``A_G t(w) - γ'λ1Σω_g d_g``, ``t(w) = ∂_{λ2}u`` affine in ``w``, ``t* = t(w*)``);
* ``L_Φ = max ‖B‖`` over the selections at ``w*`` and at every visited point.
"""

from dataclasses import dataclass

import numpy as np

from ns_implicit._validation import check_contraction
from ns_implicit.operators.base import MAX_SELECTIONS
from ns_implicit.theory.constants import ElasticNetConstants
from ns_implicit.theory.sets import selections


@dataclass(frozen=True)
class GroupLassoConstants(ElasticNetConstants):
    """Constants of Assumption 3.1 at one ``(w*, λ)`` of the group elastic net: the fields of
    :class:`~ns_implicit.theory.constants.ElasticNetConstants` (``tau`` is the smallest group
    threshold, ``ties`` the tied groups, ``margin`` the smallest ``|‖u*_g‖ - τ_g|`` of the
    untied ones) and ``kappa``, the Lipschitz constant of ``A_G`` in ``w`` on the ball."""

    kappa: float = 0.0


def _b_norm(sel, n_hyper, dtype):
    B = np.column_stack([sel.B(e) for e in np.eye(n_hyper, dtype=dtype)])
    return float(np.linalg.norm(B.astype(np.float64), 2))


def group_lasso_constants(phi, w_star, *, visited=(), cap=MAX_SELECTIONS, tie_tol=0.0):
    """``q, L_Φ, ν₁, ν₂, R`` (module docstring) for a group-elastic-net map ``phi`` at its
    tightly solved fixed point ``w_star`` (``λ = (λ1, λ2)``, the paper's step)."""
    w_star = phi.check_point(w_star, "w_star")
    check_contraction(phi, "Theorem 4.1's constants")
    T, G = phi.parent.T, phi.G
    lam1, lam2 = (float(v) for v in phi.lam)
    gamma, dgamma = T.step_size(lam2)
    q = float(phi.q)
    lin = phi.T.linearize(w_star)  # the step at λ_T, built with the map
    u = np.asarray(lin.value, dtype=np.float64)
    r = G.group_norms(u)
    tau = G.thresholds(phi.lam_G, phi.gamma, phi.dtype).astype(np.float64)
    ties = G.ties(u, phi.lam_G, phi.gamma, tie_tol)
    penalised = tau > 0
    untied = penalised.copy()
    untied[ties] = False
    margin = float(np.min(np.abs(r - tau)[untied])) if untied.any() else np.inf
    R = np.inf if q == 0.0 else margin / q
    tied = np.zeros(G.n_groups, dtype=bool)
    tied[ties] = True
    live = penalised & ((r > tau) | tied)  # active or tied: their A_g varies with w
    rho = np.where(tied, tau, r - q * R if np.isfinite(R) else r)
    kappa = float(np.max(2.0 * q * tau[live] / (r[live] * rho[live]), initial=0.0))
    delta = float(np.max(G.weights[live] / r[live], initial=0.0))
    t_star = np.asarray(lin.jvp_lam(np.ones(1, dtype=phi.dtype)), dtype=np.float64)
    nu_lam1 = 2.0 * gamma * q * delta
    nu_lam2 = (max(abs(gamma + dgamma * (h + lam2)) for h in (T.L, T.mu))
               + kappa * float(np.linalg.norm(t_star)) + 2.0 * abs(dgamma) * lam1 * q * delta)
    star_sels = selections(phi, w_star, cap, tie_tol=tie_tol)
    L_Phi = max(_b_norm(s, phi.n_hyper, phi.dtype) for s in star_sels)
    for t, w in enumerate(visited):
        w = phi.check_point(w, f"visited[{t}]")
        L_Phi = max(L_Phi, max(_b_norm(s, phi.n_hyper, phi.dtype)
                               for s in selections(phi, w, cap)))
    q_support = max(s.active_block_norm() for s in star_sels)
    residual = float(np.linalg.norm(phi(w_star).astype(np.float64) - w_star))
    return GroupLassoConstants(q=q, L_Phi=L_Phi, nu1=q * kappa, nu2=float(np.hypot(nu_lam1,
                                                                                    nu_lam2)),
                               R=float(R), gamma=float(gamma),
                               tau=float(np.min(tau[penalised], initial=np.inf)),
                               margin=margin, ties=tuple(int(g) for g in ties),
                               q_support=float(q_support), fixed_point_residual=residual,
                               kappa=kappa)
