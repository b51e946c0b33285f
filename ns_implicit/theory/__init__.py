"""The constants and bound curves of docs/theory.md §6 and §8, and their check on real runs.

* :mod:`~ns_implicit.theory.constants` — ``q, L_Φ, ν₁, ν₂, R`` of Assumption 3.1 for an
  elastic-net map at its fixed point (docs/theory.md §6, §11.2);
* :mod:`~ns_implicit.theory.bounds` — the Theorem 4.1 curves (ITD, AID-FP), each formula in
  one function with its docs/theory.md reference;
* :mod:`~ns_implicit.theory.instances` — seeded elastic-net instances, generic or with a
  solution sitting exactly at a kink;
* :mod:`~ns_implicit.theory.check` — runs ITD and AID-FP on an instance and compares the
  measured excess with the bounds, iteration by iteration.
"""

from ns_implicit.theory.bounds import (aid_beats_itd_from, aid_fp_bound, itd_bound, itd_bound_after_identification,
                     jacobian_norm_bound, support_identified_at)
from ns_implicit.theory.constants import ElasticNetConstants, elastic_net_constants, kink_margin

__all__ = ["ElasticNetConstants", "aid_beats_itd_from", "aid_fp_bound", "elastic_net_constants",
           "itd_bound", "itd_bound_after_identification", "jacobian_norm_bound", "kink_margin",
           "support_identified_at"]
