"""``check-backend --problem group-lasso``: a group-lasso backend that differentiates block
soft-thresholding naively (through ``u/‖u‖``, NaN at ``u_g = 0``) is reported, a correct one
passes; the instances with a dead group are where the naive one fails (docs/theory.md §15.4(d))."""

import shutil
from pathlib import Path

import numpy as np
from hypothesis import given, settings

from ns_implicit.cli import main
from ns_implicit.testing.problems import (check_problem_backend, check_problem_hypergradient,
                                          problem_instances, sample_problem_instances)
from nonseparable_candidates import group_lasso, naive_group_lasso

EXAMPLES = 4  # seeds 0-3 give generic instances, the odd ones with an all-zero group


def dead_group(inst):
    return any(not np.any(inst.X[:, inst.groups == g]) for g in np.unique(inst.groups))


def test_naive_block_soft_threshold_is_reported_exactly_where_u_g_is_zero():
    instances = sample_problem_instances("group-lasso", EXAMPLES)
    assert any(dead_group(i) for i in instances) and not all(dead_group(i) for i in instances)
    good = check_problem_backend(group_lasso, "group-lasso", examples=EXAMPLES)
    assert all(r.passed for r in good), "\n".join(str(r) for r in good if not r.passed)
    naive = check_problem_backend(naive_group_lasso, "group-lasso", examples=EXAMPLES)
    for inst, rep in zip(instances, naive):
        if dead_group(inst):
            assert not rep.passed and rep.check == "non-finite", str(rep)
        else:  # away from u_g = 0 the naive formula is the right one
            assert rep.passed, str(rep)


@settings(max_examples=4, deadline=None)
@given(problem_instances("group-lasso"))
def test_property_style_group_lasso(instance):
    assert check_problem_hypergradient(group_lasso, instance).passed


def test_cli_check_backend_group_lasso(tmp_path, monkeypatch, capsys):
    shutil.copy(Path(__file__).with_name("nonseparable_candidates.py"), tmp_path / "glb.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check-backend", "glb:naive_group_lasso", "--problem", "group-lasso",
                 "--examples", str(EXAMPLES)]) == 1
    out = capsys.readouterr().out
    assert "NaN" in out
    assert main(["check-backend", "glb:group_lasso", "--problem", "group-lasso",
                 "--examples", str(EXAMPLES)]) == 0
    assert f"{EXAMPLES} of {EXAMPLES} instances passed" in capsys.readouterr().out


def test_block_kink_instances_and_their_conservative_sets():
    """At an exact block kink the kit compares with the hull of the two vertex hypergradients
    (the tied group active or not); near one, with ``exact`` at a small margin. The independent
    candidate passes both; an answer outside the hull fails."""
    from ns_implicit.testing.problems import KINK_TIE_TOL, build_problem_instance

    insts = sample_problem_instances("group-lasso", 4, seed=0, near_kinks=True)
    kinks = [i for i in insts if i.at_kink]
    assert [i.kind for i in insts] == ["kink", "near-kink", "kink", "near-kink"]
    for inst in kinks:
        assert inst.kink_set.shape == (2, 1) and inst.kink_set[0, 0] != inst.kink_set[1, 0]
    good = check_problem_backend(group_lasso, "group-lasso", examples=4, near_kinks=True)
    assert all(r.passed for r in good), "\n".join(str(r) for r in good if not r.passed)
    lo, hi = kinks[0].kink_set.min(), kinks[0].kink_set.max()
    outside = lambda *a: [hi + 0.1 * (hi - lo) + 1e-3]  # noqa: E731
    rep = check_problem_hypergradient(outside, kinks[0])
    assert not rep.passed and rep.check == "kink-set"
    inside = lambda *a: [0.5 * (lo + hi)]  # noqa: E731
    assert check_problem_hypergradient(inside, kinks[0]).passed
    # the tie is real: the tied group's relative gap is below the tolerance
    assert build_problem_instance("group-lasso", kinks[0].seed, "exact").kink_set is not None
    assert KINK_TIE_TOL <= 1e-8


def test_cli_check_backend_group_lasso_near_kinks(tmp_path, monkeypatch, capsys):
    shutil.copy(Path(__file__).with_name("nonseparable_candidates.py"), tmp_path / "glb2.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check-backend", "glb2:group_lasso", "--problem", "group-lasso",
                 "--near-kinks", "--examples", "2"]) == 0
    assert "block-kink/near-kink" in capsys.readouterr().out
    assert main(["check-backend", "glb2:group_lasso", "--problem", "simplex-ls",
                 "--near-kinks"]) == 2
    assert "--near-kinks applies to" in capsys.readouterr().err


@settings(max_examples=3, deadline=None)
@given(problem_instances("group-lasso", near_kinks=True))
def test_property_style_group_lasso_at_and_near_block_kinks(instance):
    assert instance.kind in ("kink", "near-kink")
    assert check_problem_hypergradient(group_lasso, instance).passed
