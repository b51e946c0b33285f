"""Fan-out of independent sweeps: ``[fn(config, seed) for seed in seeds]`` on joblib backends.

Every sweep of the project (``check-bounds``, the validation studies, ``reproduce`` over
seeds) is a pure function of ``(config, seed)`` returning a JSON-ready record. This module
runs such a function over the seeds

* in the calling process when ``n_jobs == 1`` and ``backend == "loky"`` (no joblib needed);
* in ``n_jobs`` loky worker processes (``backend="loky"``);
* on a Dask cluster through joblib's ``dask`` backend (``backend="dask"``): the scheduler at
  ``scheduler`` (``tcp://host:port``), else at the address of Dask's configuration
  (``DASK_SCHEDULER_ADDRESS`` in the environment), else a ``LocalCluster`` of ``n_jobs``
  single-threaded worker processes started for the call and closed after it.

Records come back in the order of ``seeds`` whatever finished first. Each task runs with
BLAS limited to ``blas_threads`` threads (threadpoolctl, inside the task, so the limit holds
in any worker of any backend and in the serial loop alike): every record is then computed
with the same reduction order, and the results are the same bits for any backend and number
of workers (tested in ``tests/test_parallel.py``). The seeds' own random streams live inside
``fn``; nothing here draws random numbers.
"""

import contextlib
import functools
import os

#: The backends ``run_records`` accepts.
BACKENDS = ("loky", "dask")

_INSTALL = 'pip install "ns_implicit[parallel]"'


def check_parallel_args(n_jobs, backend, scheduler=None):
    """Validate ``n_jobs``/``backend``/``scheduler`` at the public boundary (a ValueError
    naming the argument and the fix)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"--n-jobs must be an integer >= 1 (worker processes); got {n_jobs!r}.")
    if backend not in BACKENDS:
        raise ValueError(f"--backend must be one of {', '.join(BACKENDS)}; got {backend!r}.")
    if scheduler is not None and backend != "dask":
        raise ValueError("--scheduler names a Dask scheduler; add --backend dask "
                         f"(got --backend {backend}).")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ValueError(f"--scheduler must be an address such as tcp://host:8786; got {scheduler!r}.")


def add_parallel_arguments(parser):
    """The CLI options ``--n-jobs``, ``--backend`` and ``--scheduler`` of every sweep."""
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="worker processes for the seeds (default 1: in this process; "
                             "results are the same bits for any value)")
    parser.add_argument("--backend", choices=BACKENDS, default="loky",
                        help="joblib backend: loky (local processes, default) or dask (a Dask "
                             "cluster: --scheduler, else DASK_SCHEDULER_ADDRESS, else a "
                             "LocalCluster of --n-jobs workers)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="address of a running Dask scheduler (with --backend dask)")


def _require(module, what):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ValueError(f"{what} needs the optional package {module!r}, which is not "
                         f"installed ({exc}); install it with {_INSTALL}.") from None


def _pinned_call(fn, blas_threads, config, seed):
    """``fn(config, seed)`` with BLAS limited to ``blas_threads`` threads during the call."""
    from ns_implicit._threads import blas_threads as limit
    with limit(blas_threads):
        return fn(config, seed)


@contextlib.contextmanager
def _dask_client(n_jobs, scheduler):
    """A distributed Client: at ``scheduler``, at the configured address, or a LocalCluster."""
    _require("dask", "--backend dask")
    _require("distributed", "--backend dask")
    import dask
    from distributed import Client, LocalCluster
    address = scheduler or dask.config.get("scheduler-address", None)
    if address:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {address!r} ({exc}); start "
                             "it (dask scheduler) or fix --scheduler / "
                             "DASK_SCHEDULER_ADDRESS.") from None
        with client:
            yield client
        return
    # The workers get the same BLAS limit through their environment as well (threadpoolctl
    # inside the task is what the results rely on).
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        with LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client


def run_records(fn, config, seeds, *, n_jobs=1, backend="loky", scheduler=None, blas_threads=1,
                batch_size="auto"):
    """``[fn(config, seed) for seed in seeds]``, fanned out with ``joblib.Parallel``.

    ``fn`` must be a module-level function (workers import it by name) that is pure in
    ``(config, seed)``: the same arguments give the same record in any process. ``n_jobs=1``
    with the loky backend runs the loop here without importing joblib; anything else needs
    the ``parallel`` extra (a ValueError naming it otherwise).
    """
    check_parallel_args(n_jobs, backend, scheduler)
    seeds = list(seeds)
    task = functools.partial(_pinned_call, fn, blas_threads)
    if backend == "loky" and n_jobs == 1:
        return [task(config, seed) for seed in seeds]
    _require("joblib", f"--n-jobs {n_jobs} --backend {backend}")
    from joblib import Parallel, delayed, parallel_config
    if backend == "loky":
        # Children inherit these before any BLAS loads (threadpoolctl still pins inside).
        with _environ(OPENBLAS_NUM_THREADS=str(blas_threads), OMP_NUM_THREADS=str(blas_threads),
                      MKL_NUM_THREADS=str(blas_threads)):
            with parallel_config(backend="loky", n_jobs=n_jobs,
                                 inner_max_num_threads=blas_threads):
                return Parallel(batch_size=batch_size)(delayed(task)(config, s) for s in seeds)
    with _dask_client(n_jobs, scheduler):
        with parallel_config(backend="dask"):
            return Parallel(batch_size=batch_size)(delayed(task)(config, s) for s in seeds)


@contextlib.contextmanager
def _environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
