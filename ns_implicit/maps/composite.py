"""The composite fixed-point map ``Φ(w, λ) = G(T(w, λ_T); λ_G, γ(λ_T))`` (docs/theory.md §15.1).

Any nonsmooth operator ``G`` (:mod:`ns_implicit.operators`) after any smooth step ``T``
(:mod:`ns_implicit.steps`). The hyperparameters are ``λ = (λ_G, λ_T)``: the operator's
first, then the step's. ``CompositeMap(G, T).at(lam)`` follows the map protocol of
:mod:`ns_implicit.maps` that every method relies on.
"""

import numpy as np

from ns_implicit._validation import as_float_array, check_hyperparameters
from ns_implicit.maps.selection import Selection
from ns_implicit.operators.base import MAX_SELECTIONS
from ns_implicit.operators.soft_threshold import SoftThreshold


class CompositeMap:
    """``Φ = G ∘ T``.

    Parameters
    ----------
    operator : a nonsmooth operator (e.g. :class:`~ns_implicit.operators.SoftThreshold`).
    step : a smooth step (e.g. :class:`~ns_implicit.steps.least_squares.LeastSquaresStep`).
    """

    def __init__(self, operator, step):
        self.G, self.T = operator, step
        self.dim, self.dtype = step.dim, step.dtype
        self.n_hyper = operator.n_params + step.n_params

    @property
    def tie_active(self):
        return self.G.tie_active

    def check_lam(self, lam):
        """``λ`` validated and split: ``(λ, λ_G, λ_T)``."""
        n_G = self.G.n_params
        if n_G == 0 and not hasattr(self.T, "param_names"):  # the step's own (shaped) layout
            lam_T = np.asarray(self.T.check_params(lam))
            return lam_T.reshape(-1), lam_T.reshape(-1)[:0], lam_T
        names = tuple(self.G.param_names) + tuple(getattr(self.T, "param_names", ()))
        if len(names) != self.n_hyper:
            names = tuple(f"lam[{i}]" for i in range(self.n_hyper))
        lam = check_hyperparameters(lam, self.dtype, n=self.n_hyper, names=names)
        return lam, self.G.check_params(lam[:n_G]), self.T.check_params(lam[n_G:])

    def at(self, lam):
        """``Φ(·, λ)``; raises :class:`~ns_implicit.errors.NotContractiveError` when ``q >= 1``."""
        return CompositeMapAt(self, lam)


class CompositeMapAt:
    """``Φ(·, λ)`` for one ``λ``: evaluation, one-call solver step and the §7 oracle."""

    def __init__(self, parent, lam):
        self.parent = parent
        self.G = parent.G
        self.lam, self.lam_G, self.lam_T = parent.check_lam(lam)
        self.T = parent.T.at(self.lam_T)        # the step at λ_T (raises NotContractiveError)
        self.q = self.T.q                       # G is nonexpansive: q(Φ) <= q(T)
        self.gamma = self.T.gamma
        self.dim, self.n_hyper, self.dtype = parent.dim, parent.n_hyper, parent.dtype
        threshold = getattr(self.G, "threshold", None)
        self._tau = None if threshold is None else threshold(self.lam_G, self.gamma)
        # the step's fused ISTA kernel applies to soft-thresholding itself, not to look-alikes
        self._fused = type(self.G) is SoftThreshold and hasattr(self.T, "soft_threshold_step")
        if self._fused:  # ∂τ/∂λ_G and ∂τ/∂γ, for B of the fused selection products
            d_G, d_gamma = self.G.threshold_gradient(self.lam_G, self.gamma)
            self._dtau = np.asarray(d_G, dtype=self.dtype), float(d_gamma)
            self._dgamma_T = (None if self.T.dgamma is None
                              else np.asarray(self.T.dgamma, dtype=self.dtype))

    @property
    def tau(self):
        """The operator's threshold ``τ`` (soft-thresholding operators)."""
        if self._tau is None:
            raise AttributeError(f"{type(self.G).__name__} has no scalar threshold tau.")
        return self._tau

    @property
    def dtau(self):
        """``∇_λτ`` for a soft-thresholding operator (None when ``τ`` does not depend on ``λ``)."""
        d_G, d_gamma = self.G.threshold_gradient(self.lam_G, self.gamma)
        d_T = (d_gamma * self.T.dgamma if self.T.dgamma is not None
               else np.zeros(len(self.lam_T)))
        dtau = np.concatenate([d_G, d_T]).astype(self.dtype)
        return dtau if np.any(dtau) else None

    def check_point(self, w, name="w"):
        """Validate a point of the map's domain (length ``dim``, the map's dtype, finite)."""
        check = getattr(self.T, "check_point", None)
        if check is not None:
            return check(w, name)
        w = as_float_array(w, name, ndim=1, dtype=self.dtype)
        if w.shape[0] != self.dim:
            raise ValueError(f"{name} must have length p = {self.dim}; got {w.shape[0]}.")
        return w

    def advance(self, w, out):
        """``out = Φ(w, λ)``; returns ``(‖out - w‖, support_changed)``."""
        if self._fused:
            done = self.T.soft_threshold_step(w, self._tau, out)
            if done is not None:
                return done
        self.T.evaluate(w, out)
        return self.G.apply(out, self.lam_G, self.gamma, w, out)

    def __call__(self, w):
        """``Φ(w, λ)`` for a validated ``w`` (length ``dim``, the map's dtype, finite)."""
        w = self.check_point(w, "w")
        out = np.empty_like(w)
        self.advance(w, out)  # internal, unchecked: every public path validates first
        return out

    def inner_point(self, w):
        """``u = T(w, λ)``, the point where ``G`` is evaluated."""
        return self.T.linearize(self.check_point(w, "w")).value

    def operator_selection(self, u, tie_active=None):
        """``G``'s selection at ``u`` with the operator's tie rule."""
        return self.G.select(u, self.lam_G, self.gamma, tie_active)

    def compose(self, lin, gsel):
        """The selection ``(A, B)`` of ``Φ`` from a linearization of ``T`` and one of ``G``."""
        return Selection(lin, gsel, len(self.lam_G), self.T.dgamma)

    def selection(self, w, vertex=None):
        """One ``(A, B) ∈ D_Φ(w, λ)`` (docs/theory.md §7) with the operator's tie rule, or
        the given selection ``vertex`` of ``G`` (one of ``G.vertices``)."""
        w = self.check_point(w, "w")
        if vertex is None:
            return self._selection(w)
        return self.compose(self.T.linearize(w), vertex)

    def vjp(self, w, v):
        """``(Aᵀ v, Bᵀ v)`` for the selection at ``w`` (the operator's tie rule): one step of
        reverse ITD. ``w`` and ``v`` are trusted (validated by the caller). Soft-thresholding
        after a step with a fused kernel takes one compiled call; ``B_G = -(m ⊙ s) ∇_{(λ_G, γ)}τ``
        (docs/theory.md §15.4(a))."""
        fused = self._fused and self.T.soft_threshold_vjp(w, self._tau, self.G.tie_active, v)
        if not fused:
            return self._selection(w).vjp(v)
        a, c_sign, g_T = fused
        d_G, d_gamma = self._dtau
        if self._dgamma_T is not None:
            g_T = g_T - (c_sign * d_gamma) * self._dgamma_T
        return a, np.concatenate((-c_sign * d_G, g_T)).astype(v.dtype, copy=False)

    def jvp(self, w, J):
        """``A J + B`` (``p × n_hyper``) for the selection at ``w``: one step of forward ITD,
        ``J_{s+1} = A_s J_s + B_s``. ``w`` and ``J`` are trusted (validated by the caller)."""
        fused = self._fused and self.T.soft_threshold_jvp(w, self._tau, self.G.tie_active, J)
        if not fused:
            return self._selection(w).jvp(J)
        AJ, signed, dT = fused
        d_G, d_gamma = self._dtau
        B_T = dT
        if self._dgamma_T is not None:
            B_T = dT - (signed * d_gamma)[:, None] * self._dgamma_T[None, :]
        B = np.concatenate((-signed[:, None] * d_G[None, :], B_T), axis=1)
        return AJ + B.astype(J.dtype, copy=False)

    def _selection(self, w):
        """The selection at a trusted ``w`` (no validation)."""
        lin = self.T.linearize(w)
        return self.compose(lin, self.operator_selection(lin.value))

    def selections(self, w, cap=MAX_SELECTIONS, tie_tol=0.0):
        """Every ``(A, B) ∈ D_Φ(w, λ)``: one per vertex of ``G``'s conservative set at ``u``."""
        lin = self.T.linearize(w)
        return [self.compose(lin, g)
                for g in self.G.vertices(lin.value, self.lam_G, self.gamma, cap, tie_tol)]
