"""Hypergradient methods of THEORY.md §7–§9, each a short loop over the §7 oracle."""

from ns_implicit.methods.aid_cg import aid_cg
from ns_implicit.methods.aid_fp import aid_fp, aid_fp_forward
from ns_implicit.methods.aid_gmres import aid_gmres
from ns_implicit.methods.exact import exact, exact_jacobian
from ns_implicit.methods.itd import itd, itd_forward
from ns_implicit.methods.result import MethodResult

__all__ = ["aid_cg", "aid_fp", "aid_fp_forward", "aid_gmres", "exact", "exact_jacobian",
           "itd", "itd_forward", "MethodResult"]
