"""ns_implicit.testing: instances are what they claim, correct backends pass, broken ones are
caught within the default number of examples, misbehaving candidates are reported as such."""

import dataclasses
import time

import numpy as np
import pytest
from hypothesis import given, settings

from ns_implicit.cli import main
from ns_implicit.maps.elastic_net import ElasticNetMap
from ns_implicit.theory.sets import selection_matrices, tied_coordinates
from ns_implicit.testing import (DEFAULT_EXAMPLES, KIT_SETTINGS, HypergradientMismatch,
                                 assert_hypergradient_close, build_instance, check_backend,
                                 check_hypergradient, elastic_net_instances, sample_instances)
from ns_implicit.testing import assertions as kit
from ns_implicit.testing.examples import numpy_implicit as ex
from ns_implicit.testing.strategies import GENERIC_MARGIN


@pytest.fixture(scope="module")
def generic():
    return sample_instances(DEFAULT_EXAMPLES, seed=0)


@pytest.fixture(scope="module")
def kinky():
    return sample_instances(DEFAULT_EXAMPLES, seed=0, near_kink=True)


# -- backends: one correct, and the deliberately broken ones ------------------------------
def _data(X, y):
    n = X.shape[0]
    H, b = X.T @ X / n, X.T @ y / n
    return H, b, *ex.spectrum(H, n)


def _grad_E(X_val, y_val, w):
    return X_val.T @ (X_val @ w - y_val) / X_val.shape[0]


def implicit(X, y, X_val, y_val, lam1, lam2, flip_lam2=False, transpose=False):
    """Implicit differentiation with the example's pieces; optionally broken."""
    H, b, L, mu = _data(X, y)
    gamma = 2.0 / (L + mu + 2.0 * lam2)
    w = ex.solve_inner(H, b, lam1, lam2, gamma)
    A, B = ex.selection(w, H, b, lam1, lam2, gamma, -gamma**2)
    if flip_lam2:
        B[:, 1] *= -1.0                          # bug: sign error in ∂/∂λ2
    M = np.eye(len(w)) - A
    v = np.linalg.solve(M if transpose else M.T, _grad_E(X_val, y_val, w))  # bug: Jacobian transposed
    return B.T @ v


def sign_error_lam2(*args):
    return implicit(*args, flip_lam2=True)


def transposed_jacobian(*args):
    return implicit(*args, transpose=True)


def unrolled(X, y, X_val, y_val, lam1, lam2, step_uses_lam2=True, tol=1e-13, max_iter=5000):
    """Forward-mode unrolled ISTA (ITD): ``J_{t+1} = A_t J_t + B_t``. With
    ``step_uses_lam2=False`` the step is ``2/(L + μ)``: it misses its λ2 dependence, and the
    map stops being a contraction once ``λ2`` exceeds ``L + μ - ℓ`` for an eigenvalue ``ℓ``
    of ``H`` on the support."""
    H, b, L, mu = _data(X, y)
    if step_uses_lam2:
        gamma = 2.0 / (L + mu + 2.0 * lam2)
        dgamma = -gamma**2
    else:
        gamma, dgamma = 2.0 / (L + mu), 0.0
    w, J = np.zeros(len(b)), np.zeros((len(b), 2))
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            A, B = ex.selection(w, H, b, lam1, lam2, gamma, dgamma)
            w_new, _ = ex.ista_step(w, H, b, lam1, lam2, gamma)
            J = A @ J + B
            done = np.linalg.norm(w_new - w) <= tol * np.linalg.norm(w_new)
            w = w_new
            if done or not np.linalg.norm(w) < 1e30:   # converged, or diverged
                break
        return J.T @ _grad_E(X_val, y_val, w)


def step_without_lam2(*args):
    return unrolled(*args, step_uses_lam2=False)


# -- the instances ----------------------------------------------------------------------
def test_generic_instances_are_solved_and_away_from_kinks(generic):
    for inst in generic:
        assert inst.kind == "generic" and not inst.at_kink
        assert inst.kink_margin >= GENERIC_MARGIN
        phi = ElasticNetMap(inst.X, inst.y).at(inst.lam)
        # A float64 fixed point: one ISTA step moves it by round-off only.
        assert np.linalg.norm(phi(inst.w) - inst.w) <= 1e-12 * np.linalg.norm(inst.w)
        assert inst.support_size > 0 and inst.expected.shape == (2,)


def test_kink_instances_have_exact_verified_ties(kinky):
    kinds = {inst.kind for inst in kinky}
    assert kinds == {"kink", "near-kink"}
    for inst in kinky:
        phi = ElasticNetMap(inst.X, inst.y).at(inst.lam)
        assert np.linalg.norm(phi(inst.w) - inst.w) <= 1e-12 * np.linalg.norm(inst.w)
        ties = tuple(tied_coordinates(phi, inst.w))   # exact equality |u_i| == τ
        if inst.kind == "kink":
            assert ties == inst.ties and len(ties) == 1 and inst.w[ties[0]] == 0.0
            assert inst.vertices.shape == (2, 2) and inst.kink_margin == 0.0
            # The reference follows the library's rule (tied = inactive): the first vertex.
            assert np.allclose(inst.expected, inst.vertices[0], rtol=1e-10, atol=0)
            # The two vertices differ: the kink is visible in the hypergradient.
            assert np.linalg.norm(inst.vertices[0] - inst.vertices[1]) > 1e-8
            # Lemma 3.2 (c): the implicit set lies in the fixed-point set (up to its radius).
            from ns_implicit.theory.conservative import excess
            assert excess(inst.vertices, inst.fixed_point_vertices) <= \
                inst.fixed_point_radius + 1e-10 * np.abs(inst.vertices).max()
        else:
            assert ties == () and inst.vertices is None and 0.0 < inst.kink_margin


def test_same_spec_same_bits(generic, kinky):
    for inst in (generic[0], kinky[0], kinky[1]):
        again = build_instance(inst.spec)
        for name in ("X", "y", "X_val", "y_val", "lam", "w", "expected"):
            assert np.array_equal(getattr(inst, name), getattr(again, name)), name
    a, b = sample_instances(3, seed=7), sample_instances(3, seed=7)
    assert all(np.array_equal(x.expected, y.expected) for x, y in zip(a, b))


# -- correct backends pass ----------------------------------------------------------------
def test_correct_numpy_backend_passes_everywhere(generic, kinky):
    for rep in check_backend(ex.hypergradient, generic) + check_backend(ex.hypergradient, kinky):
        assert rep.passed, str(rep)
    assert check_backend(implicit, generic[:5])[0].passed


def test_correct_unrolled_backend_passes_at_generic_points(generic):
    # The control for the step-size bug below: unrolling itself is not what gets caught.
    for rep in check_backend(unrolled, generic):
        assert rep.passed, str(rep)


@settings(KIT_SETTINGS, max_examples=5)
@given(elastic_net_instances())
def test_property_style_usage_generic(instance):
    assert_hypergradient_close(ex.hypergradient, instance)


@settings(KIT_SETTINGS, max_examples=5)
@given(elastic_net_instances(near_kink=True, features=(2, 6)))
def test_property_style_usage_near_kinks(instance):
    assert_hypergradient_close(ex.hypergradient, instance)


# -- broken backends are caught within the default number of examples ---------------------
@pytest.mark.parametrize("broken, checks", [
    (sign_error_lam2, {"relative-error"}),
    (transposed_jacobian, {"relative-error"}),
    (step_without_lam2, {"relative-error", "non-finite"}),
])
def test_broken_backends_are_caught(generic, broken, checks):
    reports = check_backend(broken, generic)
    failed = [r for r in reports if not r.passed]
    assert failed, f"{broken.__name__} passed all {len(reports)} default instances"
    assert {r.check for r in failed} <= checks


@pytest.mark.parametrize("broken", [sign_error_lam2, transposed_jacobian])
def test_broken_backends_are_caught_at_kinks_too(kinky, broken):
    failed = [r for r in check_backend(broken, kinky) if not r.passed]
    assert any(r.check == "conservative-set" for r in failed)
    assert any(r.check == "relative-error" for r in failed)


def test_failure_report_is_readable(generic):
    inst = generic[0]
    with pytest.raises(HypergradientMismatch) as info:
        assert_hypergradient_close(sign_error_lam2, inst)
    text = str(info.value)
    assert info.value.report.check == "relative-error"
    for piece in ("FAILED [relative-error]", "generic elastic net", "rebuild: ", "expected :",
                  "got      :", "||got - expected||", f"{inst.expected[0]: .10e}"):
        assert piece in text, piece
    assert isinstance(info.value, AssertionError)


# -- membership of the conservative set at kinks -------------------------------------------
def _fractional_mask_candidate(inst, m):
    """Returns ∇_2E + J(m)ᵀ∇_1E at the instance's own w*, with the tied coordinate's mask set
    to m ∈ [0, 1]: the selection derivative convexified (docs/theory.md §4 eq. (4), §11.1)."""
    phi = ElasticNetMap(inst.X, inst.y).at(inst.lam)
    A, B = selection_matrices(phi, inst.w)        # masks 0 and 1 at the tie
    Am, Bm = (1 - m) * A[0] + m * A[1], (1 - m) * B[0] + m * B[1]
    J = np.linalg.solve(np.eye(len(inst.w)) - Am, Bm)
    g = _grad_E(inst.X_val, inst.y_val, inst.w)
    return lambda *args: J.T @ g


def test_fractional_tie_derivative_lies_in_the_hull_extrapolation_does_not(kinky):
    kinks = [inst for inst in kinky if inst.at_kink]
    assert kinks
    for inst in kinks:
        for m in (0.0, 0.5, 1.0):
            rep = check_hypergradient(_fractional_mask_candidate(inst, m), inst)
            assert rep.passed and rep.check == "conservative-set", str(rep)
        v0, v1 = inst.vertices
        outside = check_hypergradient(lambda *a: v1 + 0.1 * (v1 - v0), inst)
        assert not outside.passed and outside.check == "conservative-set"
        assert np.isclose(outside.error, 0.1 * np.linalg.norm(v1 - v0), rtol=1e-8)


def test_unrolled_discrepancy_at_kinks_is_located_in_the_fixed_point_set(kinky):
    reports = check_backend(unrolled, kinky)
    failed = [r for r in reports if not r.passed]
    # Measured with seed 0: unrolled ITD leaves the implicit set at some kinks, where its
    # iterates approach the tie from alternating sides (docs/theory.md §6, Lemma 3.2 (c)).
    assert failed and all(r.instance.at_kink and r.check == "conservative-set" for r in failed)
    assert all("within the fixed-point set (11)" in r.message for r in failed)
    for rep in check_backend(unrolled, kinky, kink_set="fixed-point"):
        assert rep.passed, str(rep)


def test_fixed_point_criterion_still_reports_leaving_the_implicit_set(kinky):
    """With ``kink_set="fixed-point"`` the pass tolerance grows by the fixed-point radius; the
    message about the implicit set (10) must still use the implicit set's own tolerance."""
    inst = next(inst for inst in kinky if inst.at_kink)
    v0, v1 = inst.vertices[:2]
    gap = 0.1 * np.linalg.norm(v1 - v0)
    # A radius larger than the gap, so the answer passes the fixed-point criterion.
    wide = dataclasses.replace(inst, fixed_point_radius=10 * gap)
    rep = check_hypergradient(lambda *a: v1 + 0.1 * (v1 - v0), wide, kink_set="fixed-point")
    assert rep.passed and rep.check == "fixed-point-set", str(rep)
    assert "outside the implicit conservative set (10)" in rep.message, rep.message


# -- misbehaving candidates are reported as such --------------------------------------------
def _raises(*args):
    raise ValueError("backend exploded")


@pytest.mark.parametrize("candidate, check, words", [
    (_raises, "raised", "ValueError: backend exploded"),
    (lambda *a: np.zeros(3), "wrong-shape", "shape (3,)"),
    (lambda *a: np.zeros((2, 1)), "wrong-shape", "shape (2, 1)"),
    (lambda *a: "dE/dlam", "wrong-type", "not convertible"),
    (lambda *a: np.array([np.nan, 1.0]), "non-finite", "NaN or inf"),
    (lambda *a: [1.0, np.inf], "non-finite", "NaN or inf"),
])
def test_misbehaving_candidates_are_reported(generic, candidate, check, words):
    rep = check_hypergradient(candidate, generic[0])
    assert not rep.passed and rep.check == check
    assert words in rep.message
    if check == "raised":
        assert "Traceback" in rep.detail and "backend exploded" in str(rep)


def test_too_slow_candidate_times_out_and_later_calls_are_skipped(generic):
    def slow(*args):
        time.sleep(3.0)
        return [0.0, 0.0]
    start = time.perf_counter()
    reports = check_backend(slow, generic[:3], timeout=0.2)
    assert time.perf_counter() - start < 2.0          # the kit did not wait for the sleep
    assert [r.check for r in reports] == ["timeout", "not-run", "not-run"]
    assert "timeout=0.2 s" in reports[0].message and not any(r.passed for r in reports)


def test_candidate_cannot_change_the_instance(generic):
    inst = generic[1]
    before = inst.X.copy()

    def vandal(X, y, X_val, y_val, lam1, lam2):
        X[:] = 0.0
        return ex.hypergradient(X, y, X_val, y_val, lam1, lam2)
    check_hypergradient(vandal, inst)
    assert np.array_equal(inst.X, before)


def test_bad_arguments_raise_clear_errors(generic):
    with pytest.raises(TypeError, match="candidate must be callable"):
        check_hypergradient("not a function", generic[0])
    with pytest.raises(TypeError, match="instance must be an ns_implicit.testing.Instance"):
        check_hypergradient(ex.hypergradient, object())
    with pytest.raises(ValueError, match="rtol"):
        check_hypergradient(ex.hypergradient, generic[0], rtol=-1.0)
    with pytest.raises(ValueError, match="timeout"):
        check_hypergradient(ex.hypergradient, generic[0], timeout=0)
    with pytest.raises(ValueError, match="kink_set"):
        check_backend(ex.hypergradient, generic[:1], kink_set="clarke")


# -- the CLI ------------------------------------------------------------------------------
def test_cli_passes_a_correct_backend(capsys):
    code = main(["check-backend", "ns_implicit.testing.examples.numpy_implicit:hypergradient",
                 "--examples", "3", "--near-kinks", "--seed", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "3 of 3 instances passed" in out
    assert sum(line.endswith("  pass") for line in out.splitlines()) == 3


def test_cli_reports_a_broken_backend_and_exits_nonzero(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_backend.py").write_text(
        "from ns_implicit.testing.examples.numpy_implicit import hypergradient as h\n"
        "def broken(*args):\n"
        "    g = h(*args)\n"
        "    return [g[0], -g[1]]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    code = main(["check-backend", "my_backend:broken", "--examples", "4"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "hypergradient check FAILED [relative-error]" in out
    assert "0 of 4 instances passed; failures by check: relative-error: 4" in out


@pytest.mark.parametrize("argv, words", [
    (["no_colon_here"], "MODULE:FUNCTION"),
    (["no_such_module_xyz:f"], "cannot import module"),
    (["ns_implicit.testing.examples.numpy_implicit:nope"], "no attribute"),
    (["ns_implicit.testing.examples.numpy_implicit:hypergradient", "--examples", "0"],
     "--examples"),
    (["ns_implicit.testing.examples.numpy_implicit:hypergradient", "--timeout", "-1"],
     "--timeout"),
    (["ns_implicit.testing.examples.numpy_implicit:hypergradient", "--seed", "-1"],
     "--seed must be >= 0"),
])
def test_cli_bad_usage_exits_2(capsys, argv, words):
    assert main(["check-backend", *argv]) == 2
    assert words in capsys.readouterr().err


def test_cli_help_shows_the_kit_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["check-backend", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in (f"(default {kit.DEFAULT_EXAMPLES})", f"(default {kit.RTOL:g})",
                 f"(default {kit.ATOL:g})", f"(default {kit.KINK_TOL:g})",
                 f"(default {kit.TIMEOUT:g})"):
        assert text in out, text


# -- tie conventions ----------------------------------------------------------------------
def test_tie_convention_is_named_at_every_exact_kink(kinky):
    from ns_implicit.testing.convention import summarize

    kinks = [inst for inst in kinky if inst.at_kink]
    assert kinks and all(inst.vertex_activity.shape == (2, 1) for inst in kinks)
    for m, kind in ((0.0, "inactive"), (1.0, "active"), (0.5, "interior"), (0.3, "interior")):
        reports = [check_hypergradient(_fractional_mask_candidate(inst, m), inst)
                   for inst in kinks]
        assert all(r.passed for r in reports)  # the default criterion is the hull
        assert all(r.convention.kind == kind for r in reports)
        if kind == "interior":  # the tie derivative is recovered (round-off of the solves)
            assert all(abs(r.convention.tie_derivative - m) <= 1e-6 for r in reports)
            assert all(0 < r.convention.theta < 1 for r in reports)
            strict = [check_hypergradient(_fractional_mask_candidate(inst, m), inst,
                                          strict_vertices=True) for inst in kinks]
            assert not any(r.passed for r in strict) and all(r.check == "vertex" for r in strict)
            assert summarize([r.convention for r in reports]).startswith(
                f"interior at every tie, implied tie derivative ≈ {m:.2f}")
        else:
            strict = [check_hypergradient(_fractional_mask_candidate(inst, m), inst,
                                          strict_vertices=True) for inst in kinks]
            assert all(r.passed for r in strict)
            assert summarize([r.convention for r in reports]).startswith(
                f"picks the {kind} vertex at every tie")


def test_cli_reports_the_convention_and_strict_vertices_fails_a_split_tie(tmp_path, monkeypatch,
                                                                         capsys):
    module = tmp_path / "half_tie.py"
    module.write_text(
        "import numpy as np\n"
        "from ns_implicit.testing.examples import numpy_implicit as ex\n"
        "def backend(X, y, X_val, y_val, lam1, lam2, weight=0.5):\n"
        "    n, p = X.shape\n"
        "    H, b = X.T @ X / n, X.T @ y / n\n"
        "    L, mu = ex.spectrum(H, n)\n"
        "    g = 2.0 / (L + mu + 2.0 * lam2)\n"
        "    w = ex.solve_inner(H, b, lam1, lam2, g, tol=1e-15)\n"
        "    grad = H @ w - b + lam2 * w\n"
        "    u = w - g * grad\n"
        "    tie = np.abs(np.abs(u) - g * lam1) <= 1e-9 * g * lam1  # a tie, to round-off\n"
        "    m = np.where(tie, weight, (np.abs(u) > g * lam1).astype(float))\n"
        "    s = np.sign(u)\n"
        "    A = m[:, None] * (np.eye(p) - g * (H + lam2 * np.eye(p)))\n"
        "    B = np.column_stack([-g * m * s, m * (-g * w + g**2 * grad + g**2 * lam1 * s)])\n"
        "    v = np.linalg.solve((np.eye(p) - A).T, X_val.T @ (X_val @ w - y_val) / len(y_val))\n"
        "    return B.T @ v\n"
        "def inactive(*args):\n"
        "    return backend(*args, weight=0.0)\n")
    monkeypatch.chdir(tmp_path)
    args = ["check-backend", "--near-kinks", "--examples", "8", "--seed", "0"]
    assert main([*args, "half_tie:backend"]) == 0
    out = capsys.readouterr().out
    assert ("tie convention at exact kinks: interior at every tie, implied tie derivative "
            "≈ 0.50") in out
    assert main([*args, "--strict-vertices", "half_tie:backend"]) == 1
    assert "not a vertex (strict_vertices)" in capsys.readouterr().out
    assert main([*args, "--strict-vertices", "half_tie:inactive"]) == 0
    assert "picks the inactive vertex at every tie" in capsys.readouterr().out
