"""The poisoning map in the stochastic composite form, THEORY.md §9 and §11.3.

``Φ(w, Λ) = S_{γλ1}(T(w, Λ))`` with the multinomial-logistic step ``T`` known through
minibatches ``T̂(w, Λ, ξ)`` (:class:`~ns_implicit.steps.minibatch_logistic.MinibatchLogistic`;
the paper's batch is 300 rows, THEORY §12.4). ``.at(noise)`` implements the stochastic
composite map protocol documented in :mod:`ns_implicit.methods.nsid` (generic loop; no
compiled linear system). ``τ = γλ1`` does not depend on ``Λ``, so ``dtau`` is None.
"""

from ns_implicit.steps.minibatch_logistic import MinibatchLogistic
from ns_implicit.maps.poisoning import PoisoningMap
from ns_implicit.maps.stochastic import StochasticMap, StochasticMapAt


class StochasticPoisoningMap(StochasticMap):
    """The poisoning map with a minibatch oracle for its gradient step.

    Parameters
    ----------
    pmap : a :class:`~ns_implicit.maps.poisoning.PoisoningMap` (data, step, ``λ1``, ``λ2``,
        tie rule; reused, nothing is recomputed).
    batch_size : rows per minibatch ``b``.
    """

    def __init__(self, pmap, batch_size):
        if not isinstance(pmap, PoisoningMap):
            raise TypeError(f"pmap must be a PoisoningMap; got {type(pmap).__name__}.")
        super().__init__(pmap, MinibatchLogistic(pmap.T, batch_size))

    def at(self, lam):
        """The stochastic composite map at the noise ``lam`` (shape ``(p, f)`` or flat)."""
        return StochasticPoisoningMapAt(self, lam)


class StochasticPoisoningMapAt(StochasticMapAt):
    """``Φ(·, Λ) = S_τ ∘ T`` with ``T`` sampled by minibatches (protocol of :mod:`~ns_implicit.methods.nsid`)."""

    def sample(self, w, stream):
        """``T̂(w, Λ, ξ)`` for the next batch ``ξ`` of ``stream``."""
        return self.parent.T_hat.sample(self.phi.T, w, stream)

    def average(self, w, stream, J):
        """``T̄_J(w, Λ)``: the mean of ``T̂`` over the next ``J`` batches of ``stream``."""
        return self.parent.T_hat.average(self.phi.T, w, stream, J)
