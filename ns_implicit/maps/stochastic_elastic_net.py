"""The elastic-net map in the stochastic composite form, THEORY.md §9 and §11.2.

``Φ(w, λ) = G(T(w, λ), λ)`` with ``G = S_{τ(λ)}``, ``τ(λ) = γ(λ2) λ1``, and the
least-squares step ``T`` known through minibatches ``T̂(w, λ, ξ)``
(:class:`~ns_implicit.steps.minibatch_least_squares.MinibatchLeastSquares`). ``.at(lam)``
implements the stochastic composite map protocol documented in
:mod:`ns_implicit.methods.nsid`, including its optional compiled linear-system loop.
"""

import numpy as np

from ns_implicit.steps.minibatch_least_squares import MinibatchLeastSquares
from ns_implicit.kernels.minibatch import stochastic_linear_system
from ns_implicit.maps.elastic_net import ElasticNetMap
from ns_implicit.maps.stochastic import StochasticMap, StochasticMapAt

# Batches handed to the compiled loop per call: bounds the index buffer to ~8 MB.
_CHUNK_INDICES = 1 << 20


class StochasticElasticNetMap(StochasticMap):
    """ISTA map of the elastic net with a minibatch oracle for its gradient step.

    Parameters
    ----------
    X, y : dense training data (float32 or float64); batch_size : rows per minibatch ``b``.
    step, gram, tie_active : as for :class:`~ns_implicit.maps.elastic_net.ElasticNetMap`
        (the step ``γ(λ2)`` is the full-data one, as in the paper's scripts).
    """

    n_hyper = 2

    def __init__(self, X, y, batch_size, step="paper", gram="auto", tie_active=False):
        self._init(ElasticNetMap(X, y, step=step, gram=gram, tie_active=tie_active), batch_size)

    @classmethod
    def from_map(cls, enet_map, batch_size):
        """Reuse an existing :class:`~ns_implicit.maps.elastic_net.ElasticNetMap` (no recomputation)."""
        if not isinstance(enet_map, ElasticNetMap):
            raise TypeError(f"enet_map must be an ElasticNetMap; got {type(enet_map).__name__}.")
        self = cls.__new__(cls)
        self._init(enet_map, batch_size)
        return self

    def _init(self, enet_map, batch_size):
        StochasticMap.__init__(self, enet_map, MinibatchLeastSquares(enet_map.T, batch_size))

    def at(self, lam):
        """The stochastic composite map at fixed ``lam = (λ1, λ2)``."""
        return StochasticElasticNetMapAt(self, lam)


class StochasticElasticNetMapAt(StochasticMapAt):
    """``Φ(·, λ) = S_τ ∘ T`` with ``T`` sampled by minibatches (protocol of :mod:`~ns_implicit.methods.nsid`)."""

    def sample(self, w, stream):
        """``T̂(w, λ, ξ)`` for the next batch ``ξ`` of ``stream``."""
        return self.parent.T_hat.sample(w, self.lam, stream)

    def average(self, w, stream, J):
        """``T̄_J(w, λ)``: the mean of ``T̂`` over the next ``J`` batches of ``stream``."""
        return self.parent.T_hat.average(w, self.lam, stream, J)

    def stochastic_linear_system(self, w, mask, u, etas, stream, *, per_sample_mask=False,
                                 tol=0.0, record=None):
        """THEORY §9 eq. (19) from ``v_0 = 0`` in compiled code; returns ``(v_k, k, last step)``.

        Same ``m ⊙ v_k`` (all that enters ``ĝ``) as the generic loop of
        :mod:`~ns_implicit.methods.nsid` on the same batches, up to the summation order of
        the products; NSID leaves the inactive coordinates of ``v`` at 0. The stream is read
        in chunks.
        """
        T_hat = self.parent.T_hat
        v = np.zeros(self.dim, dtype=self.dtype)
        etas = np.ascontiguousarray(etas, dtype=np.float64)
        K = etas.shape[0]
        chunk = max(1, _CHUNK_INDICES // self.batch_size)
        no_record = np.empty((0, self.dim), dtype=self.dtype)
        done, step = 0, 0.0
        while done < K:
            m = min(chunk, K - done)
            rec = no_record if record is None else record[done: done + m]
            ran, step = stochastic_linear_system(
                T_hat.X, T_hat.y, stream.take(m), w, mask, u, float(self.phi.gamma),
                float(self.lam[1]), float(self.tau), bool(self.tie_active),
                bool(per_sample_mask), etas[done: done + m], float(tol), v, rec)
            done += ran
            if tol > 0 and step <= tol:
                break
        return v, done, float(step)
