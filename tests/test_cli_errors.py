"""Command-line errors name the argument and exit 2 (no tracebacks)."""

import pytest

from ns_implicit.cli import main


def test_check_backend_reports_a_broken_module(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_backend.py").write_text("def hypergradient(:\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check-backend", "broken_backend:hypergradient", "--examples", "1"]) == 2
    err = capsys.readouterr().err
    assert "importing module 'broken_backend' failed: SyntaxError" in err


def test_poison_split_rejects_a_negative_seed():
    from ns_implicit.data import mnist
    with pytest.raises(ValueError, match="seed must be >= 0"):
        mnist.mnist_split(10, 8, 6, seed=-1)
