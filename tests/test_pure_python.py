"""The pure-Python switch (NS_IMPLICIT_PURE_PYTHON=1) computes the same numbers — and the right
ones: both paths are compared with the independent numpy closed form of docs/theory.md §13
item 2, so two paths sharing a mistake cannot pass by agreeing with each other."""

import json
import os
import subprocess
import sys

import numpy as np

import ns_implicit as ni
from conftest import closed_form_hypergradient

SETTING = dict(n_samples=200, n_features=20, n_informative=5)
LAM = [0.02, 0.01]


def _run(env_value):
    env = dict(os.environ, NS_IMPLICIT_PURE_PYTHON=env_value)
    code = ("import json, ns_implicit as ni, ns_implicit._jit as j;"
            f"p = ni.ElasticNetProblem.synthetic(**{SETTING!r});"
            f"r = p.hypergradient({LAM!r}, method='itd', tol=1e-12);"
            "print(json.dumps({'pure': j.PURE_PYTHON, 'g': r.value.tolist()}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def test_pure_python_path_matches_compiled_and_the_closed_form():
    pure, compiled = _run("1"), _run("0")
    assert pure["pure"] is True and compiled["pure"] is False
    # Same operations in the same order; only the kernels' float accumulation may differ.
    np.testing.assert_allclose(pure["g"], compiled["g"], rtol=1e-12)
    p = ni.ElasticNetProblem.synthetic(**SETTING)
    ref = closed_form_hypergradient(p.map.T.X, p.map.T.y, p.outer.X_val, p.outer.y_val, LAM)
    # ITD to a 1e-12 relative step: the error is set by ‖w_t - w*‖ (a few 1e-11 relative).
    np.testing.assert_allclose(pure["g"], ref, rtol=1e-8)
