"""The pure-Python switch (NS_IMPLICIT_PURE_PYTHON=1) computes the same numbers."""

import json
import os
import subprocess
import sys

import numpy as np


def _run(env_value):
    env = dict(os.environ, NS_IMPLICIT_PURE_PYTHON=env_value)
    code = ("import json, ns_implicit as ni, ns_implicit._jit as j;"
            "p = ni.ElasticNetProblem.synthetic(n_samples=200, n_features=20, n_informative=5);"
            "r = p.hypergradient([0.02, 0.01], method='itd', tol=1e-12);"
            "print(json.dumps({'pure': j.PURE_PYTHON, 'g': r.value.tolist()}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def test_pure_python_path_matches_compiled():
    pure, compiled = _run("1"), _run("0")
    assert pure["pure"] is True and compiled["pure"] is False
    # Same operations in the same order; only the kernels' float accumulation may differ.
    np.testing.assert_allclose(pure["g"], compiled["g"], rtol=1e-12)
