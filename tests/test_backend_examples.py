"""The JAX and PyTorch example backends under the kit (skipped without the extras).

Generic points: both must pass. Kinks: the kit must compare their answers (never crash) and
locate any discrepancy. Measured behaviour, explained by docs/theory.md §6:

* JAX (jaxopt implicit differentiation): its answer at a kink is ``(I - A_m)⁻¹B_m`` for the
  mask ``m`` JAX's autodiff gives at its own fixed point (0 / 1, or 0.5 exactly at a tie); for
  one tie that lies on the segment between the two vertices (a rank-one update moves ``J``
  along a line), so it passes the implicit-set check.
* PyTorch (unrolled ISTA): at some kinks the iterates approach the tie from alternating sides
  and ITD converges to a point of the fixed-point set (11) outside the implicit set (10); the
  kit reports that, and ``kink_set="fixed-point"`` accepts it.
"""

import pytest

from ns_implicit.testing import check_backend, sample_instances

COMPARED = {"relative-error", "conservative-set"}


# The backend fixtures come first in each signature: a missing extra skips the test before
# the instances are built.
@pytest.fixture(scope="module")
def jax_backend():
    pytest.importorskip("jax")
    pytest.importorskip("jaxopt")
    from ns_implicit.testing.examples.jax_implicit import hypergradient
    return hypergradient


@pytest.fixture(scope="module")
def torch_backend():
    pytest.importorskip("torch")
    from ns_implicit.testing.examples.torch_unrolled import hypergradient
    return hypergradient


@pytest.fixture(scope="module")
def generic():
    return sample_instances(20, seed=0)


@pytest.fixture(scope="module")
def kinky():
    return sample_instances(20, seed=0, near_kink=True)


def test_jax_example_passes_at_generic_points(jax_backend, generic):
    # Each new array shape costs a JIT compile (~0.5-1 s): a third of the instances.
    for rep in check_backend(jax_backend, generic[:6]):
        assert rep.passed, str(rep)


def test_jax_example_at_kinks_is_compared_and_inside_the_implicit_set(jax_backend, kinky):
    subset = [i for i in kinky if i.at_kink][:4] + [i for i in kinky if not i.at_kink][:2]
    for rep in check_backend(jax_backend, subset):
        assert rep.check in COMPARED, str(rep)
        assert rep.passed, str(rep)


def test_torch_example_passes_at_generic_points(torch_backend, generic):
    for rep in check_backend(torch_backend, generic):
        assert rep.passed, str(rep)


def test_torch_example_at_kinks_reports_the_unrolling_discrepancy(torch_backend, kinky):
    reports = check_backend(torch_backend, kinky)
    assert all(r.check in COMPARED for r in reports)
    for rep in reports:
        if not rep.instance.at_kink:
            assert rep.passed, str(rep)
    failed = [r for r in reports if not r.passed]
    assert failed, "seed 0 has kinks where unrolled ISTA leaves the implicit set"
    assert all("within the fixed-point set (11)" in r.message for r in failed)
    for rep in check_backend(torch_backend, kinky, kink_set="fixed-point"):
        assert rep.passed, str(rep)
