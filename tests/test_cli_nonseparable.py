"""``ns-implicit hypergrad --problem {group-lasso,simplex-ls,l1-ball-ls}``: the wiring of the
arrays (``groups`` in the ``.npz``), the flags (``--lam1``, ``--lam2``, ``--lam-file``,
``--group-weights``, ``--radius``, ``--fit-intercept``) into the bundles, and the refusals by
name. (The mathematics is checked in tests/test_nonseparable_problems.py.)"""

import json

import numpy as np
import pytest

from ns_implicit.cli import main
from ns_implicit.problems.constrained_least_squares import (L1BallLeastSquaresProblem,
                                                            SimplexLeastSquaresProblem)
from ns_implicit.problems.group_lasso import GroupLassoProblem


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(2)
    X, X_val = rng.standard_normal((40, 9)), rng.standard_normal((20, 9))
    beta = np.r_[1.0, -1.0, 0.5, 0.0, 0.0, 0.0, 2.0, 1.0, 0.0]
    y, y_val = X @ beta + 0.1 * rng.standard_normal(40), X_val @ beta
    groups = np.array([5, 5, 5, 1, 1, 1, 8, 8, 8])
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y, X_val=X_val, y_val=y_val, groups=groups)
    return path, (X, y, X_val, y_val), groups, tmp_path


def run(capsys, *argv):
    assert main(["hypergrad", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_group_lasso_flags_build_the_same_bundle(npz, capsys):
    path, arrays, groups, tmp = npz
    out = run(capsys, "--problem", "group-lasso", "--data", str(path), "--lam1", "0.05")
    ref = GroupLassoProblem(*arrays, groups).hypergradient([0.05], tol=1e-12).value
    assert out["lam"] == [0.05] and out["converged"]
    np.testing.assert_allclose(out["hypergradient"], ref, rtol=1e-12)  # the same computation
    # one λ per group, explicit group weights, λ2 as the last hyperparameter
    lam, weights = np.array([0.04, 0.02, 0.03]), np.array([1.0, 0.5, 2.0])
    np.save(tmp / "lam.npy", lam)
    np.save(tmp / "w.npy", weights)
    out = run(capsys, "--problem", "group-lasso", "--data", str(path), "--lam-file",
              str(tmp / "lam.npy"), "--group-weights", str(tmp / "w.npy"), "--lam2", "0.01",
              "--method", "aid-cg", "--fit-intercept")
    P = GroupLassoProblem(*arrays, groups, group_weights=weights, per_group=True, lam2=None,
                          fit_intercept=True)
    ref = P.hypergradient(np.r_[lam, 0.01], method="exact", tol=1e-12).value
    assert out["lam"] == [0.04, 0.02, 0.03, 0.01] and out["method"] == "aid-cg"
    np.testing.assert_allclose(out["hypergradient"], ref, rtol=1e-8)  # CG to tol 1e-12


@pytest.mark.parametrize("name, cls", [("simplex-ls", SimplexLeastSquaresProblem),
                                       ("l1-ball-ls", L1BallLeastSquaresProblem)])
def test_radius_problems(npz, capsys, name, cls):
    path, arrays, _, _ = npz
    out = run(capsys, "--problem", name, "--data", str(path), "--radius", "1.5")
    ref = cls(*arrays).hypergradient([1.5], tol=1e-12).value
    assert out["lam"] == [1.5] and out["converged"]
    np.testing.assert_allclose(out["hypergradient"], ref, rtol=1e-12)


@pytest.mark.parametrize("argv, message", [
    (["--problem", "group-lasso", "--radius", "1"], "--radius does not apply"),
    (["--problem", "simplex-ls", "--lam1", "1"], "--lam1 does not apply"),
    (["--problem", "lasso", "--group-weights", "w.npy"], "--group-weights does not apply"),
    (["--problem", "l1-ball-ls", "--radius", "nan"], "--radius must be finite"),
    (["--problem", "simplex-ls", "--radius", "-1"], "radius must be >= 0 (it is a radius)"),
])
def test_refusals_name_the_flag(npz, capsys, argv, message):
    path = npz[0]
    assert main(["hypergrad", "--data", str(path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_groups_array_is_named(npz, capsys):
    path, arrays, _, tmp = npz
    bare = tmp / "bare.npz"
    np.savez(bare, **dict(zip(("X", "y", "X_val", "y_val"), arrays)))
    assert main(["hypergrad", "--problem", "group-lasso", "--data", str(bare)]) == 2
    assert "lacks arrays ['groups']" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    """``ns-implicit hypergrad --json | head -c 5``: the reader leaves; no traceback, no error
    line, the SIGPIPE status."""
    import sys

    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["hypergrad", "--problem", "simplex-ls", "--json"]) == 141
    assert capsys.readouterr().err == ""
