"""`ns-implicit hypergrad` contract: one JSON object with the documented keys, and a value
equal to an independent closed form (docs/theory.md §13 item 2).

The yardstick is computed in the test with numpy from the same data, without library code
(:func:`conftest.closed_form_hypergradient`: plain ISTA for the support, then
``J_S = -(H_SS + λ2 I)⁻¹[sign(w_S), w_S]`` and ``g = Jᵀ ∇E(w*)``). Comparing the CLI with its
own ``exact`` method (the previous version of this test) could not fail on a bug shared by all
methods — a wrong B column, a wrong ∇E, a wrong γ'(λ2) — this comparison does.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.cli import main
from conftest import closed_form_hypergradient, make_problem, numpy_enet_solution

KEYS = {"hypergradient", "method", "inner_iterations", "support_size", "residual", "seconds"}
LAM = [0.02, 0.002]  # the CLI defaults


@pytest.fixture(scope="module")
def default_closed_form():
    p = ni.ElasticNetProblem.synthetic()  # the CLI's default data (docs/theory.md §12.2)
    return closed_form_hypergradient(p.map.T.X, p.map.T.y, p.outer.X_val, p.outer.y_val, LAM)


@pytest.fixture(scope="module")
def default_support_size():
    p = ni.ElasticNetProblem.synthetic()
    w, _ = numpy_enet_solution(p.map.T.X, p.map.T.y, *LAM)
    return int(np.count_nonzero(w))


@pytest.mark.parametrize("method", ["exact", "aid-cg", "aid-fp", "itd", "itd-forward"])
def test_default_data_all_methods_match_the_closed_form(method, default_closed_form,
                                                        default_support_size, capsys):
    assert main(["hypergrad", "--method", method, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)  # exactly one JSON object on stdout
    assert KEYS <= set(got) and got["method"] == method and got["converged"]
    assert got["lam"] == LAM
    # Measured 3e-10 relative for every method (inner tolerance 1e-12 relative, amplified by
    # 1/(1 - q_S) ≈ 14 and the conditioning of H_SS + λ2 I); 1e-8 is well inside the issue's
    # 1e-6 contract. A wrong term in any selection gives an O(1) relative error.
    err = np.linalg.norm(np.subtract(got["hypergradient"], default_closed_form))
    assert err <= 1e-8 * np.linalg.norm(default_closed_form), err
    # The support the CLI reports is the numpy reference's.
    assert got["support_size"] == default_support_size


def test_npz_data_and_errors(tmp_path, capsys):
    problem = make_problem(n_train=50, p=10)
    X, y = problem.map.T.X, problem.map.T.y
    X_val, y_val = problem.outer.X_val, problem.outer.y_val
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y, X_val=X_val, y_val=y_val)
    for lam in ([0.01, 0.01], [0.05, 0.2]):
        assert main(["hypergrad", "--data", str(path), "--lam1", str(lam[0]), "--lam2",
                     str(lam[1]), "--json"]) == 0
        got = json.loads(capsys.readouterr().out)
        ref = closed_form_hypergradient(X, y, X_val, y_val, lam)
        np.testing.assert_allclose(got["hypergradient"], ref, rtol=1e-8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=X)
    assert main(["hypergrad", "--data", str(bad)]) == 2
    assert "lacks arrays" in capsys.readouterr().err
    assert main(["hypergrad", "--lam1", "-1"]) == 2
    assert "lam1 must be >= 0" in capsys.readouterr().err


def test_early_stop_is_said(default_closed_form, capsys):
    assert main(["hypergrad", "--method", "aid-fp", "--linsys-iters", "3", "--json"]) == 0
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    assert got["converged"] is False and got["linsys_iterations"] == 3
    assert "stopped early" in captured.err
    # ... and the early-stopped value is indeed far from the answer (3 AID-FP steps at q_S ≈ 0.93).
    err = np.linalg.norm(np.subtract(got["hypergradient"], default_closed_form))
    assert err > 0.1 * np.linalg.norm(default_closed_form)


def test_console_entry_point_runs(default_closed_form):
    out = subprocess.run([sys.executable, "-m", "ns_implicit", "hypergrad", "--json"],
                         capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    assert KEYS <= set(got)
    np.testing.assert_allclose(got["hypergradient"], default_closed_form, rtol=1e-8)


def test_float32_default_tolerance_converges(default_closed_form, capsys):
    # The float64 default 1e-12 is below float32 round-off; --float32 defaults to 1e-6.
    assert main(["hypergrad", "--float32", "--method", "aid-fp", "--json"]) == 0
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    assert got["converged"] and got["dtype"] == "float32" and "stopped early" not in captured.err
    # float32 data and a 1e-6 tolerance: measured 3.4e-4 relative; 1e-3 bounds it.
    err = np.linalg.norm(np.subtract(got["hypergradient"], default_closed_form))
    assert err <= 1e-3 * np.linalg.norm(default_closed_form), err
