"""Calling a candidate backend with a time limit.

The candidate runs in a daemon worker thread and the caller waits at most ``timeout``
seconds. Python cannot stop a thread, so a call that times out is *abandoned*: it keeps
running in the background until it returns (it cannot block interpreter exit, being a
daemon). :func:`~ns_implicit.testing.check_backend` therefore stops calling a candidate after
its first timeout. For a hard limit on a hung backend, run the whole check in a process with
its own deadline (``timeout 600 ns-implicit check-backend ...``).
"""

import threading
import time
import traceback
from dataclasses import dataclass


@dataclass
class CallOutcome:
    """``status`` is ``"returned"``, ``"raised"`` or ``"timeout"``."""

    status: str
    value: object = None
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0


def call_with_timeout(fn, args, timeout):
    """Run ``fn(*args)`` in a daemon thread; wait at most ``timeout`` seconds."""
    box = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - any failure of the candidate is reported
            box["error"] = f"{type(exc).__name__}: {exc}"
            box["traceback"] = traceback.format_exc()

    worker = threading.Thread(target=target, name="ns-implicit-candidate", daemon=True)
    start = time.perf_counter()
    worker.start()
    worker.join(timeout)
    seconds = time.perf_counter() - start
    if worker.is_alive():
        return CallOutcome("timeout", seconds=seconds)
    if "error" in box:
        return CallOutcome("raised", error=box["error"], traceback=box["traceback"],
                           seconds=seconds)
    return CallOutcome("returned", value=box.get("value"), seconds=seconds)
