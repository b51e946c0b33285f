"""The benchopt benchmark (validation/benchopt_hypergradient/) end to end in a quick mode:
`benchopt run` on the paper's elastic net with two ns_implicit methods and the PyTorch peer,
three points per curve; every recorded objective value is recomputed here from the library
directly (the relative error of the method at the recorded budget), so a wrong reference,
a wrong budget or a wrong error formula in the benchmark fails.

Slow (benchopt's start-up and a run take ~30 s here); CI runs it as a step of its own
(`.ci/run`). Skips without benchopt.
"""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

BENCHMARK = pathlib.Path(__file__).resolve().parents[1] / "validation" / "benchopt_hypergradient"


@pytest.mark.slow
def test_quick_run_records_the_relative_errors(tmp_path):
    pytest.importorskip("benchopt")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    out = tmp_path / "quick.parquet"
    solvers = ["ns_implicit[method=exact]", "ns_implicit[method=aid-fp]"]
    try:
        import torch  # noqa: F401
        solvers.append("torch-unrolled-ista")
    except ImportError:
        pass
    cmd = [sys.executable, "-m", "benchopt", "run", str(BENCHMARK), "-d", "enet-paper",
           "-n", "3", "--no-plot", "--no-display", "--timeout", "120", "--no-cache", "--output", str(out)]
    for s in solvers:
        cmd += ["-s", s]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    df = pd.read_parquet(out)
    assert set(df["solver_name"]) == set(solvers)

    import ns_implicit as ni
    from ns_implicit.methods.aid_fp import aid_fp
    from ns_implicit.methods.exact import exact
    from ns_implicit.solvers.fixed_point import fixed_point_iteration
    d = ni.make_sparse_regression(n_samples=500, n_features=100, seed=3)
    problem = ni.ElasticNetProblem(d.X, d.y, d.X_val, d.y_val)
    phi = problem.map.at([0.02, 0.002])
    w_star = fixed_point_iteration(phi, tol=1e-15, max_iter=2_000_000).w
    g_star = exact(phi, w_star, problem.outer.grad_w(w_star)).value
    checked = 0
    for _, row in df[df["solver_name"].str.startswith("ns_implicit")].iterrows():
        t = int(row["stop_val"])
        if t < 1:  # no iteration: the estimate is 0, relative error 1
            assert row["objective_value"] == 1.0
            continue
        w = fixed_point_iteration(phi, tol=0.0, max_iter=t).w
        u = problem.outer.grad_w(w)
        g = exact(phi, w, u).value if "exact" in row["solver_name"] else \
            aid_fp(phi, w, u, iters=t, tol=0.0).value
        expected = np.linalg.norm(g - g_star) / np.linalg.norm(g_star)
        # the same operations in the same order in both processes: equal up to float64
        # round-off of the norms (relative 1e-12)
        assert row["objective_value"] == pytest.approx(expected, rel=1e-12), (row["solver_name"], t)
        assert row["objective_held_out_loss"] == pytest.approx(problem.outer.value(w), rel=1e-12)
        checked += 1
    assert checked >= 4
    assert np.all(np.isfinite(df["objective_value"]))
    assert (df["time"] >= 0).all()
