"""The composite map with a minibatch oracle for its smooth half (docs/theory.md §9, eq. (2)).

``Φ(w, λ) = G(T(w, λ))`` with ``T`` known through minibatches ``T̂(w, λ, ξ)`` and ``G``
exact. ``StochasticCompositeMap(deterministic_map, batch_size).at(lam)`` implements the
stochastic composite map protocol of :mod:`ns_implicit.methods.nsid`, for any operator ``G``
and any step that has a minibatch oracle (``step.minibatch(batch_size)``).
"""

from ns_implicit._validation import check_contraction
from ns_implicit.maps.composite import CompositeMap
from ns_implicit.maps.elastic_net import ElasticNetMap
from ns_implicit.maps.poisoning import PoisoningMap
from ns_implicit.operators.soft_threshold import SoftThreshold


class StochasticCompositeMap:
    """A :class:`~ns_implicit.maps.composite.CompositeMap` plus the minibatch oracle of its step.

    Parameters
    ----------
    deterministic : the composite map ``G ∘ T`` (supplies ``G``, the step size, the
        contraction factor and the deterministic inner solve).
    batch_size : rows per minibatch ``b``.
    """

    def __init__(self, deterministic, batch_size):
        if not isinstance(deterministic, CompositeMap):
            raise TypeError(f"the deterministic map must be a CompositeMap (e.g. an "
                            f"ElasticNetMap); got {type(deterministic).__name__}.")
        self.deterministic = deterministic
        if not hasattr(deterministic.T, "minibatch"):
            raise TypeError(f"{type(deterministic.T).__name__} has no minibatch oracle, which "
                            "NSID, SID and the stochastic solver need (LeastSquaresStep and "
                            "MultinomialLogisticStep have one); use a deterministic method.")
        self.T_hat = deterministic.T.minibatch(batch_size)
        self.dim, self.n_hyper, self.dtype = (deterministic.dim, deterministic.n_hyper,
                                              deterministic.dtype)
        self.n_samples, self.batch_size = self.T_hat.n, self.T_hat.batch_size
        self.tie_active = deterministic.tie_active

    def at(self, lam):
        """The stochastic composite map at fixed ``lam``."""
        return StochasticCompositeMapAt(self, lam)


class StochasticCompositeMapAt:
    """``Φ(·, λ) = G ∘ T`` with ``T`` sampled by minibatches (protocol of :mod:`~ns_implicit.methods.nsid`)."""

    def __init__(self, parent, lam):
        self.parent = parent
        self.phi = parent.deterministic.at(lam)  # validates λ, raises NotContractiveError
        check_contraction(self.phi, "the stochastic map (NSID, SID, the stochastic solver)")
        self.lam, self.q = self.phi.lam, self.phi.q
        self.tie_active = parent.tie_active
        self.dim, self.n_hyper, self.dtype = parent.dim, parent.n_hyper, parent.dtype
        self.n_samples, self.batch_size = parent.n_samples, parent.batch_size
        T_hat = parent.T_hat
        # the compiled loop calls soft-thresholding's own tie rule: that operator only
        self._compiled = hasattr(T_hat, "linear_system") and type(self.phi.G) is SoftThreshold

    @property
    def tau(self):
        return self.phi.tau

    @property
    def dtau(self):
        return self.phi.dtau

    def check_point(self, w, name="w"):
        return self.phi.check_point(w, name)

    def sample(self, w, stream):
        """``T̂(w, λ, ξ)`` for the next batch ``ξ`` of ``stream``."""
        return self.parent.T_hat.sample(self.phi.T, w, stream)

    def average(self, w, stream, J):
        """``T̄_J(w, λ)``: the mean of ``T̂`` over the next ``J`` batches of ``stream``."""
        return self.parent.T_hat.average(self.phi.T, w, stream, J)

    def operator_selection(self, u):
        """``G``'s selection at ``u`` (the operator's tie rule)."""
        return self.phi.operator_selection(u)

    def operator_step(self, x, alpha):
        """``G`` with its step scaled by ``α``: ``G(x; λ_G, αγ)`` (the stochastic solver's prox)."""
        phi = self.phi
        return phi.G.value(x, phi.lam_G, phi.dtype.type(alpha * float(phi.gamma)))

    def compose(self, lin, gsel):
        return self.phi.compose(lin, gsel)

    def stochastic_linear_system(self, w, gsel, u, etas, stream, *, per_sample_mask=False,
                                 tol=0.0, record=None):
        """Step 3 of NSID / SID in compiled code when the step has it and ``G`` is
        soft-thresholding; None otherwise (the generic loop then runs)."""
        if not self._compiled:
            return None
        return self.parent.T_hat.linear_system(
            self.phi.T, w, gsel.mask, u, etas, stream, self.phi.tau, self.tie_active,
            per_sample_mask=per_sample_mask, tol=tol, record=record)


class StochasticElasticNetMap(StochasticCompositeMap):
    """The elastic-net map with a minibatch oracle for its least-squares step.

    Parameters
    ----------
    X, y : dense training data (float32 or float64); batch_size : rows per minibatch ``b``.
    step, gram, tie_active : as for :class:`~ns_implicit.maps.elastic_net.ElasticNetMap`
        (the step ``γ(λ2)`` is the full-data one, as in the paper's scripts).
    """

    def __init__(self, X, y, batch_size, step="paper", gram="auto", tie_active=False):
        super().__init__(ElasticNetMap(X, y, step=step, gram=gram, tie_active=tie_active),
                         batch_size)

    @classmethod
    def from_map(cls, enet_map, batch_size):
        """Reuse an existing :class:`~ns_implicit.maps.elastic_net.ElasticNetMap` (no recomputation)."""
        if not isinstance(enet_map, ElasticNetMap):
            raise TypeError(f"enet_map must be an ElasticNetMap; got {type(enet_map).__name__}.")
        self = cls.__new__(cls)
        StochasticCompositeMap.__init__(self, enet_map, batch_size)
        return self


class StochasticPoisoningMap(StochasticCompositeMap):
    """The poisoning map with a minibatch oracle for its multinomial-logistic step.

    Parameters
    ----------
    pmap : a :class:`~ns_implicit.maps.poisoning.PoisoningMap` (reused, nothing recomputed).
    batch_size : rows per minibatch ``b``.
    """

    def __init__(self, pmap, batch_size):
        if not isinstance(pmap, PoisoningMap):
            raise TypeError(f"pmap must be a PoisoningMap; got {type(pmap).__name__}.")
        super().__init__(pmap, batch_size)
