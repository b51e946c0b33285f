"""The validation scripts stay runnable: each imports and parses its options (default suite);
each runs in its quickest mode under ``-m slow``."""

import pathlib
import runpy
import subprocess
import sys

import pytest

VALIDATION = pathlib.Path(__file__).resolve().parents[1] / "validation"
SCRIPTS = sorted(p.name for p in VALIDATION.glob("*.py"))

#: The quickest mode of each script (small sizes, few repeats); {out} is a temporary folder.
QUICKEST = {
    "bench_core.py": ["--quick", "--no-import"],
    "bench_nsid.py": ["--quick"],
    "bench_tuning.py": ["--quick"],
    "bench_poisoning.py": ["--n-train", "300", "--n-val", "100", "--n-test", "100",
                           "--n-poison", "20", "--repeats", "1"],
    "check_bounds.py": ["--instances", "4", "--iters", "20", "--workers", "1", "--out", "{out}"],
    "bench_weighted_lasso.py": ["--n", "50", "--p", "200", "--repeats", "1"],
    "bench_peers.py": ["--quick", "--repeats", "1", "--tools", "ns_implicit"],
    "claims.py": [],
    "tie_conventions.py": [],
    "nsid_rates.py": ["--seeds", "2"],
}


def _run(script, args, timeout):
    return subprocess.run([sys.executable, str(VALIDATION / script), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=VALIDATION.parent)


def test_every_script_has_a_quickest_mode():
    assert set(SCRIPTS) == set(QUICKEST), sorted(set(SCRIPTS) ^ set(QUICKEST))


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_imports_and_parses_its_options(script, monkeypatch, capsys):
    # in this interpreter (runpy, as ``python script --help``): a fresh one per script would
    # spend ~1 s each importing numpy and ns_implicit again
    monkeypatch.setattr(sys, "argv", [script, "--help"])
    monkeypatch.syspath_prepend(str(VALIDATION))
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(VALIDATION / script), run_name="__main__")
    assert exit_.value.code in (0, None)
    assert "usage" in capsys.readouterr().out.lower()


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_in_its_quickest_mode(script, tmp_path):
    args = [a.format(out=tmp_path) for a in QUICKEST[script]]
    proc = _run(script, args, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-2000:]
