"""Smooth steps ``T``: the inner half of ``Φ = G ∘ T`` (docs/theory.md §5, §9, §11, §15.1).

The protocol every step follows (the composite map relies on it and on nothing else):

``Step``
    ``dim``, ``dtype``, ``n_params`` (the length of ``λ_T``; ``param_names`` when they
    are scalars), ``check_params(lam_T)``, ``at(lam_T) -> StepAt`` (raises
    :class:`~ns_implicit.errors.NotContractiveError` when ``q >= 1``) and, for NSID/SID and
    the stochastic solver, ``minibatch(batch_size)`` (an oracle with ``n``, ``batch_size``,
    ``sample(step_at, w, stream)`` and ``average(step_at, w, stream, J)``).

``StepAt`` (``T(·, λ_T)`` for one ``λ_T``)
    ``lam``, ``q`` (a bound on ``‖∂_wT‖``), ``gamma`` (the step size, which the operator
    may scale by), ``dgamma`` (``∇γ(λ_T)`` or None when constant), ``evaluate(w, out)``
    (``out = T(w)``), ``linearize(w) -> lin``.

``lin`` (``T`` and its derivatives at one point)
    ``value``; ``jvp_w``, ``vjp_w`` (products with ``∂_wT``), ``jvp_lam``, ``vjp_lam``
    (with ``∂_{λ_T}T``); ``jac_w_block(R)`` = dense ``∂_wT[R, R]``; ``symmetric`` (tag:
    ``∂_wT`` is symmetric — every gradient step's is).
"""

from ns_implicit.steps.affine import AffineStep
from ns_implicit.steps.binary_logistic import BinaryLogisticStep
from ns_implicit.steps.least_squares import LeastSquaresStep
from ns_implicit.steps.logistic import MultinomialLogisticStep
from ns_implicit.steps.svm_dual import SVMDualStep

__all__ = ["AffineStep", "BinaryLogisticStep", "LeastSquaresStep", "MultinomialLogisticStep",
           "SVMDualStep"]
