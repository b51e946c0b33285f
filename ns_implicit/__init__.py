"""ns_implicit: derivatives of fixed points of nonsmooth contraction maps.

Reference implementation of ITD, AID-FP, AID-CG, the exact active-set hypergradient and
(stochastic) NSID / SID from Grazzi, Pontil, Salzo, *Nonsmooth Implicit Differentiation:
Deterministic and Stochastic Convergence Rates* (ICML 2024). Section numbers in the
docstrings refer to docs/theory.md, the project's statement of the mathematics.
"""

from ns_implicit.bilevel.hypergradient import METHODS, EarlyStopWarning, HypergradientResult, hypergradient
from ns_implicit.errors import NotContractiveError, NotSymmetricError, SelectionCapError
from ns_implicit.maps.elastic_net import ElasticNetMap, LassoMap
from ns_implicit.maps.poisoning import PoisoningMap
from ns_implicit.maps.composite import CompositeMap
from ns_implicit.maps.stochastic import (StochasticCompositeMap, StochasticElasticNetMap,
                                         StochasticPoisoningMap)
from ns_implicit.methods import (MethodResult, aid_cg, aid_fp, aid_fp_forward, aid_gmres, exact,
                      exact_jacobian, itd, itd_forward)
from ns_implicit.problems.elastic_net import (ElasticNetProblem, LassoProblem, from_sklearn,
                                              to_sklearn)
from ns_implicit.problems.deq import ReLUEquilibriumProblem
from ns_implicit.problems.group_lasso import GroupLassoProblem, GroupLogisticProblem
from ns_implicit.problems.constrained_least_squares import (L1BallLeastSquaresProblem,
                                                            SimplexLeastSquaresProblem)
from ns_implicit.problems.nonneg_lasso import NonnegativeLassoProblem
from ns_implicit.problems.sparse_logreg import SparseLogisticProblem
from ns_implicit.problems.svm import LinearSVMProblem
from ns_implicit.problems.weighted_lasso import WeightedLassoProblem
from ns_implicit.problems.poisoning import PoisoningProblem
from ns_implicit.data.synthetic import make_sparse_regression
from ns_implicit.methods.nsid import DivergenceWarning, StepSizeWarning, StochasticResult, nsid, sid
from ns_implicit.solvers.fixed_point import SolveResult, Trajectory, fixed_point_iteration
from ns_implicit.bilevel.stochastic import StochasticHypergradientResult, stochastic_hypergradient
from ns_implicit.solvers.stochastic import stochastic_prox_gradient

from ns_implicit._version import __version__  # noqa: E402

__all__ = [
    "METHODS", "EarlyStopWarning", "ElasticNetMap", "ElasticNetProblem", "LassoMap", "LassoProblem",
    "WeightedLassoProblem", "SparseLogisticProblem", "NonnegativeLassoProblem",
    "ReLUEquilibriumProblem", "LinearSVMProblem", "HypergradientResult", "GroupLassoProblem",
    "GroupLogisticProblem", "SimplexLeastSquaresProblem", "L1BallLeastSquaresProblem",
    "MethodResult", "NotContractiveError", "SelectionCapError", "SolveResult", "Trajectory",
    "aid_cg", "aid_fp", "aid_fp_forward", "aid_gmres", "exact", "exact_jacobian",
    "fixed_point_iteration", "from_sklearn", "hypergradient", "itd", "itd_forward",
    "make_sparse_regression", "to_sklearn",
    "DivergenceWarning", "StepSizeWarning", "StochasticElasticNetMap",
    "StochasticHypergradientResult", "StochasticResult", "nsid", "sid",
    "stochastic_hypergradient", "stochastic_prox_gradient",
    "PoisoningMap", "PoisoningProblem", "StochasticPoisoningMap",
    "CompositeMap", "StochasticCompositeMap", "NotSymmetricError",
]
