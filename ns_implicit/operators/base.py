"""What operators share: the 0/1-diagonal selection and the enumeration of tie vertices
(docs/theory.md §4, §15.4)."""

import itertools
from functools import cached_property

import numpy as np

from ns_implicit.errors import SelectionCapError

#: Default cap on the number of enumerated selections at one point (2**ties).
MAX_SELECTIONS = 4096


def enumerate_ties(base, ties, cap, what="coordinates"):
    """Every 0/1 assignment of ``base[ties]`` (a uint8 mask), the rest of ``base`` fixed.

    Raises :class:`SelectionCapError` when ``2**len(ties) > cap``.
    """
    ties = np.asarray(ties, dtype=np.intp)
    if 2 ** len(ties) > cap:
        raise SelectionCapError(
            f"{len(ties)} {what} of u are exactly at a kink, giving 2**{len(ties)} "
            f"selections, more than cap={cap}; raise cap or perturb lam.")
    out = []
    for bits in itertools.product((0, 1), repeat=len(ties)):
        m = base.copy()
        m[ties] = bits
        out.append(m)
    return out


class Operator:
    """Defaults an operator may inherit: ``check_params`` as given, no tie switch, ``apply``
    from ``value`` and ``value`` from ``apply`` (define at least one: a compiled operator
    defines ``apply``, one fused kernel)."""

    tie_active = False

    def check_params(self, lam_G):
        return lam_G

    def value(self, u, lam_G, gamma):
        """``G(u)`` (a new array), through :meth:`apply`."""
        u = np.ascontiguousarray(u)
        out = np.empty_like(u)
        self.apply(u, lam_G, gamma, u, out)
        return out

    def apply(self, u, lam_G, gamma, w, out):
        """``out = G(u)`` (``out`` may be ``u``); returns ``(‖out - w‖₂, support_changed)``."""
        new = self.value(u, lam_G, gamma)
        changed = bool(np.any((new != 0) != (w != 0)))
        step = float(np.linalg.norm(new - w))
        out[:] = new
        return step, changed


class MaskSelection:
    """A selection whose ``A_G = diag(m)`` with ``m ∈ {0, 1}ᵖ`` (a coordinate projection).

    Subclasses add ``B`` and ``BT`` (the derivative in ``(λ_G, γ)``).
    """

    coordinate_projection = True
    symmetric = True

    def __init__(self, mask, dtype):
        self.mask = np.asarray(mask, dtype=dtype)

    @cached_property
    def rows(self):
        """The active set ``{i : m_i = 1}`` (computed on first use: ITD never needs it)."""
        return np.flatnonzero(self.mask)

    def A(self, x):
        """``A_G x = m ⊙ x``."""
        return self.mask * x

    AT = A  # diagonal

    def block(self):
        """Dense ``A_G[rows, rows]`` = the identity."""
        return np.eye(len(self.rows), dtype=self.mask.dtype)
