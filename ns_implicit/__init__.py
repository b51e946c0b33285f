"""ns_implicit: derivatives of fixed points of nonsmooth contraction maps.

Reference implementation of ITD, AID-FP, AID-CG, the exact active-set hypergradient and
(stochastic) NSID / SID from Grazzi, Pontil, Salzo, *Nonsmooth Implicit Differentiation:
Deterministic and Stochastic Convergence Rates* (ICML 2024). Section numbers in the
docstrings refer to THEORY.md, the project's statement of the mathematics.
"""

from .bilevel import METHODS, EarlyStopWarning, HypergradientResult, hypergradient
from .errors import NotContractiveError, SelectionCapError
from .maps.elastic_net import ElasticNetMap
from .maps.poisoning import PoisoningMap
from .maps.stochastic_poisoning import StochasticPoisoningMap
from .maps.stochastic_elastic_net import StochasticElasticNetMap
from .methods import (MethodResult, aid_cg, aid_fp, aid_fp_forward, aid_gmres, exact,
                      exact_jacobian, itd, itd_forward)
from .problems.elastic_net import ElasticNetProblem, from_sklearn, to_sklearn
from .problems.poisoning import PoisoningProblem
from .problems.synthetic import make_sparse_regression
from .methods.nsid import DivergenceWarning, StepSizeWarning, StochasticResult, nsid, sid
from .solver import SolveResult, Trajectory, fixed_point_iteration
from .stochastic import StochasticHypergradientResult, stochastic_hypergradient
from .stochastic_solver import stochastic_prox_gradient

__version__ = "0.1.0"

__all__ = [
    "METHODS", "EarlyStopWarning", "ElasticNetMap", "ElasticNetProblem", "HypergradientResult",
    "MethodResult", "NotContractiveError", "SelectionCapError", "SolveResult", "Trajectory",
    "aid_cg", "aid_fp", "aid_fp_forward", "aid_gmres", "exact", "exact_jacobian",
    "fixed_point_iteration", "from_sklearn", "hypergradient", "itd", "itd_forward",
    "make_sparse_regression", "to_sklearn",
    "DivergenceWarning", "StepSizeWarning", "StochasticElasticNetMap",
    "StochasticHypergradientResult", "StochasticResult", "nsid", "sid",
    "stochastic_hypergradient", "stochastic_prox_gradient",
    "PoisoningMap", "PoisoningProblem", "StochasticPoisoningMap",
]
