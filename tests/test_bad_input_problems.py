"""Bad input to the problem bundles, the layer and the tuner is refused at the public boundary
with a message that names the argument (never a foreign exception or a silent NaN)."""

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.tuning import tune

RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((20, 5)), RNG.standard_normal(20)
YS = np.sign(Y)
NAN_X = np.where(X > 1.5, np.nan, X)

CASES = [
    (lambda: ni.LassoProblem(NAN_X, Y, X, Y), ValueError, "X contains NaN"),
    (lambda: ni.LassoProblem(X, Y[:5], X, Y), ValueError, "y must have one entry per row"),
    (lambda: ni.WeightedLassoProblem(X, Y, X, Y).map.at([0.1, 0.2]), ValueError,
     r"lam must be a 1-D array of length 5"),
    (lambda: ni.WeightedLassoProblem(X, Y, X, Y).map.at(-np.ones(5)), ValueError,
     r"lam\[0\] must be >= 0"),
    (lambda: ni.NonnegativeLassoProblem(X, Y, X, Y, lam2=-1.0), ValueError, "lam2 must be"),
    (lambda: ni.LassoProblem(X, Y, X, Y, fit_intercept=1), TypeError, "fit_intercept must be"),
    (lambda: ni.LinearSVMProblem(X, YS[:3], X, YS), ValueError, "y must have one entry"),
    (lambda: ni.LinearSVMProblem(X, YS, X, YS).map.at([np.nan]), ValueError, "C must be finite"),
    (lambda: ni.LinearSVMProblem(X, YS, X[:, :2], YS), ValueError, "X_val must have the same"),
    (lambda: ni.SparseLogisticProblem(X, YS, X[:, :2], YS, fit_intercept=True), ValueError,
     "X_val must have the same number of columns as X: 2 != 5"),
    (lambda: ni.ReLUEquilibriumProblem(np.array([[np.inf, 1.0]]), [1.0], [1.0, 2.0], 2),
     ValueError, "X contains NaN or infinite"),
    (lambda: ni.ReLUEquilibriumProblem(X, Y, [1.0], 0), ValueError, "width must be"),
    (lambda: ni.ReLUEquilibriumProblem(X[:2], Y[:2], [1.0, 2.0], 2).map.at("abc"), TypeError,
     "theta must have dtype"),
    (lambda: ni.ReLUEquilibriumProblem(X[:2], Y[:3], [1.0, 2.0], 2), ValueError,
     "targets must have one entry per input"),
    (lambda: tune(ni.LassoProblem(X, Y, X, Y), lam0=[np.nan]), ValueError, "lam0 contains NaN"),
    (lambda: tune(ni.LassoProblem(X, Y, X, Y), max_outer=0), ValueError, "max_outer must be"),
]


@pytest.mark.parametrize("call, error, words", CASES)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
