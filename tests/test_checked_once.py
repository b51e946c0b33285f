"""A bundle checks its arrays once, at its boundary (``_validation.checked``): the finite test
of the inner constructors is skipped for those very objects inside the bundle's constructor,
and nowhere else; NaN and ±inf are still refused by name, dense and sparse."""

import numpy as np
import pytest
import scipy.sparse as sp

import ns_implicit as ni
from ns_implicit._validation import as_float_array, checked


def test_checked_skips_the_finite_test_for_those_objects_inside_the_block_only():
    bad = np.array([[1.0, np.nan], [0.0, 1.0]])
    other = bad.copy()
    with checked(bad):
        assert as_float_array(bad, "X", ndim=2) is bad
        with pytest.raises(ValueError, match="X contains NaN"):
            as_float_array(other, "X", ndim=2)       # an equal array, another object
        with checked(other):
            as_float_array(other, "X", ndim=2)
        with pytest.raises(ValueError, match="X contains NaN"):  # the inner block restored
            as_float_array(other, "X", ndim=2)
    with pytest.raises(ValueError, match="X contains NaN"):
        as_float_array(bad, "X", ndim=2)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X", "X_val"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("cls", [ni.ElasticNetProblem, ni.LassoProblem, ni.WeightedLassoProblem])
def test_the_bundles_refuse_non_finite_designs_by_name(value, where, sparse, cls):
    rng = np.random.default_rng(0)
    arrays = {"X": rng.standard_normal((30, 4)), "y": rng.standard_normal(30),
              "X_val": rng.standard_normal((10, 4)), "y_val": rng.standard_normal(10)}
    arrays[where][3, 2] = value
    if sparse:
        arrays["X"], arrays["X_val"] = sp.csr_matrix(arrays["X"]), sp.csr_matrix(arrays["X_val"])
    with pytest.raises(ValueError, match=f"^{where} contains NaN or infinite values"):
        cls(arrays["X"], arrays["y"], arrays["X_val"], arrays["y_val"])
