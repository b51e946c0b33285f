"""The constants of Assumption 3.1 for the elastic-net map (docs/theory.md §6, §11.2, §4).

At the fixed point ``w* = w(λ)`` of ``Φ(w, λ) = S_{γλ1}(u(w, λ))``, ``u = w - γ(∇f(w) + λ2 w)``:

* ``q = ‖I - γ(H + λ2 I)‖`` bounds ``‖A‖`` for every selection (Assumption 3.1(2));
* ``ν₁ = 0``: ``A = diag(m)(I - γ(H + λ2 I))`` depends on ``w`` only through the mask, which
  is constant (up to the tie choices, all present at ``w*``) on the ball ``B(w*, R)``;
* ``ν₂ = ‖γI + γ'(H + λ2 I)‖`` (``γ' = dγ/dλ2``): only the ``λ2`` column of ``B``,
  ``m ⊙ (∂_{λ2}u(w) - λ1 γ' sign(u))``, depends on ``w`` within the ball, with
  ``∂_w ∂_{λ2}u = -(γI + γ'(H + λ2 I))``. For the paper's step (``γ' = -γ²``) this is
  ``γq``; for a fixed step it is ``γ`` (docs/theory.md §11.2);
* ``R = min(margin, 2τ) / q`` (``margin / q`` without ties) with ``margin = min_{i not tied} ||u*_i| - τ|`` (the kink
  margin of §4): ``u(·, λ)`` is ``q``-Lipschitz, so for ``‖w - w*‖ < R`` no untied coordinate
  crosses the threshold (no new selection, Lemma 2.5) and a tied one keeps its sign
  (``|u_i - u*_i| < 2τ``), which makes ``D_Φ(w)`` a set of masks already present at ``w*``;
* ``L_Φ = max ‖B‖`` (operator norm) over the selections at ``w*`` and at every visited
  point (docs/theory.md §11.2: ``B`` grows with ``w``, so no global ``L_Φ`` exists).
"""

from dataclasses import asdict, dataclass

import numpy as np

from ns_implicit._validation import check_contraction
from ns_implicit.operators.base import MAX_SELECTIONS
from ns_implicit.theory.sets import selections


@dataclass(frozen=True)
class ElasticNetConstants:
    """Constants of Assumption 3.1 at one ``(w*, λ)`` (see the module docstring).

    ``ties`` are the tied coordinates at ``w*``; ``q_support`` is the contraction factor of
    the active block ``‖(I - γ(H + λ2 I))_{S'S'}‖`` over ``S'`` = the union of the supports of
    the selections at ``w*`` (the observed rate after identification, docs/theory.md §8 item 4 —
    reported, not used by the bounds). ``fixed_point_residual = ‖Φ(w*) - w*‖``.
    """

    q: float
    L_Phi: float
    nu1: float
    nu2: float
    R: float
    gamma: float
    tau: float
    margin: float
    ties: tuple
    q_support: float
    fixed_point_residual: float

    @property
    def jacobian_bound(self):
        """``L_Φ / (1 - q)``, Lemma 3.2(d)."""
        return self.L_Phi / (1.0 - self.q)

    def as_dict(self):
        out = asdict(self)
        out["ties"] = [int(i) for i in self.ties]
        out["jacobian_bound"] = self.jacobian_bound
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in out.items()}


def kink_margin(phi, w, *, tie_tol=0.0):
    """``(min_{i not tied} ||u_i| - τ|, tied indices)`` at ``u = T(w, λ)`` (docs/theory.md §4).

    ``margin = inf`` when every coordinate is tied.
    """
    u = np.asarray(phi.inner_point(phi.check_point(w, "w")), dtype=np.float64)
    ties = phi.G.ties(u, phi.lam_G, phi.gamma, tie_tol)
    gap = np.abs(np.abs(u) - float(phi.tau))
    gap[ties] = np.inf
    return float(np.min(gap)), ties


def _b_norm(sel, n_hyper):
    B = np.column_stack([sel.B(e) for e in np.eye(n_hyper, dtype=sel.mask.dtype)])
    return float(np.linalg.norm(B.astype(np.float64), 2))


def elastic_net_constants(phi, w_star, *, visited=(), cap=MAX_SELECTIONS, tie_tol=0.0):
    """``q, L_Φ, ν₁, ν₂, R`` of Assumption 3.1 for an elastic-net map ``phi`` at ``w_star``.

    ``w_star`` must be the fixed point (solved tightly; its residual is reported).
    ``visited``: points whose selections enter ``L_Φ`` (e.g. the iterates of a run; the
    selections there are enumerated with exact ties). ``tie_tol`` applies to ``w_star``
    only (see :mod:`ns_implicit.theory.sets`).
    """
    w_star = phi.check_point(w_star, "w_star")
    check_contraction(phi, "Theorem 4.1's constants")
    T = phi.parent.T
    lam1, lam2 = (float(v) for v in phi.lam)
    gamma, dgamma = T.step_size(lam2)
    q = float(phi.q)
    tau = float(phi.tau)
    # ν₂ = max over the spectrum [μ, L] of H of |γ + γ'(h + λ2)| (affine in h: endpoints).
    nu2 = max(abs(gamma + dgamma * (h + lam2)) for h in (T.L, T.mu))
    margin, ties = kink_margin(phi, w_star, tie_tol=tie_tol)
    reach = min(margin, 2.0 * tau) if len(ties) else margin
    R = np.inf if q == 0.0 else reach / q
    star_sels = selections(phi, w_star, cap, tie_tol=tie_tol)
    L_Phi = max(_b_norm(s, phi.n_hyper) for s in star_sels)
    for t, w in enumerate(visited):
        w = phi.check_point(w, f"visited[{t}]")
        L_Phi = max(L_Phi, max(_b_norm(s, phi.n_hyper) for s in selections(phi, w, cap)))
    union = np.unique(np.concatenate([s.active for s in star_sels]))
    if len(union):
        M = (1.0 - gamma * lam2) * np.eye(len(union)) - gamma * T.hessian_block(union)
        q_support = float(np.max(np.abs(np.linalg.eigvalsh(M.astype(np.float64)))))
    else:
        q_support = 0.0
    residual = float(np.linalg.norm(phi(w_star).astype(np.float64) - w_star))
    return ElasticNetConstants(q=q, L_Phi=L_Phi, nu1=0.0, nu2=float(nu2), R=float(R),
                               gamma=float(gamma), tau=tau, margin=margin,
                               ties=tuple(int(i) for i in ties), q_support=q_support,
                               fixed_point_residual=residual)
