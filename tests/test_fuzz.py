"""Hypothesis-generated malformed input across the public API and the CLI.

Every outcome must be a finite, valid result or one of the documented exceptions
(``TypeError``; ``ValueError`` and its subclasses NotContractiveError, SelectionCapError,
NotSymmetricError, NonFiniteError) carrying a message. Each test runs twice: a small default
budget (a few hundred examples in all, < 20 s) and, under ``-m fuzz``, >= 1,000 examples.
"""

import contextlib
import io
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import ns_implicit as ni
from ns_implicit.cli import main

DOCUMENTED = (TypeError, ValueError)  # NotContractiveError & co. subclass ValueError
BUDGETS = [pytest.param(40, id="default"),
           pytest.param(1000, id="fuzz", marks=pytest.mark.fuzz)]

_PROBLEM = ni.ElasticNetProblem.synthetic(n_samples=100, n_features=12, n_informative=4)
_PHI = _PROBLEM.map.at([0.02, 0.002])
_W = ni.fixed_point_iteration(_PHI, tol=1e-12, max_iter=10_000).w


def _run(budget, strategy, check):
    """``check(example)`` for ``budget`` examples of ``strategy``."""
    @settings(max_examples=budget, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def inner(example):
        check(example)
    inner()


def _outcome(fn, *args, **kwargs):
    """Call ``fn``; a documented exception with a message is fine, anything else fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except DOCUMENTED as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            return None


def _finite(result):
    if result is None:
        return
    value = getattr(result, "value", result)
    if isinstance(value, tuple):
        value = np.concatenate([np.ravel(v) for v in value])
    assert np.all(np.isfinite(np.asarray(value, dtype=float)))


floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.floats(-1e300, 1e300), st.sampled_from([0.0, -0.0, 1e-320, 1e308]))
vectors = st.one_of(
    st.integers(0, 30).flatmap(lambda n: st.lists(floats, min_size=n, max_size=n)),
    st.lists(st.floats(-10, 10), min_size=12, max_size=12),   # the right length
    st.sampled_from([None, "w", 3, [[1.0]], np.ones((12, 1)), np.ones(12, dtype=complex),
                     np.ones(12, dtype=np.float32), np.ones(12, dtype=int), {}]))
lams = st.one_of(st.lists(floats, min_size=0, max_size=3),
                 st.tuples(st.floats(0, 1), st.floats(0, 1)).map(list),
                 st.sampled_from([None, "a", 0.1, [[0.1, 0.1]], ["a", 1]]))
budgets = st.one_of(st.integers(-3, 50), st.sampled_from([None, 1.5, "10", True]))
tols = st.one_of(floats, st.sampled_from([None, "1e-3", -1.0, True]))


@pytest.mark.parametrize("budget", BUDGETS)
def test_map_entry_points(budget):
    def check(w):
        for fn in (_PHI, _PHI.selection, _PHI.inner_point):
            out = _outcome(fn, np.asarray(w) if isinstance(w, list) else w)
            if out is not None and not hasattr(out, "BT"):
                assert np.shape(out) == (12,) and np.all(np.isfinite(out))
    _run(budget, vectors, check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_methods(budget):
    names = ["exact", "aid-cg", "aid-fp", "aid-gmres"]
    strategy = st.tuples(st.sampled_from(names), vectors, vectors, budgets, tols,
                         st.booleans())

    def check(args):
        name, w, u, iters, tol, use_map = args
        phi = _PROBLEM.map if use_map else _PHI
        res = _outcome(ni.methods.METHODS[name].run, phi, w, u, iters=iters, tol=tol)
        _finite(res)
    _run(budget, strategy, check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_hypergradient(budget):
    strategy = st.tuples(st.sampled_from(list(ni.METHODS)), lams, budgets, budgets, tols)

    def check(args):
        method, lam, inner, lin, tol = args
        kwargs = {k: v for k, v in (("inner_iters", inner), ("linsys_iters", lin), ("tol", tol))
                  if v is not None}
        if isinstance(kwargs.get("inner_iters"), int) and kwargs["inner_iters"] > 30:
            kwargs["inner_iters"] = 30   # keep each example fast
        _finite(_outcome(_PROBLEM.hypergradient, lam, method=method, **kwargs))
    _run(budget, strategy, check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_problems(budget):
    arrays = st.one_of(
        st.integers(0, 6).flatmap(lambda n: st.lists(
            st.lists(floats, min_size=3, max_size=3), min_size=n, max_size=n)),
        st.sampled_from([None, "X", np.zeros((0, 3)), np.ones(3), np.ones((4, 3)) * 1e200]))

    def check(args):
        X, y, lam, scale = args
        X = np.asarray(X, dtype=object) if isinstance(X, list) and not X else X
        problem = _outcome(ni.ElasticNetProblem, X, y, X, y)
        if problem is not None:
            _finite(_outcome(problem.hypergradient, lam, inner_iters=50))
        _finite(_outcome(ni.to_sklearn, lam))
        _finite(_outcome(ni.from_sklearn, scale, scale))
    _run(budget, st.tuples(arrays, vectors, lams, floats), check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_conservative_helpers(budget):
    from ns_implicit.theory import conservative as c
    shapes = st.one_of(st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple))
    sets = st.one_of(shapes.map(np.ones), shapes.map(np.zeros),
                     st.sampled_from([None, "A", 3.0, [[1, 2], [3]], np.full((2, 2), np.nan)]))
    fns = [c.excess, c.hausdorff, c.pairwise_distances, c.minkowski_sum, c.minkowski_product,
           c.distance_to_set, c.distance_to_hull, c.nearest_point_in_hull]

    def check(args):
        fn, A, B = args
        _outcome(fn, A, B)
        _outcome(c.set_norm, A)
        _outcome(c.operator_norms, A)
        _outcome(c.unique_elements, A)
    _run(budget, st.tuples(st.sampled_from(fns), sets, sets), check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_cli(budget, tmp_path):
    number = st.one_of(st.sampled_from(["0", "-1", "nan", "inf", "1e308", "-1e-30", "abc", ""]),
                       st.floats(-1e3, 1e3).map(repr), st.integers(-5, 5).map(str))
    flags = ["--lam1", "--lam2", "--inner-iters", "--linsys-iters", "--tol", "--batch-size",
             "--seed", "--batches", "--beta-mult", "--gamma-mult"]
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04junk")
    argv = st.tuples(st.sampled_from(["exact", "aid-fp", "itd", "nsid"]),
                     st.lists(st.tuples(st.sampled_from(flags), number), max_size=3),
                     st.sampled_from([[], ["--json"], ["--data", str(junk)],
                                      ["--data", str(tmp_path / "missing.npz")]]))

    def check(args):
        method, pairs, extra = args
        cmd = ["hypergrad", "--method", method, "--inner-iters", "30", "--linsys-iters", "30"]
        for flag, value in pairs:
            cmd += [flag, value]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                code = main(cmd + extra)
            except SystemExit as exc:  # argparse usage errors
                code = exc.code
        assert code in (0, 2), (cmd, code, err.getvalue())
        if code == 2:
            lines = [line for line in err.getvalue().splitlines() if "error:" in line]
            assert lines, err.getvalue()
            assert "Traceback" not in err.getvalue()
        elif "--json" in extra:
            import json
            got = json.loads(out.getvalue(), parse_constant=lambda c: pytest.fail(c))
            assert np.all(np.isfinite(got["hypergradient"]))
    _run(budget, argv, check)
