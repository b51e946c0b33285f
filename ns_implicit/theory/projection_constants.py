"""The constants of Assumption 3.1 for least squares over the simplex or the ℓ1 ball
(docs/theory.md §15.11).

For ``Φ(w, r) = P_C(u(w))``, ``u = w - γ(H + λ2 I)w + γb`` (``λ2 > 0`` fixed, the paper's step,
``λ = (r,)``), at the fixed point ``w*`` with ``u* = u(w*)`` and threshold ``θ*``:

* ``q = ‖I - γ(H + λ2 I)‖`` (``‖A_G‖ <= 1``);
* ``ν₁ = ν₂ = 0``: ``A_G = diag(s) - σσᵀ/|s|`` and ``∂G/∂r = σ/|s|`` depend on ``w`` only through
  the support ``s`` and the signs ``σ``, and ``T`` does not depend on ``r``;
* ``R = reach / q``. The threshold is 1-Lipschitz in the max-norm
  (``θ(u + c·1) = θ(u) + c`` and ``θ`` is monotone), so a gap ``u_i - θ`` (or ``|u_i| - θ``) moves by
  at most ``2‖u - u*‖``: ``reach = margin/2`` with ``margin`` the smallest gap of an untied entry.
  For the ball, also: outside, ``θ* > 0`` must stay positive (``reach <= θ*``); strictly inside,
  ``‖u‖₁`` moves by at most ``√p‖u - u*‖`` (``reach = (r - ‖u*‖₁)/√p``, where ``A_G = I``, ``B_G = 0``).
  In ``B(w*, R)`` the support and signs of the untied entries do not change, and a tied entry
  takes one of its choices at ``w*``: every selection has an identical partner there;
* ``L_Φ = max ‖B‖`` over the selections at ``w*`` and the visited points.
"""

import numpy as np

from ns_implicit._validation import check_contraction
from ns_implicit.kernels.simplex import l1_norm
from ns_implicit.operators.base import MAX_SELECTIONS
from ns_implicit.operators.l1_ball import L1BallProjection
from ns_implicit.theory.constants import ElasticNetConstants
from ns_implicit.theory.group_constants import _b_norm
from ns_implicit.theory.sets import selections


def projection_constants(phi, w_star, *, visited=(), cap=MAX_SELECTIONS, tie_tol=0.0):
    """``q, L_Φ, ν₁ = ν₂ = 0, R`` (module docstring) at the fixed point ``w_star``; ``tau``
    holds ``θ*`` and ``ties`` the tied entries."""
    w_star = phi.check_point(w_star, "w_star")
    check_contraction(phi, "Theorem 4.1's constants")
    if phi.n_hyper != 1:
        raise ValueError("the projection constants are derived for lam = (radius,) with a "
                         "fixed ridge weight (docs/theory.md §15.11).")
    G, q = phi.G, float(phi.q)
    u = np.asarray(phi.inner_point(w_star), dtype=np.float64)
    r = G.radius(phi.lam_G)
    theta = G.theta(u, phi.lam_G)
    ball = isinstance(G, L1BallProjection)
    ties = G.ties(u, phi.lam_G, phi.gamma, tie_tol)
    if ball and l1_norm(u) < r and not len(ties):  # strictly inside: A_G = I, B_G = 0
        margin = r - l1_norm(u)
        reach = margin / np.sqrt(len(u))
    else:
        a = np.abs(u) if ball else u
        gaps = np.abs(a - theta)
        gaps[ties] = np.inf
        if ball and theta == 0.0:  # on the sphere: the zero entries are the tied ones
            gaps[a == 0] = np.inf
        margin = float(np.min(gaps))
        reach = margin / 2.0
        if ball and theta > 0.0:
            reach = min(reach, theta)
    R = np.inf if q == 0.0 else reach / q
    star = selections(phi, w_star, cap, tie_tol=tie_tol)
    L_Phi = max(_b_norm(s, 1, phi.dtype) for s in star)
    for t, w in enumerate(visited):
        w = phi.check_point(w, f"visited[{t}]")
        L_Phi = max(L_Phi, max(_b_norm(s, 1, phi.dtype) for s in selections(phi, w, cap)))
    q_support = max(s.active_block_norm() for s in star)
    residual = float(np.linalg.norm(phi(w_star).astype(np.float64) - w_star))
    return ElasticNetConstants(q=q, L_Phi=L_Phi, nu1=0.0, nu2=0.0, R=float(R),
                               gamma=float(phi.gamma),
                               tau=float(theta), margin=float(margin),
                               ties=tuple(int(i) for i in ties), q_support=float(q_support),
                               fixed_point_residual=residual)
