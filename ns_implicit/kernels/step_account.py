"""What every compiled operator step reports to the fixed-point solver (docs/theory.md §6)."""

from ns_implicit._jit import njit


@njit
def step_account(new, old, acc, changed):
    """Add ``(new - old)²`` to ``acc`` and note a change of support; returns ``(acc, changed)``."""
    d = float(new) - float(old)
    return acc + d * d, changed or ((new != 0) != (old != 0))
