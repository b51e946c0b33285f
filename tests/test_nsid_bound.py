"""Theorem 5.4 with computed constants (ns_implicit.theory.nsid_bound): the measured mean
squared NSID error stays below the bound for several (J, K, δ), and the check fails when the
constants are understated."""

import dataclasses

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.maps.stochastic import StochasticCompositeMap
from ns_implicit.theory.nsid_bound import check_nsid_bound, nsid_bound, nsid_constants

B = 10


@pytest.fixture(scope="module")
def setting():
    problem = ni.ElasticNetProblem.synthetic(n_samples=500, n_features=20, n_informative=5)
    lam = [0.1 * problem.lam1_max, 0.05]
    phi = problem.map.at(lam)
    w = problem.solve(lam, tol=1e-14, max_iter=1_000_000).w
    u = problem.outer.grad_w(w)
    F = StochasticCompositeMap(problem.map, B).at(lam)
    return problem, phi, w, u, F, ni.exact(phi, w, u).value


@pytest.mark.parametrize("J, K, delta", [(100, 100, 0.0), (1000, 1000, 0.0), (100, 300, 1e-3)])
def test_measured_error_is_below_the_bound(setting, J, K, delta):
    problem, phi, w, u, F, g_star = setting
    c = nsid_constants(phi, w, u, B, delta=delta)
    assert c.R_G > 0 and np.isfinite(c.C_w + c.C_J + c.C_K)
    d = np.random.default_rng(1).standard_normal(w.shape)
    w_in = w + delta * d / np.linalg.norm(d)  # an input δ from w* (NSID's inexact point)
    mean, se, bound, passed = check_nsid_bound(F, w_in, u, g_star, c, J, K, range(12), delta)
    assert passed and mean <= bound, (mean, se, bound)


def test_understated_constants_are_caught(setting):
    problem, phi, w, u, F, g_star = setting
    c = nsid_constants(phi, w, u, B)
    small = dataclasses.replace(c, C_w=c.C_w * 1e-6, C_J=c.C_J * 1e-6, C_K=c.C_K * 1e-6)
    mean, se, bound, passed = check_nsid_bound(F, w, u, g_star, small, 100, 100, range(12))
    assert not passed and bound == nsid_bound(small, 0.0, 100, 100)


def test_check_bounds_nsid_quick_cli(tmp_path, capsys):
    import json

    from ns_implicit.cli import main

    path = tmp_path / "nsid.json"
    assert main(["check-bounds", "--nsid", "--quick", "--json", str(path)]) == 0
    assert "PASS" in capsys.readouterr().out
    doc = json.loads(path.read_text())
    assert doc["passed"] and len(doc["rows"]) >= 9
    assert all(r["measured"] <= r["bound"] for r in doc["rows"])
