"""The oracle variances of Assumption 5.2 (ns_implicit.theory.oracle) are the exact
expectations over every minibatch: enumerated here for a tiny problem, with replacement (all
ordered b-tuples) and without (all b-subsets), through the library's own minibatch oracle."""

import itertools

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.steps.least_squares import LeastSquaresStep
from ns_implicit.theory.oracle import least_squares_oracle_variances, sampling_factor

N, P, B, LAM2 = 7, 3, 2, 0.1


@pytest.mark.parametrize("sampling", ["iid", "epoch"])
def test_variances_are_the_exact_expectations(sampling):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((N, P)), rng.standard_normal(N)
    step = LeastSquaresStep(X, y)
    at = step.at(np.array([LAM2]))
    w = rng.standard_normal(P)
    full = at.linearize(w)
    T_hat = step.minibatch(B)
    eye = np.eye(P)
    batches = (itertools.product(range(N), repeat=B) if sampling == "iid"
               else itertools.combinations(range(N), B))
    e0, e1, e2 = [], [], []
    for idx in batches:
        lin = T_hat.linearize(w, np.array([LAM2]), np.array(idx))
        e0.append(np.sum((lin.value - full.value) ** 2))
        D = np.column_stack([lin.jvp_w(e) - full.jvp_w(e) for e in eye])
        e1.append(np.sum(D ** 2))  # Frobenius
        e2.append(np.sum((lin.dT_dlam2 - full.dT_dlam2) ** 2))
    s0, s1, s2 = least_squares_oracle_variances(step, LAM2, w, B, sampling)
    # exact expectations (uniform over the enumerated batches): round-off only
    np.testing.assert_allclose([np.mean(e0), np.mean(e1), np.mean(e2)], [s0, s1, s2],
                               rtol=1e-12)


def test_sampling_factor_and_bad_arguments():
    assert sampling_factor(10, 10, "epoch") == 0.0  # the whole data: no variance
    assert sampling_factor(10, 2, "iid") == 0.5
    with pytest.raises(ValueError, match="sampling must be one of iid, epoch"):
        sampling_factor(10, 2, "bootstrap")
    with pytest.raises(ValueError, match="batch_size must lie in"):
        sampling_factor(10, 11, "iid")
    assert ni  # the package imports
