"""Theorem 4.1 on the group elastic net (docs/theory.md §15.10): the derived constants satisfy
Assumption 3.1(3) at sampled points of the ball ``B(w*, R)``, the measured ITD / AID-FP excess
stays below the bounds at generic points and at block kinks, and understated constants are
caught."""

import dataclasses

import numpy as np
import pytest

from ns_implicit.theory.bounds import aid_fp_bound, itd_bound_after_identification
from ns_implicit.theory.check import _mask_key, check_instance
from ns_implicit.theory.group_constants import group_lasso_constants
from ns_implicit.theory.group_instances import random_group_instance
from ns_implicit.theory.instances import DegenerateKinkError
from ns_implicit.theory.sets import dense_pair, selections


def instance(seed, at_kink, **kw):
    try:
        return random_group_instance(seed, at_kink=at_kink, **kw)
    except DegenerateKinkError:
        pytest.skip("a near-degenerate path")


@pytest.mark.parametrize("seed, at_kink, group_size", [(0, False, 2), (0, True, 2),
                                                       (3, True, 3), (5, False, 3)])
def test_assumption_3_1_holds_with_the_derived_constants_on_the_ball(seed, at_kink, group_size):
    inst = instance(seed, at_kink, group_size=group_size)
    phi, w_star = inst.phi, inst.w_star
    c = group_lasso_constants(phi, w_star, tie_tol=inst.tie_tol)
    assert c.nu1 > 0 and np.isfinite(c.R) and len(c.ties) == (1 if at_kink else 0)
    star = {_mask_key(s): dense_pair(s, phi.dim, phi.n_hyper)
            for s in selections(phi, w_star, tie_tol=inst.tie_tol)}
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(60):
        d = rng.standard_normal(phi.dim)
        delta = rng.uniform(0.05, 0.999) * min(c.R, 1.0)
        w = w_star + delta * d / np.linalg.norm(d)
        for sel in selections(phi, w):
            A, B = dense_pair(sel, phi.dim, phi.n_hyper)
            assert np.linalg.norm(A, 2) <= c.q * (1 + 1e-12)  # Assumption 3.1(2)
            key = _mask_key(sel)
            assert key in star, "a selection in the ball with no partner at w* (Lemma 2.5)"
            A_bar, B_bar = star[key]
            # Assumption 3.1(3), up to float64 round-off of the dense products
            assert np.linalg.norm(A - A_bar, 2) <= c.nu1 * delta + 1e-12
            assert np.linalg.norm(B - B_bar, 2) <= c.nu2 * delta + 1e-12
            worst = max(worst, np.linalg.norm(A - A_bar, 2) / (c.nu1 * delta))
    assert worst > 1e-3  # the ν₁ inequality is exercised, not vacuous


@pytest.mark.parametrize("seed, at_kink", [(1, False), (1, True), (4, True)])
def test_measured_excess_is_below_the_bounds(seed, at_kink):
    result = check_instance(instance(seed, at_kink), iters=50)
    assert result.problems == []
    assert result.violations == []
    assert np.isfinite(result.aid_bound).any()  # the check is not vacuous
    if at_kink:  # both branches of the tied group: two implicit Jacobians
        assert result.info["implicit_set_size"] == 2


def test_the_check_catches_understated_group_constants():
    result = check_instance(instance(0, True), iters=60)
    assert result.passed
    bad = dataclasses.replace(result.constants, L_Phi=result.constants.L_Phi / 40, nu1=0.0,
                              nu2=0.0)
    ok = np.isfinite(result.aid_bound)
    assert np.any(result.aid_excess[ok] > aid_fp_bound(result.t, result.delta, bad)[ok]
                  + result.atol)
    bad = dataclasses.replace(result.constants, q=result.constants.q / 3)
    wrong = itd_bound_after_identification(result.t, result.t_bar, result.delta[result.t_bar],
                                           bad)
    ok = np.isfinite(wrong)
    assert np.any(result.itd_excess[ok] > wrong[ok] + result.atol)


def test_cli_check_bounds_group_lasso(tmp_path, capsys):
    from ns_implicit.cli import main

    out = tmp_path / "gl.json"
    assert main(["check-bounds", "--problem", "group-lasso", "--at-kinks", "--seeds", "2",
                 "--iters", "30", "--no-plot", "--json", str(out)]) == 0
    assert "PASS" in capsys.readouterr().out
    import json

    doc = json.loads(out.read_text())
    assert doc["config"]["problem"] == "group-lasso"
    assert all(len(r["ties"]) == 1 and r["constants"]["nu1"] > 0 for r in doc["instances"])
    assert main(["check-bounds", "--problem", "group-lasso", "--nsid"]) == 2
    assert "--nsid checks Theorem 5.4 on --problem elastic-net only" in capsys.readouterr().err
    assert main(["check-bounds", "--problem", "group-lasso", "--group-size", "9"]) == 2
    assert "--group-size must be at most --p" in capsys.readouterr().err
