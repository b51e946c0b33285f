"""The part every stochastic composite map shares (THEORY.md §9, eq. (2)).

``Φ(w, λ) = S_{τ(λ)}(T(w, λ))`` with ``T`` known through minibatches ``T̂(w, λ, ξ)``. A
stochastic map wraps a deterministic map (for ``G``'s threshold, the contraction factor and
the deterministic inner solve) and a minibatch oracle ``T_hat``; its ``.at(lam)`` follows the
protocol documented in :mod:`ns_implicit.methods.nsid`. Subclasses add ``sample`` and
``average`` (and optionally a compiled ``stochastic_linear_system``).
"""


class StochasticMap:
    """A deterministic map plus a minibatch oracle ``T_hat`` (with ``n``, ``batch_size``)."""

    def __init__(self, deterministic, T_hat):
        self.deterministic = deterministic
        self.T_hat = T_hat
        self.dim, self.n_hyper, self.dtype = deterministic.dim, deterministic.n_hyper, deterministic.dtype
        self.n_samples, self.batch_size = T_hat.n, T_hat.batch_size
        self.tie_active = deterministic.tie_active


class StochasticMapAt:
    """``Φ(·, λ)`` of a :class:`StochasticMap` at one ``λ``: the protocol's attributes."""

    def __init__(self, parent, lam):
        self.parent = parent
        self.phi = parent.deterministic.at(lam)  # validates λ, raises NotContractiveError
        self.lam, self.q = self.phi.lam, self.phi.q
        self.tau, self.dtau = self.phi.tau, self.phi.dtau
        self.tie_active = parent.tie_active
        self.dim, self.n_hyper, self.dtype = parent.dim, parent.n_hyper, parent.dtype
        self.n_samples, self.batch_size = parent.n_samples, parent.batch_size

    def check_point(self, w, name="w"):
        return self.phi.check_point(w, name)
