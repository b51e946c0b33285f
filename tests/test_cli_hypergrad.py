"""`ns-implicit hypergrad` contract: one JSON object with the documented keys."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ns_implicit.cli import main
from conftest import make_problem

KEYS = {"hypergradient", "method", "inner_iterations", "support_size", "residual", "seconds"}


@pytest.mark.parametrize("method", ["exact", "aid-cg", "aid-fp", "itd", "itd-forward"])
def test_default_data_all_methods_agree(method, capsys):
    assert main(["hypergrad", "--method", "exact", "--json"]) == 0
    ref = json.loads(capsys.readouterr().out)
    assert main(["hypergrad", "--method", method, "--json"]) == 0
    out = capsys.readouterr().out
    got = json.loads(out)  # exactly one JSON object on stdout
    assert KEYS <= set(got) and got["method"] == method and got["converged"]
    # The defaults must reach relative error 1e-6 (issue contract).
    err = np.linalg.norm(np.subtract(got["hypergradient"], ref["hypergradient"]))
    assert err <= 1e-6 * np.linalg.norm(ref["hypergradient"])


def test_npz_data_and_errors(tmp_path, capsys):
    problem = make_problem(n_train=50, p=10)
    path = tmp_path / "d.npz"
    np.savez(path, X=problem.map.T.X, y=problem.map.T.y, X_val=problem.outer.X_val,
             y_val=problem.outer.y_val)
    assert main(["hypergrad", "--data", str(path), "--lam1", "0.01", "--lam2", "0.01", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    ref = problem.hypergradient([0.01, 0.01], tol=1e-12).value
    np.testing.assert_allclose(got["hypergradient"], ref, rtol=1e-8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=problem.map.T.X)
    assert main(["hypergrad", "--data", str(bad)]) == 2
    assert "lacks arrays" in capsys.readouterr().err
    assert main(["hypergrad", "--lam1", "-1"]) == 2
    assert "lam1 must be >= 0" in capsys.readouterr().err


def test_early_stop_is_said(capsys):
    assert main(["hypergrad", "--method", "aid-fp", "--linsys-iters", "3", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["converged"] is False
    assert "stopped early" in captured.err


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "ns_implicit", "hypergrad", "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert KEYS <= set(json.loads(out))


def test_float32_default_tolerance_converges(capsys):
    # The float64 default 1e-12 is below float32 round-off; --float32 defaults to 1e-6.
    assert main(["hypergrad", "--float32", "--method", "aid-fp", "--json"]) == 0
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    assert got["converged"] and got["dtype"] == "float32" and "stopped early" not in captured.err
