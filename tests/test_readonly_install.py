"""ns_implicit imports and computes with no writable Numba cache directory (read-only install,
no writable home): one NumbaCacheWarning, no error. And the NS_IMPLICIT_BOUNDSCHECK switch.

Each case runs in a fresh interpreter, because the switches and Numba's cache lookup act at
import time.
"""

import ctypes
import json
import math
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The README's first example, smaller. Prints the hypergradient and where ns_implicit came from.
HYPERGRADIENT = """
import json, numpy as np, ns_implicit as ni
data = ni.make_sparse_regression(n_samples=100, n_features=20, n_informative=5, seed=3)
problem = ni.ElasticNetProblem(data.X, data.y, data.X_val, data.y_val)
res = problem.hypergradient(np.array([0.02, 0.002]), method="exact")
print(json.dumps({"file": ni.__file__, "g": res.value.tolist()}))
"""

# Before importing: this process really cannot write where Numba looks for a cache (next to
# the sources, under $HOME), so the test exercises the real condition, not a mock.
CHECK_READ_ONLY = """
import os, sys, tempfile
for d in sys.argv[1:]:
    try:
        os.makedirs(os.path.join(d, "__pycache__", "probe"))
    except OSError:
        continue
    sys.exit("simulation broken: %s is writable" % d)
"""


def _clean_env(**extra):
    """The parent's environment minus everything that steers Numba's cache or ns_implicit."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NUMBA_", "NS_IMPLICIT_", "XDG_", "PYTHON"))}
    env.update(extra)
    return env


def _drop_dac_override():
    """In the child, before exec: remove CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the
    capability bounding set. After exec the process is still uid 0 but, lacking these two
    capabilities, the kernel checks file permission bits for it as for any other user."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP = 24
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _root_can_drop_dac_override():
    try:
        subprocess.run([sys.executable, "-c", ""], preexec_fn=_drop_dac_override, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


@pytest.fixture
def read_only_install(tmp_path):
    """A copy of the ns_implicit package (what a non-editable install puts in site-packages),
    a home directory that cannot be created, and a working directory; all read-only."""
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "ns_implicit", site / "ns_implicit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    (tmp_path / "home").mkdir()  # HOME is home/user, which does not exist
    (tmp_path / "cwd").mkdir()
    for root, dirs, files in os.walk(tmp_path):
        for name in dirs + files + ["."]:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    yield tmp_path
    for root, dirs, _ in os.walk(tmp_path):  # let pytest delete it
        for name in dirs + ["."]:
            os.chmod(os.path.join(root, name), 0o755)


def test_read_only_install_without_writable_home_computes_and_warns_once(read_only_install):
    site = read_only_install / "site-packages"
    home = read_only_install / "home" / "user"
    kwargs = {}
    if os.geteuid() == 0:
        # Root ignores permission bits through CAP_DAC_OVERRIDE. Dropping it (rather than
        # switching to an unprivileged user, who may be unable to read this interpreter, e.g.
        # a venv under /root) leaves the same state as an unprivileged user in front of a
        # read-only tree: every write below fails with EACCES, which is all Numba's cache
        # locators test (os.makedirs and tempfile.TemporaryFile in their directory).
        # CHECK_READ_ONLY confirms it inside the child.
        if not _root_can_drop_dac_override():
            pytest.skip("running as root without CAP_SETPCAP: cannot drop CAP_DAC_OVERRIDE")
        kwargs["preexec_fn"] = _drop_dac_override
    env = _clean_env(HOME=str(home), PYTHONPATH=str(site))
    code = CHECK_READ_ONLY + HYPERGRADIENT
    argv = [sys.executable, "-W", "always", "-c", code,
            str(site / "ns_implicit"), str(site / "ns_implicit" / "kernels"), str(home)]
    proc = subprocess.run(argv, env=env, cwd=read_only_install / "cwd", capture_output=True,
                          text=True, timeout=120, **kwargs)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["file"] == str(site / "ns_implicit" / "__init__.py")  # the copy, not the repo
    assert len(out["g"]) == 2 and all(math.isfinite(g) for g in out["g"])
    # One warning per process, even with -W always (one location per kernel module).
    assert proc.stderr.count("NumbaCacheWarning") == 1, proc.stderr
    assert "no locator available" in proc.stderr and "NUMBA_CACHE_DIR" in proc.stderr
    assert not list(site.rglob("*.nbi"))


def test_no_warning_when_cache_is_writable(tmp_path):
    env = _clean_env(NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    proc = subprocess.run([sys.executable, "-W", "always", "-c", HYPERGRADIENT], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert all(math.isfinite(g) for g in json.loads(proc.stdout)["g"])
    assert "NumbaCacheWarning" not in proc.stderr, proc.stderr
    assert list((tmp_path / "numba-cache").rglob("*.nbi"))  # and it did cache


GRAM_MATVEC = """
import sys, numpy as np, ns_implicit._jit as j
from ns_implicit.kernels.least_squares import gram_matvec
assert j.BOUNDSCHECK is (sys.argv[1] == "1")
out = np.zeros(int(sys.argv[2]))
try:
    gram_matvec(np.eye(4), np.ones(4), out)
except IndexError as exc:
    print("IndexError", exc)
else:
    print("ok", out.tolist())
"""


def test_boundscheck_switch_raises_index_error(tmp_path):
    def run(flag, n_out):
        env = _clean_env(NUMBA_CACHE_DIR=str(tmp_path), NS_IMPLICIT_BOUNDSCHECK=flag)
        return subprocess.run([sys.executable, "-c", GRAM_MATVEC, flag, str(n_out)], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              check=True).stdout

    # An unchecked compilation of gram_matvec, cached in tmp_path first: Numba's cache key
    # ignores boundscheck, so the switch must not load it.
    assert run("0", 4).split()[0] == "ok"
    assert list(tmp_path.rglob("*.nbi"))
    assert run("1", 2).startswith("IndexError")
