"""Hypergradient methods of docs/theory.md §7–§9, each a short loop over the §7 oracle;
:mod:`~ns_implicit.methods.registry` lists them with one calling convention."""

from ns_implicit.methods.aid_cg import aid_cg
from ns_implicit.methods.aid_fp import aid_fp, aid_fp_forward
from ns_implicit.methods.aid_gmres import aid_gmres
from ns_implicit.methods.exact import exact, exact_jacobian
from ns_implicit.methods.itd import itd, itd_forward
from ns_implicit.methods.registry import METHODS, Method, get_method, method_names
from ns_implicit.methods.result import MethodResult

__all__ = ["aid_cg", "aid_fp", "aid_fp_forward", "aid_gmres", "exact", "exact_jacobian",
           "itd", "itd_forward", "MethodResult", "METHODS", "Method", "get_method",
           "method_names"]
