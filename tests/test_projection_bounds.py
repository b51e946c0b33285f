"""Theorem 4.1 for least squares over the simplex and the ℓ1 ball (docs/theory.md §15.11):
``ν₁ = ν₂ = 0`` and the radius ``R`` (every selection in ``B(w*, R)`` has an identical partner at
``w*``), the measured excess below the bounds at generic points and at kinks built on the
closed-form path, and understated constants caught."""

import dataclasses

import numpy as np
import pytest

from ns_implicit.theory.bounds import aid_fp_bound
from ns_implicit.theory.check import _mask_key, check_instance
from ns_implicit.theory.instances import DegenerateKinkError
from ns_implicit.theory.projection_constants import projection_constants
from ns_implicit.theory.projection_instances import random_projection_instance
from ns_implicit.theory.sets import dense_pair, selections


def instance(seed, kind, at_kink):
    try:
        return random_projection_instance(seed, kind=kind, at_kink=at_kink)
    except DegenerateKinkError:
        pytest.skip("no clean kink on this path")


@pytest.mark.parametrize("kind", ["simplex", "l1-ball"])
@pytest.mark.parametrize("at_kink", [False, True])
def test_selections_in_the_ball_have_identical_partners_and_the_bounds_hold(kind, at_kink):
    inst = instance(2, kind, at_kink)
    phi, w_star = inst.phi, inst.w_star
    c = projection_constants(phi, w_star, tie_tol=inst.tie_tol)
    assert c.nu1 == c.nu2 == 0.0 and np.isfinite(c.R) and len(c.ties) == int(at_kink)
    star = {_mask_key(s): dense_pair(s, phi.dim, 1)
            for s in selections(phi, w_star, tie_tol=inst.tie_tol)}
    assert len(star) == 1 + at_kink  # a tie doubles the selections
    rng = np.random.default_rng(0)
    for _ in range(40):
        d = rng.standard_normal(phi.dim)
        w = w_star + rng.uniform(0.05, 0.999) * c.R * d / np.linalg.norm(d)
        for sel in selections(phi, w):
            A, B = dense_pair(sel, phi.dim, 1)
            A_bar, B_bar = star[_mask_key(sel)]  # Assumption 3.1(3) with ν₁ = ν₂ = 0
            np.testing.assert_allclose(A, A_bar, atol=1e-14)
            np.testing.assert_allclose(B, B_bar, atol=1e-15)
    result = check_instance(inst, iters=50)
    assert result.passed, (result.violations[:2], result.problems[:2])
    assert np.isfinite(result.aid_bound).any()
    if at_kink:
        assert result.info["implicit_set_size"] == 2


def test_the_radius_is_not_larger_than_the_reach_of_the_threshold():
    """Beyond ``R`` a selection without a partner at ``w*`` appears (the bound on the
    threshold's motion is what keeps the support fixed; 4R is already outside)."""
    inst = instance(2, "simplex", False)
    phi, w_star = inst.phi, inst.w_star
    c = projection_constants(phi, w_star)
    star = {_mask_key(s) for s in selections(phi, w_star)}
    rng = np.random.default_rng(1)
    outside = 0
    for _ in range(200):
        d = rng.standard_normal(phi.dim)
        w = w_star + 4 * c.R * d / np.linalg.norm(d)
        outside += any(_mask_key(s) not in star for s in selections(phi, w))
    assert outside > 0


def test_understated_constants_are_caught():
    result = check_instance(instance(5, "simplex", True), iters=60)
    assert result.passed
    bad = dataclasses.replace(result.constants, L_Phi=result.constants.L_Phi / 20)
    ok = np.isfinite(result.aid_bound)
    assert np.any(result.aid_excess[ok] > aid_fp_bound(result.t, result.delta, bad)[ok]
                  + result.atol)


def test_cli_check_bounds_projections(capsys):
    from ns_implicit.cli import main

    for problem in ("simplex-ls", "l1-ball-ls"):
        assert main(["check-bounds", "--problem", problem, "--at-kinks", "--seeds", "2",
                     "--iters", "30", "--no-plot"]) == 0
        assert "PASS" in capsys.readouterr().out
