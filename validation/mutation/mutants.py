"""Apply the named hand mutants of the mathematical core one at a time, in a throwaway copy.

Usage (never in the working tree others are testing in):

    cp -r /path/to/repo /tmp/mut
    python validation/mutation/mutants.py /tmp/mut [NAME ...]

For each mutant: replace ``old`` by ``new`` in ``file`` (exactly one occurrence), run the
killing test(s) with ``PYTHONPATH=<copy>``, record pass/fail, and restore the file
(``git checkout -- file`` in the copy). A mutant is *killed* when its test fails.
"""

import os
import subprocess
import sys

MUTANTS = [
    # name, file, old, new, killing test(s)
    ("itd-skip-s0", "ns_implicit/methods/itd.py", "range(t - 1, -1, -1)", "range(t - 1, 0, -1)",
     ["tests/test_mutants.py::test_reverse_itd_equals_forward_itd_and_the_itd_set_at_small_t"]),
    ("itd-extra-st", "ns_implicit/methods/itd.py", "range(t - 1, -1, -1)", "range(t, -1, -1)",
     ["tests/test_mutants.py::test_reverse_itd_equals_forward_itd_and_the_itd_set_at_small_t"]),
    ("excess-op-ignored", "ns_implicit/theory/conservative.py",
     "return float(np.max(np.min(pairwise_distances(A, B, norm=norm), axis=1)))",
     "return float(np.max(np.min(pairwise_distances(A, B, norm=\"fro\"), axis=1)))",
     ["tests/test_mutants.py::test_excess_op_norm_on_finite_sets_is_brute_force_spectral"]),
    ("bound-nu1-halved", "ns_implicit/theory/bounds.py",
     "return c.nu2 + c.nu1 * c.L_Phi / (1.0 - c.q)",
     "return c.nu2 + 0.5 * c.nu1 * c.L_Phi / (1.0 - c.q)",
     ["tests/test_mutants.py::test_theorem_4_1_bounds_with_nonzero_nu1_match_hand_values"]),
    ("sid-kernel-tie-ge", "ns_implicit/kernels/minibatch.py",
     "mask[j] = 1 if soft_threshold_active(abs(u[j]), tau, tie_active) else 0",
     "mask[j] = 1 if abs(u[j]) >= tau else 0",
     ["tests/test_mutants.py::test_sid_compiled_equals_generic_at_an_exact_tie"]),
    ("tie-rule-ge", "ns_implicit/kernels/soft_threshold.py",
     "return a > tau or (tie_active and a == tau)", "return a >= tau",
     ["tests/test_mutants.py::test_sid_compiled_equals_generic_at_an_exact_tie"]),
    ("support-id-minus-1", "ns_implicit/solvers/fixed_point.py",
     "            last_change = t\n", "            last_change = t - 1\n",
     ["tests/test_mutants.py::test_support_identification_iteration_on_a_hand_computed_run"]),
    ("support-id-plus-1", "ns_implicit/solvers/fixed_point.py",
     "            last_change = t\n", "            last_change = t + 1\n",
     ["tests/test_mutants.py::test_support_identification_iteration_on_a_hand_computed_run"]),
    ("R-no-2tau-cap", "ns_implicit/theory/constants.py",
     "reach = min(margin, 2.0 * tau) if len(ties) else margin", "reach = margin",
     ["tests/test_mutants.py::test_radius_R_is_capped_at_two_tau_over_q_at_a_tie"]),
    ("fixset-radius-q-too-small", "ns_implicit/theory/sets.py",
     "return X, q ** depth * 2.0 * L_fro / (1.0 - q)",
     "return X, q ** (depth + 1) * 2.0 * L_fro / (1.0 - q)",
     ["tests/test_mutants.py::test_fixed_point_set_radius_is_its_definition"]),
]


def run(copy, names):
    env = dict(os.environ, PYTHONPATH=copy, NUMBA_CACHE_DIR=os.path.join(copy, ".mut_cache"))
    check = subprocess.run([sys.executable, "-c", "import ns_implicit; print(ns_implicit.__file__)"],
                           cwd=copy, env=env, capture_output=True, text=True, check=True).stdout
    if not check.startswith(os.path.abspath(copy)):
        sys.exit(f"the copy is not the one imported: {check.strip()}")
    results = []
    for name, rel, old, new, tests in MUTANTS:
        if names and name not in names:
            continue
        path = os.path.join(copy, rel)
        src = open(path).read()
        if src.count(old) != 1:
            results.append((name, "NOT APPLIED (pattern count %d)" % src.count(old), ""))
            continue
        try:
            open(path, "w").write(src.replace(old, new))
            out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                  *tests], cwd=copy, env=env, capture_output=True, text=True)
        finally:
            subprocess.run(["git", "checkout", "--", rel], cwd=copy, check=True)
        lines = [l for l in out.stdout.splitlines() if l.startswith(("E ", "FAILED"))]
        status = "killed" if out.returncode != 0 else "SURVIVED"
        results.append((name, status, "\n    ".join(lines[:4])))
    for name, status, detail in results:
        print(f"{name}: {status}\n    {detail}")
    return all(s == "killed" for _, s, _ in results)


if __name__ == "__main__":
    ok = run(sys.argv[1], sys.argv[2:])
    sys.exit(0 if ok else 1)
