"""Nothing crashes, nothing lies: every public boundary validates, every result is finite and
its `converged` flag is earned (issue "Nothing crashes, nothing lies")."""

import json
import warnings

import numpy as np
import pytest

import ns_implicit as ni
from ns_implicit.cli import main
from ns_implicit.errors import NonFiniteError
from conftest import make_problem

LAM = np.array([0.02, 0.002])


@pytest.fixture(scope="module")
def paper():
    """The default problem of the README (docs/theory.md §12.2), its map at LAM and w(LAM)."""
    problem = ni.ElasticNetProblem.synthetic()
    phi = problem.map.at(LAM)
    w = ni.fixed_point_iteration(phi, tol=1e-12, max_iter=100_000).w
    return problem, phi, w


def _rel(a, b):
    """Relative error, computed on both vectors divided by max|b| (no under/overflow)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    s = np.max(np.abs(b))
    return float(np.linalg.norm(a / s - b / s) / np.linalg.norm(b / s))


# -- 1. bounds ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [3, 101, 10**7])
@pytest.mark.parametrize("entry", ["__call__", "selection", "inner_point"])
def test_map_entry_points_check_the_length(paper, n, entry):
    # 10**7 used to segfault, 101 to read past the end, 3 to return a length-3 "Φ(w)".
    _, phi, _ = paper
    with pytest.raises(ValueError, match=rf"w must have length p = 100; got {n}"):
        getattr(phi, entry)(np.ones(n))


@pytest.mark.parametrize("bad,error,match", [
    (np.full(100, np.nan), ValueError, "w contains NaN or infinite"),
    (np.ones(100, dtype=complex), TypeError, "w must be a real numeric array"),
    (None, TypeError, "w must be a real numeric array"),
    ("abc", TypeError, "w must be a real numeric array"),
    (np.ones((10, 10)), ValueError, "w must be 1-dimensional"),
])
def test_map_entry_points_check_dtype_and_finiteness(paper, bad, error, match):
    _, phi, _ = paper
    for entry in (phi, phi.selection, phi.inner_point):
        with pytest.raises(error, match=match):
            entry(bad)


def test_itd_validates_each_trajectory_point(paper):
    _, phi, _ = paper
    traj = [np.zeros(100), np.ones(101)]
    with pytest.raises(ValueError, match=r"trajectory\[0\] must have length p = 100"):
        ni.itd(phi, [np.ones(99), np.zeros(100)], np.ones(100))
    with pytest.raises(ValueError, match=r"trajectory\[1\]"):
        ni.itd(phi, [np.zeros(100), np.ones(101), np.zeros(100)], np.ones(100))
    del traj


# -- 2. the map instead of the map at lam ----------------------------------------------
@pytest.mark.parametrize("fn", [ni.exact, ni.aid_cg, ni.aid_fp, ni.aid_gmres])
def test_methods_handed_the_map_name_the_fix(paper, fn):
    problem, _, w = paper
    with pytest.raises(TypeError, match=r"pass map.at\(lam\)"):
        fn(problem.map, w, np.ones(100))


def test_unrolled_and_solver_handed_the_map_name_the_fix(paper):
    problem, _, w = paper
    with pytest.raises(TypeError, match=r"map.at\(lam\)"):
        ni.itd(problem.map, [w], np.ones(100))
    with pytest.raises(TypeError, match=r"map.at\(lam\)"):
        ni.itd_forward(problem.map)
    with pytest.raises(TypeError, match=r"map.at\(lam\)"):
        ni.fixed_point_iteration(problem.map)


@pytest.mark.parametrize("fn", [ni.nsid, ni.sid])
def test_stochastic_methods_handed_the_wrong_map(paper, fn):
    problem, phi, w = paper
    smap = ni.StochasticElasticNetMap.from_map(problem.map, 20)
    with pytest.raises(TypeError, match=r"stochastic map at fixed lam.*map.at\(lam\)"):
        fn(smap, w, np.ones(100), 5, rng=0)
    with pytest.raises(TypeError, match="stochastic map at fixed lam"):
        fn(phi, w, np.ones(100), 5, rng=0)  # the deterministic map has no minibatch oracle


# -- 3a. overflow/underflow-safe stopping tests -------------------------------------------
@pytest.mark.parametrize("scale", [1e-85, 1e-160, 1e150])
@pytest.mark.parametrize("method", ["aid-cg", "aid-fp", "aid-gmres", "itd"])
def test_scaled_validation_data_give_the_scaled_answer(scale, method):
    # E scales by scale**2, so the hypergradient must too; before the fix AID-CG/AID-FP
    # returned [0, 0] "converged" at 1e-85 (r@r underflowed) and all AID methods were off
    # by 1-3% at 1e-160. 1e-6: the relative error every method reaches at the default tol
    # (README); at 1e-160 the answer (~1e-320) is subnormal with ~4 significant digits,
    # hence 1e-3 there.
    data = ni.make_sparse_regression(seed=3)
    ref = ni.ElasticNetProblem(data.X, data.y, data.X_val, data.y_val).hypergradient(
        LAM, tol=1e-12).value * scale**2
    problem = ni.ElasticNetProblem(data.X, data.y, data.X_val * scale, data.y_val * scale)
    if scale**2 > 1e300:
        with pytest.raises(NonFiniteError):  # the answer itself overflows float64
            problem.hypergradient(LAM, method=method, tol=1e-12)
        return
    res = problem.hypergradient(LAM, method=method, tol=1e-12)
    assert res.converged
    assert _rel(res.value, ref) < (1e-3 if scale < 1e-150 else 1e-6)


# -- 3b. finite results or NonFiniteError -------------------------------------------------
@pytest.mark.parametrize("method", ["exact", "itd", "itd-forward", "aid-cg"])
def test_overflowing_data_raise_instead_of_inf_nan_converged(method):
    # y scaled by 1e300 overflows the first ISTA step; before: [inf, nan], converged=True.
    data = ni.make_sparse_regression(seed=3)
    problem = ni.ElasticNetProblem(data.X, data.y * 1e300, data.X_val, data.y_val * 1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own overflow notices
        with pytest.raises(NonFiniteError, match="rescale"):
            problem.hypergradient(LAM, method=method)


def test_non_finite_error_is_both_value_and_arithmetic_error():
    assert issubclass(NonFiniteError, ValueError) and issubclass(NonFiniteError, ArithmeticError)
    with pytest.raises(NonFiniteError):
        ni.MethodResult(np.array([np.inf, 0.0]), "x", 0, 0.0, True)


def test_huge_design_is_refused_before_the_spectrum_estimate():
    data = ni.make_sparse_regression(seed=3)
    with pytest.raises(NonFiniteError, match="X is too large"):  # was LinAlgError
        ni.ElasticNetProblem(data.X * 1e160, data.y, data.X_val, data.y_val)


# -- 3c. AID-CG with tol = 0 stops at round-off ------------------------------------------
@pytest.mark.parametrize("lam", [[0.02, 0.002], [0.002, 0.002]])
def test_aid_cg_tol_zero_stops_at_round_off(lam):
    # Before: with tol=0 CG kept iterating past round-off (776 steps at lam1 = 0.002, down to
    # a meaningless recursive residual 5e-161); now it stops at round-off, best iterate kept.
    problem = ni.ElasticNetProblem.synthetic()
    phi = problem.map.at(lam)
    w = ni.fixed_point_iteration(phi, tol=1e-14, max_iter=100_000).w
    u = problem.outer.grad_w(w)
    ref = ni.exact(phi, w, u).value
    res = ni.aid_cg(phi, w, u, tol=0.0, iters=100_000)
    assert not res.converged                 # residual 0 is not reached in floating point
    # stopped at round-off: within the stall patience (aid_cg.STALL + 2|R|), not hundreds of
    # steps later with a recursive residual of 1e-161 that no longer means anything
    assert res.iterations <= 50 + 2 * np.count_nonzero(w)
    # the last step may cross the floor eps·‖b‖ by a few orders (2e-17 with a one-thread BLAS),
    # never down to the 1e-161 of the loop without a floor: eps² separates the two
    assert res.residual >= np.finfo(np.float64).eps ** 2
    assert _rel(res.value, ref) < 1e-10      # 1e-10: float64 eps times cond (~1e4 here)


def test_cli_json_is_strict(capsys):
    assert main(["hypergrad", "--method", "aid-cg", "--tol", "0", "--inner-iters", "2000",
                 "--lam1", "0.002", "--json"]) == 0
    out = capsys.readouterr().out
    got = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert got["converged"] is False and np.all(np.isfinite(got["hypergradient"]))


# -- 3d. ITD certifies the Jacobian, not just the inner step ---------------------------
def test_itd_converged_certifies_the_adjoint_tail(paper):
    problem, phi, _ = paper
    # Unroll a fixed 150 steps exactly (tol=0 in the solver): the inner step is then
    # ~1e-5 relative, and the unrolled tail too; ITD must not claim tol=1e-10.
    solve = ni.fixed_point_iteration(phi, tol=0.0, max_iter=150, store_trajectory=True)
    u = problem.outer.grad_w(solve.w)
    res = ni.itd(phi, solve.trajectory, u, tol=1e-10)
    assert not res.converged and res.residual > 1e-10
    # 2,000 steps: the tail is then (q_S ≈ 0.94)^~1,900 ≈ 1e-50 after identification (t = 126).
    long = ni.fixed_point_iteration(phi, tol=0.0, max_iter=2000, store_trajectory=True)
    u = problem.outer.grad_w(long.w)
    good = ni.itd(phi, long.trajectory, u, tol=1e-10)
    q = float(phi.q)
    assert good.error_bound == pytest.approx(good.residual * (1 + q) / (1 - q))
    assert good.converged and good.error_bound <= 1e-10
    exact = ni.exact(phi, long.w, u).value
    # certified adjoint to 1e-10; the hypergradient Bᵀv inherits it times ‖B‖‖v*‖/‖g*‖ (~1 here)
    assert np.linalg.norm(good.value - exact) <= 1e-9 * np.linalg.norm(exact)


# -- 3e/f. stochastic -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["nsid", "sid"])
def test_nsid_k_zero_is_a_usage_error(paper, method):
    # K = 0 used to return ĝ = B̄ᵀ0 = 0 with converged=True.
    problem, _, w = paper
    smap = ni.StochasticElasticNetMap.from_map(problem.map, 20)
    with pytest.raises(ValueError, match="K must be >= 1"):
        ni.stochastic_hypergradient(smap, problem.outer, LAM, method, K=0, rng=0)
    with pytest.raises(ValueError, match="K must be >= 1"):
        getattr(ni, method)(smap.at(LAM), w, np.ones(100), 0, rng=0)


def test_cli_nsid_k_zero_names_the_flag(capsys):
    assert main(["hypergrad", "--method", "nsid", "--linsys-iters", "0"]) == 2
    assert "--linsys-iters must be an integer >= 1" in capsys.readouterr().err


def test_stochastic_solver_detects_divergence():
    # Batch size 1 on a badly conditioned design: the minibatch maps are far from contractive
    # with constant steps alpha = 1 (plain minibatch ISTA), and the iterates blow up.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5)) * np.array([30.0, 1, 1, 1, 1])
    y = rng.standard_normal(40)
    F = ni.StochasticElasticNetMap(X, y, batch_size=1).at([1e-3, 1e-3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = ni.stochastic_prox_gradient(F, 0, iters=2000, steps="const", alpha=1.0)
    assert not res.converged and np.all(np.isfinite(res.w))


# -- 4. messages name the right thing ---------------------------------------------------
def test_budget_errors_name_the_api_arguments():
    problem = make_problem()
    with pytest.raises(ValueError, match="inner_iters must be >= 0"):
        problem.hypergradient([0.01, 0.01], inner_iters=-1)   # was "max_iter"
    with pytest.raises(ValueError, match="linsys_iters must be >= 0"):
        problem.hypergradient([0.01, 0.01], method="aid-fp", linsys_iters=-1)  # was "iters"
    with pytest.raises(TypeError, match="tol must be a number"):
        problem.hypergradient([0.01, 0.01], tol="1e-3")      # passed, then failed in a format


def test_inner_iters_zero_is_not_blamed_on_lam1():
    with pytest.raises(ValueError, match="inner_iters=0 ran no inner step"):
        make_problem().hypergradient([0.01, 0.01], inner_iters=0)


@pytest.mark.parametrize("argv,match", [
    (["--method", "nsid", "--seed", "-1"], "--seed must be an integer >= 0"),
    (["--inner-iters", "0"], "--inner-iters must be an integer >= 1"),
    (["--linsys-iters", "-1"], "--linsys-iters must be an integer >= 0"),
    (["--tol", "nan"], "--tol must be finite"),
])
def test_cli_errors_name_the_flag(argv, match, capsys):
    assert main(["hypergrad", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ns-implicit hypergrad: error: ") and match in err
    assert err.count("\n") == 1


def test_unreachable_tolerance_says_so_up_front():
    with pytest.warns(ni.EarlyStopWarning) as record:
        make_problem().hypergradient([0.01, 0.01], method="aid-fp", tol=1e-30, inner_iters=50,
                                     linsys_iters=50)
    messages = [str(w.message) for w in record]
    assert "below what float64 can reach" in messages[0]   # before any iteration runs
    assert not any("raise inner_iters" in m or "raise linsys_iters" in m for m in messages)


# -- 5. float32 defaults ---------------------------------------------------------------------
@pytest.mark.parametrize("method", ["exact", "aid-cg", "aid-fp", "aid-gmres", "itd"])
def test_float32_api_defaults_converge_without_warning(method):
    problem = ni.ElasticNetProblem.synthetic(dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = problem.hypergradient(LAM, method=method)
    assert res.converged and res.value.dtype == np.float32
    ref = ni.ElasticNetProblem.synthetic().hypergradient(LAM, tol=1e-12).value
    assert _rel(res.value, ref) < 1e-3  # 1e-3: float32 round-off (6e-8) amplified by cond ~1e3


# -- 6. the right exception ----------------------------------------------------------------
def test_to_sklearn_checks_its_input():
    with pytest.raises(ValueError, match="lam must be a 1-D array of length 2"):
        ni.to_sklearn([0.1])  # was IndexError
    assert ni.to_sklearn([0.1, 0.3]) == pytest.approx((0.4, 0.25))


@pytest.mark.parametrize("arg", [np.zeros(0), np.ones(3), 5.0])
def test_conservative_helpers_reject_malformed_sets(arg):
    from ns_implicit.theory.conservative import operator_norms, pairwise_distances
    with pytest.raises(ValueError):
        operator_norms(arg)           # was IndexError
    with pytest.raises(ValueError):
        pairwise_distances(arg, arg)  # was ZeroDivisionError / AttributeError


def test_cli_reports_corrupt_files_in_one_line(tmp_path, capsys):
    cases = {"empty.npz": b"", "junk.npz": b"PK\x03\x04 not a zip at all",
             "text.npz": b"hello"}
    problem = make_problem(n_train=50, p=10)
    good = tmp_path / "good.npz"
    np.savez(good, X=problem.map.T.X, y=problem.map.T.y, X_val=problem.outer.X_val,
             y_val=problem.outer.y_val)
    raw = good.read_bytes()
    cases["truncated.npz"] = raw[: len(raw) // 2]
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert main(["hypergrad", "--data", str(path)]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("ns-implicit hypergrad: error: ") and err.count("\n") == 1, err
    np.savez(tmp_path / "obj.npz", X=np.array(["a"]), y=np.ones(1), X_val=np.ones(1),
             y_val=np.ones(1))
    assert main(["hypergrad", "--data", str(tmp_path / "obj.npz")]) == 2
    assert "must be real numbers" in capsys.readouterr().err


HEADER = '"schema": "ns_implicit.results/1", "experiment": "e", "config": {}, "summary": {}'


@pytest.mark.parametrize("runs", ['[{"x": [1, 2], "curves": 5}]', '[{"x": [1], "curves": {"a": [1]}, "extra_curves": 5}]',
                                  '[{"x": [1, 2], "curves": {"a": ["u", "v"]}}]'])
def test_cli_plot_on_malformed_json(tmp_path, capsys, runs):
    path = tmp_path / "r.json"
    path.write_text("{" + HEADER + ', "runs": ' + runs + "}")
    assert main(["plot", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ns-implicit plot: error: ") and err.count("\n") == 1


def test_cli_poison_huge_epsilon_is_a_usage_error(capsys):
    assert main(["poison", "--epsilon", "1e308"]) == 2   # was OverflowError
    assert "--epsilon must lie in (0, 2]" in capsys.readouterr().err


@pytest.mark.parametrize("exponent", [-560, 530])
def test_fixed_point_iteration_is_scale_invariant_at_extreme_scales(exponent):
    # y and λ1 scaled by s = 2**e scale the whole run exactly (powers of two): the same steps
    # and relative residuals, where the step's sum of squares under- or overflows (it stopped
    # after one step with converged=True at 2**-560, or raised at 2**530)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 5))
    y = X @ np.array([2.0, -1.5, 0.0, 1.0, 0.0]) + 0.1 * rng.standard_normal(12)
    ref = ni.fixed_point_iteration(ni.ElasticNetMap(X, y).at([0.5, 0.1]), tol=1e-12)
    s = 2.0 ** exponent
    res = ni.fixed_point_iteration(ni.ElasticNetMap(X, s * y).at([0.5 * s, 0.1]), tol=1e-12)
    assert res.iterations == ref.iterations and res.converged
    assert res.residual == pytest.approx(ref.residual, rel=1e-12)
    np.testing.assert_array_equal(res.w / s, ref.w)
