"""Hyperparameter tuning by hypergradients (docs/theory.md §10): :func:`tune` over any problem
bundle, with warm starts, a tightening tolerance and k-fold cross-validation."""

from ns_implicit.tuning.baselines import default_grid, grid_search, random_search
from ns_implicit.tuning.objective import CrossValidatedObjective, InnerSolveError, Objective, kfold
from ns_implicit.tuning.optimizers import OPTIMIZERS
from ns_implicit.tuning.tune import TuneResult, cross_validation_problems, tune

__all__ = ["OPTIMIZERS", "CrossValidatedObjective", "InnerSolveError", "Objective",
           "TuneResult", "cross_validation_problems", "default_grid", "grid_search", "kfold",
           "random_search", "tune"]
