"""One registry of hypergradient methods with one calling convention (docs/theory.md §7–§9).

Every method is a :class:`Method` record. The *implicit* methods (``exact``, ``aid-cg``,
``aid-fp``, ``aid-gmres``) share one call::

    METHODS[name].run(phi, w, u, iters=..., tol=..., v0=None, history=False) -> MethodResult

(``exact`` ignores the budget; a method without warm starts or history ignores ``v0`` and
refuses ``history``). The *unrolled* methods (``itd``, ``itd-forward``) differentiate the
inner iterations and are driven by :func:`~ns_implicit.bilevel.hypergradient.hypergradient`;
the *stochastic* ones (``nsid``, ``sid``) by
:func:`~ns_implicit.bilevel.stochastic.stochastic_hypergradient`. Callers (the bilevel
drivers, the poisoning attack, the CLI) choose from this table instead of branching.
"""

from dataclasses import dataclass
from typing import Callable

from ns_implicit.methods.aid_cg import aid_cg
from ns_implicit.methods.aid_fp import aid_fp
from ns_implicit.methods.aid_gmres import aid_gmres
from ns_implicit.methods.exact import exact
from ns_implicit.methods.itd import itd, itd_forward
from ns_implicit.methods.nsid import nsid, sid


@dataclass(frozen=True)
class Method:
    """A registered method: ``kind`` is ``implicit``, ``unrolled`` or ``stochastic``;
    ``warm_start``: accepts ``v0``; ``history``: can record its iterates; ``forward``:
    builds one column per hyperparameter (too costly for many hyperparameters)."""

    name: str
    kind: str
    function: Callable
    warm_start: bool = False
    history: bool = False
    forward: bool = False
    summary: str = ""

    def run(self, phi, w, u, *, iters=1000, tol=None, v0=None, history=False):
        """The implicit methods' common call (see the module docstring)."""
        if self.kind != "implicit":
            raise TypeError(f"{self.name} is an {self.kind} method: use the bilevel drivers.")
        if history and not self.history:
            raise ValueError(f"{self.name} has no iterates to record (use history=False).")
        if self.function is exact:
            return exact(phi, w, u)
        kwargs = {"iters": iters, "tol": tol}
        if self.warm_start:
            kwargs["v0"] = v0
        if self.history:
            kwargs["history"] = history
        return self.function(phi, w, u, **kwargs)


METHODS = {m.name: m for m in (
    Method("exact", "implicit", exact,
           summary="direct solve on the selection's row set (the yardstick)"),
    Method("aid-cg", "implicit", aid_cg, warm_start=True, history=True,
           summary="conjugate gradient on the SPD restricted system"),
    Method("aid-fp", "implicit", aid_fp, warm_start=True, history=True,
           summary="fixed-point iteration v <- A^T v + u, eq. (14)"),
    Method("aid-gmres", "implicit", aid_gmres,
           summary="restarted GMRES on the full system (I - A^T) v = u"),
    Method("itd", "unrolled", itd, summary="reverse mode through the stored iterates, eq. (13)"),
    Method("itd-forward", "unrolled", itd_forward, history=True, forward=True,
           summary="forward mode alongside the iterates, eq. (13)"),
    Method("nsid", "stochastic", nsid, history=True,
           summary="stochastic, selection frozen at the averaged point (Algorithm 1)"),
    Method("sid", "stochastic", sid, history=True,
           summary="stochastic, selection at every sample (biased at kinks)"),
)}


def get_method(name, kinds=None):
    """The registered method ``name``, optionally restricted to ``kinds``; a ``ValueError``
    listing the choices otherwise."""
    allowed = [n for n, m in METHODS.items() if kinds is None or m.kind in kinds]
    if name not in allowed:
        raise ValueError(f"method must be one of {', '.join(allowed)}; got {name!r}.")
    return METHODS[name]


def method_names(kinds=None, *, forward=None, warm_start=None):
    """Names of the registered methods, filtered by kind and capabilities."""
    return tuple(n for n, m in METHODS.items()
                 if (kinds is None or m.kind in kinds)
                 and (forward is None or m.forward == forward)
                 and (warm_start is None or m.warm_start == warm_start))
