"""The problems ``ns-implicit hypergrad --problem NAME`` knows: their data arrays, their
hyperparameters (scalar flags or a vector file) and their embedded default data."""

from dataclasses import dataclass

import numpy as np

REGRESSION = ("X", "y", "X_val", "y_val")


@dataclass(frozen=True)
class ProblemSpec:
    """One ``--problem``: the bundle's class (``module.Class`` in :mod:`ns_implicit.problems`), the ``.npz`` arrays, the
    scalar hyperparameter flags in order, whether the hyperparameters are a vector
    (``--lam-file``), and whether ``--fit-intercept`` applies."""

    cls: str
    keys: tuple = REGRESSION
    scalars: tuple = ()
    vector: bool = False
    intercept: bool = False
    classifier: bool = False
    ridge_optional: bool = False  # --lam2 turns λ2 into one more hyperparameter (last)

    def describe(self):
        if self.ridge_optional:
            hyper = ("--lam1 (one for every group) or --lam-file F.npy (one per group), and "
                     "optionally --lam2 (the group elastic net)")
        elif self.vector:
            hyper = "--lam-file F.npy" + (" (or --lam1 for every weight)" if self.scalars else "")
        else:
            hyper = " ".join(f"--{s.replace('_', '-')}" for s in self.scalars)
        return f"{', '.join(self.keys)}; hyperparameters {hyper}"


PROBLEMS = {
    "elastic-net": ProblemSpec("elastic_net.ElasticNetProblem", scalars=("lam1", "lam2"),
                               intercept=True),
    "lasso": ProblemSpec("elastic_net.LassoProblem", scalars=("lam1",), intercept=True),
    "weighted-lasso": ProblemSpec("weighted_lasso.WeightedLassoProblem", scalars=("lam1",),
                                  vector=True, intercept=True),
    "nonneg-lasso": ProblemSpec("nonneg_lasso.NonnegativeLassoProblem", scalars=("lam1",),
                                intercept=True),
    "sparse-logreg": ProblemSpec("sparse_logreg.SparseLogisticProblem", scalars=("lam1",),
                                 classifier=True, intercept=True),
    "svm": ProblemSpec("svm.LinearSVMProblem", scalars=("C",), classifier=True),
    "deq": ProblemSpec("deq.ReLUEquilibriumProblem", keys=("X", "y", "readout"), vector=True),
    "group-lasso": ProblemSpec("group_lasso.GroupLassoProblem", keys=REGRESSION + ("groups",),
                               scalars=("lam1", "lam2"), vector=True, intercept=True,
                               ridge_optional=True),
    "simplex-ls": ProblemSpec("constrained_least_squares.SimplexLeastSquaresProblem",
                              scalars=("radius",), intercept=True),
    "l1-ball-ls": ProblemSpec("constrained_least_squares.L1BallLeastSquaresProblem",
                              scalars=("radius",), intercept=True),
}

#: defaults of the scalar flags
DEFAULTS = {"lam1": 0.02, "lam2": 0.002, "C": 0.01, "radius": 1.0}

#: the embedded default partition of ``group-lasso``: consecutive groups of this many features
DEFAULT_GROUP_SIZE = 5


def default_arrays(name, dtype):
    """The embedded default data of a problem (no download): the paper's synthetic regression
    (docs/theory.md §12.2, seed 3), its labels ``sign(y)`` for the classifiers; ``deq`` has
    none (it needs the layer's weights anyway)."""
    from ns_implicit.data.synthetic import make_sparse_regression

    spec = PROBLEMS[name]
    if spec.keys not in (REGRESSION, REGRESSION + ("groups",)):
        raise ValueError(f"--problem {name} has no embedded default data: pass --data FILE.npz "
                         f"with arrays {', '.join(spec.keys)}.")
    data = make_sparse_regression(seed=3, dtype=dtype)
    arrays = {k: getattr(data, k) for k in REGRESSION}
    if spec.classifier:
        arrays["y"], arrays["y_val"] = np.sign(arrays["y"]), np.sign(arrays["y_val"])
    if "groups" in spec.keys:
        arrays["groups"] = np.arange(arrays["X"].shape[1]) // DEFAULT_GROUP_SIZE
    return arrays


def build(name, arrays, fit_intercept, options=None):
    """The problem bundle from its arrays; ``options``: keyword arguments of the bundle beyond
    the arrays (``group-lasso``: ``group_weights``, ``per_group``, ``lam2``)."""
    import importlib

    spec = PROBLEMS[name]
    module, cls = spec.cls.rsplit(".", 1)
    cls = getattr(importlib.import_module(f"ns_implicit.problems.{module}"), cls)
    if name == "deq":
        readout = arrays["readout"]
        return cls(arrays["X"], arrays["y"], readout, width=int(readout.shape[0]))
    kwargs = {"fit_intercept": True} if fit_intercept else {}
    kwargs.update(options or {})
    return cls(*(arrays[k] for k in spec.keys), **kwargs)
