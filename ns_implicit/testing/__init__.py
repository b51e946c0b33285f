"""Property-testing kit for other hypergradient backends (JAX, PyTorch, …).

Generate elastic-net instances carrying our reference hypergradient (and, at kinks, the
vertices of the conservative set), then check a candidate written against the stable
convention ``candidate(X, y, X_val, y_val, lam1, lam2) -> [dE/dlam1, dE/dlam2]`` with
``E(w) = ‖X_val w - y_val‖² / (2 n_val)`` (docs/theory.md §11.2)::

    from hypothesis import given
    from ns_implicit.testing import KIT_SETTINGS, assert_hypergradient_close, elastic_net_instances

    @KIT_SETTINGS
    @given(elastic_net_instances())
    def test_my_backend(instance):
        assert_hypergradient_close(my_backend, instance)

The same over a seeded batch, with a summary table: ``ns-implicit check-backend MODULE:FUNCTION``.
"""

from hypothesis import HealthCheck, settings

from ns_implicit.testing.assertions import (ATOL, DEFAULT_EXAMPLES, KINK_TOL, RTOL, TIMEOUT, CheckReport,
                         HypergradientMismatch, assert_hypergradient_close, check_backend,
                         check_hypergradient)
from ns_implicit.testing.instance import Instance, InstanceSpec
from ns_implicit.testing.strategies import (InstanceRanges, build_instance, elastic_net_instances, instance_specs,
                         sample_instances)

#: Hypothesis settings for tests drawing instances: building one solves a small problem, so no
#: per-example deadline and no ``too_slow`` health check; a few rejected draws are expected.
KIT_SETTINGS = settings(max_examples=DEFAULT_EXAMPLES, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

__all__ = [
    "ATOL", "DEFAULT_EXAMPLES", "KINK_TOL", "KIT_SETTINGS", "RTOL", "TIMEOUT", "CheckReport",
    "HypergradientMismatch", "Instance", "InstanceRanges", "InstanceSpec",
    "assert_hypergradient_close", "build_instance", "check_backend", "check_hypergradient",
    "elastic_net_instances", "instance_specs", "sample_instances",
]
