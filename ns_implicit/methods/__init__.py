"""Hypergradient methods of THEORY.md §7–§9, each a short loop over the §7 oracle."""

from .aid_cg import aid_cg
from .aid_fp import aid_fp, aid_fp_forward
from .aid_gmres import aid_gmres
from .exact import exact, exact_jacobian
from .itd import itd, itd_forward
from .result import MethodResult

__all__ = ["aid_cg", "aid_fp", "aid_fp_forward", "aid_gmres", "exact", "exact_jacobian",
           "itd", "itd_forward", "MethodResult"]
