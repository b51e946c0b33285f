"""Sweeps fanned out with joblib (ns_implicit/_parallel.py, docs/parallel.md): the same bits
for any backend and number of workers, records in seed order, BLAS pinned inside each task,
and bad options or a missing extra named at the boundary.

The tests that start worker processes (loky, a real ``dask.distributed.LocalCluster``) are
marked slow (worker start-up and Numba cache loading take seconds); CI runs them as a step of
its own (``.ci/run``). They skip without the ``parallel`` extra.
"""

import json
import os
import sys

import pytest

from ns_implicit._parallel import run_records
from ns_implicit.cli import main


def _square(config, seed):
    return {"seed": seed, "value": config["scale"] * seed * seed}


def _blas_threads_inside(config, seed):
    from threadpoolctl import threadpool_info
    return sorted({m["num_threads"] for m in threadpool_info() if m["user_api"] == "blas"})


def _pid(config, seed):
    return seed, os.getpid()


def _without_timings(obj):
    """A results document without its wall-clock fields (keys ending in ``seconds``), which
    measure the run, not its results."""
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if not k.endswith("seconds")}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def _load(path):
    with open(path) as fh:
        return _without_timings(json.load(fh))


# ---- fast: the serial path, validation, missing extras ---------------------------------------

def test_serial_path_needs_no_joblib(monkeypatch):
    monkeypatch.setitem(sys.modules, "joblib", None)  # `import joblib` raises ImportError
    assert run_records(_square, {"scale": 2}, [3, 1, 2]) == [
        {"seed": 3, "value": 18}, {"seed": 1, "value": 2}, {"seed": 2, "value": 8}]
    with pytest.raises(ValueError, match=r"--n-jobs 2 --backend loky needs the optional "
                                         r"package 'joblib'.*ns_implicit\[parallel\]"):
        run_records(_square, {"scale": 2}, [1], n_jobs=2)


def test_dask_backend_without_distributed_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ValueError, match=r"--backend dask needs.*'distributed'.*\[parallel\]"):
        run_records(_square, {"scale": 1}, [1], n_jobs=2, backend="dask")


def test_blas_is_pinned_inside_each_task():
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=2, user_api="blas"):  # the caller's setting does not leak in
        assert run_records(_blas_threads_inside, {}, [0]) == [[1]]
        assert run_records(_blas_threads_inside, {}, [0], blas_threads=2) == [[2]]


@pytest.mark.parametrize("argv, message", [
    (["--n-jobs", "0"], "--n-jobs must be an integer >= 1"),
    (["--n-jobs", "-3"], "--n-jobs must be an integer >= 1"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler names a Dask scheduler; add --backend dask"),
    (["--backend", "dask", "--scheduler", " "], "--scheduler must be an address"),
])
@pytest.mark.parametrize("command", [["check-bounds", "--quick"], ["check-bounds", "--quick", "--nsid"],
                                     ["reproduce", "enet-deterministic", "--quick"]])
def test_bad_parallel_options_are_usage_errors(command, argv, message, tmp_path, capsys):
    out = tmp_path / "never"
    extra = ["--out", str(out)] if command[0] == "reproduce" else ["--json", str(out)]
    assert main(command + argv + extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()  # refused before any work or output


def test_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match="--backend must be one of loky, dask; got 'ray'"):
        run_records(_square, {"scale": 1}, [1], backend="ray")
    with pytest.raises(ValueError, match="--n-jobs must be an integer >= 1"):
        run_records(_square, {"scale": 1}, [1], n_jobs=True)


# ---- slow: real worker processes ----------------------------------------------------------------

@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """check-bounds --quick and a tiny reproduce (two seeds), in this process."""
    out = tmp_path_factory.mktemp("serial")
    assert main(["check-bounds", "--quick", "--json", str(out / "cb.json"), "--no-plot"]) == 0
    assert main(["reproduce", "enet-deterministic", "--quick", "--seeds", "3", "4",
                 "--out", str(out), "--no-plot"]) == 0
    return {"check-bounds": _load(out / "cb.json"),
            "reproduce": _load(out / "enet-deterministic-quick.json")}


@pytest.fixture(scope="module")
def cluster():
    """A real LocalCluster: 2 single-threaded worker processes."""
    pytest.importorskip("joblib")
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    import cloudpickle
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as lc, distributed.Client(lc) as client:
        yield lc.scheduler_address, set(client.run(os.getpid).values())
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.mark.slow
def test_dask_runs_on_the_cluster_workers_and_keeps_seed_order(cluster):
    address, worker_pids = cluster
    seeds = list(range(12, 0, -1))
    records = run_records(_pid, {}, seeds, n_jobs=2, backend="dask", scheduler=address)
    assert [s for s, _ in records] == seeds
    pids = {pid for _, pid in records}
    assert pids <= worker_pids and os.getpid() not in pids


@pytest.mark.slow
def test_check_bounds_on_a_local_cluster_is_bit_identical(serial, cluster, tmp_path):
    address, _ = cluster
    path = tmp_path / "dask.json"
    assert main(["check-bounds", "--quick", "--json", str(path), "--no-plot",
                 "--n-jobs", "2", "--backend", "dask", "--scheduler", address]) == 0
    dask_doc = _load(path)
    assert len(dask_doc["instances"]) == 6
    assert dask_doc == serial["check-bounds"]


@pytest.mark.slow
def test_reproduce_on_a_local_cluster_is_bit_identical(serial, cluster, tmp_path, monkeypatch):
    address, _ = cluster
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)  # the address from the environment
    import dask
    dask.config.refresh()
    try:
        assert main(["reproduce", "enet-deterministic", "--quick", "--seeds", "3", "4",
                     "--out", str(tmp_path), "--no-plot", "--n-jobs", "2", "--backend", "dask"]) == 0
    finally:
        monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
        dask.config.refresh()
    doc = _load(tmp_path / "enet-deterministic-quick.json")
    assert [r["seed"] for r in doc["runs"]] == [3, 4]
    assert doc == serial["reproduce"]


@pytest.mark.slow
def test_check_bounds_loky_and_own_local_cluster_are_bit_identical(serial, tmp_path):
    pytest.importorskip("joblib")
    pytest.importorskip("distributed")
    for backend in ("loky", "dask"):  # dask without an address: the command's own LocalCluster
        path = tmp_path / f"{backend}.json"
        assert main(["check-bounds", "--quick", "--json", str(path), "--no-plot",
                     "--n-jobs", "2", "--backend", backend]) == 0
        assert _load(path) == serial["check-bounds"], backend


# ---- check-backend: the instances fanned out --------------------------------------------------

_CANDIDATE = "ns_implicit.testing.examples.numpy_implicit:hypergradient"


def test_check_backend_parallel_options_are_for_the_elastic_net_sweep(capsys):
    assert main(["check-backend", _CANDIDATE, "--problem", "lasso", "--examples", "1",
                 "--n-jobs", "2"]) == 2
    assert "--n-jobs and --backend apply to --problem elastic-net" in capsys.readouterr().err


def _table_without_seconds(text):
    """The report without its timing column (the number before pass/FAIL)."""
    import re
    return re.sub(r" +\d+\.\d+  (pass|FAIL)", r"  \1", text)


@pytest.mark.slow
def test_check_backend_on_two_workers_gives_the_same_reports(capsys):
    pytest.importorskip("joblib")
    argv = ["check-backend", _CANDIDATE, "--examples", "6", "--near-kinks"]
    assert main(argv) == 0
    serial = capsys.readouterr().out
    assert main(argv + ["--n-jobs", "2"]) == 0
    parallel = capsys.readouterr().out
    assert "6 of 6 instances passed" in parallel
    assert _table_without_seconds(parallel) == _table_without_seconds(serial)
