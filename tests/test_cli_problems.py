"""``ns-implicit hypergrad --problem NAME``: the wiring of every problem's data arrays and
hyperparameters (flags, ``--lam-file``) into the problem bundles, and the refusals by name.
(The mathematics of each problem is checked against independent computations in its own test
module; here the CLI's JSON is compared with the bundle built from the same arrays.)"""

import json

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.cli import main


def _regression(rng, n=40, p=12):
    X, X_val = rng.standard_normal((n, p)), rng.standard_normal((30, p))
    beta = np.r_[np.abs(rng.standard_normal(4)), np.zeros(p - 4)]
    return X, X @ beta + 0.1 * rng.standard_normal(n), X_val, X_val @ beta


def _run(capsys, *argv):
    assert main(["hypergrad", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


CASES = {  # problem -> (bundle, flags, λ)
    "lasso": (ni.LassoProblem, ["--lam1", "0.05"], [0.05]),
    "nonneg-lasso": (ni.NonnegativeLassoProblem, ["--lam1", "0.05"], [0.05]),
    "sparse-logreg": (ni.SparseLogisticProblem, ["--lam1", "0.01"], [0.01]),
    "svm": (ni.LinearSVMProblem, ["--C", "0.05"], [0.05]),
    "elastic-net": (ni.ElasticNetProblem, ["--lam1", "0.05", "--lam2", "0.01"], [0.05, 0.01]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_scalar_problems(name, tmp_path, capsys):
    X, y, X_val, y_val = _regression(np.random.default_rng(0))
    if name in ("sparse-logreg", "svm"):
        y, y_val = np.sign(y - np.median(y)), np.sign(y_val - np.median(y))
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y, X_val=X_val, y_val=y_val)
    cls, flags, lam = CASES[name]
    out = _run(capsys, "--problem", name, "--data", str(path), *flags)
    ref = cls(X, y, X_val, y_val).hypergradient(lam, method="exact", tol=1e-12).value
    assert out["lam"] == lam and out["converged"]
    np.testing.assert_allclose(out["hypergradient"], ref, rtol=1e-12)  # the same computation


def test_vector_hyperparameters(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X, y, X_val, y_val = _regression(rng)
    path, lam_path = tmp_path / "d.npz", tmp_path / "lam.npy"
    np.savez(path, X=X, y=y, X_val=X_val, y_val=y_val)
    lam = 0.05 * np.exp(0.3 * rng.standard_normal(12))
    np.save(lam_path, lam)
    out = _run(capsys, "--problem", "weighted-lasso", "--data", str(path), "--lam-file",
               str(lam_path), "--method", "aid-cg")
    ref = ni.WeightedLassoProblem(X, y, X_val, y_val).hypergradient(lam, method="exact",
                                                                     tol=1e-12).value
    assert len(out["hypergradient"]) == 12
    np.testing.assert_allclose(out["hypergradient"], ref, rtol=1e-8, atol=1e-12)  # CG to 1e-12
    flat = _run(capsys, "--problem", "weighted-lasso", "--data", str(path), "--lam1", "0.05")
    assert flat["lam"] == [0.05] * 12
    # the deq: inputs, targets, readout in the file, the weights θ in --lam-file
    layer = ni.ReLUEquilibriumProblem(rng.standard_normal((3, 4)), rng.standard_normal(3),
                                      rng.standard_normal(6), width=6)
    W = rng.standard_normal((6, 6))
    theta = layer.pack(0.7 * W / np.linalg.norm(W, 2), rng.standard_normal((6, 4)), np.zeros(6))
    np.savez(path, X=layer.map.T.X, y=layer.outer.t, readout=layer.outer.r)
    np.save(lam_path, theta)
    out = _run(capsys, "--problem", "deq", "--data", str(path), "--lam-file", str(lam_path),
               "--method", "aid-gmres")
    np.testing.assert_allclose(out["hypergradient"],
                               layer.hypergradient(theta, method="exact", tol=1e-12).value,
                               rtol=1e-8, atol=1e-12)  # GMRES to 1e-12


@pytest.mark.parametrize("argv, message", [
    (["--problem", "svm", "--lam1", "1"], "--lam1 does not apply to --problem svm"),
    (["--problem", "elastic-net", "--C", "1"], "--C does not apply"),
    (["--problem", "svm", "--fit-intercept"], "--fit-intercept does not apply"),
    (["--problem", "deq"], "no embedded default data"),
    (["--problem", "svm", "--method", "nsid"], "elastic-net only"),
    (["--problem", "lasso", "--lam-file", "x.npy"], "--lam-file does not apply"),
])
def test_refusals_name_the_flag(argv, message, capsys):
    assert main(["hypergrad", *argv]) == 2
    assert message in capsys.readouterr().err


def test_wrong_length_lam_file(tmp_path, capsys):
    lam_path = tmp_path / "lam.npy"
    np.save(lam_path, np.ones(3))
    assert main(["hypergrad", "--problem", "weighted-lasso", "--lam-file", str(lam_path)]) == 2
    assert "must hold a 1-D array of length 100" in capsys.readouterr().err
