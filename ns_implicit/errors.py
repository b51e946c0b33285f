"""Exceptions raised by ns_implicit."""


class NotContractiveError(ValueError):
    """The fixed-point map is not a contraction (estimated factor ``q >= 1``).

    Every method of docs/theory.md §7–§9 needs ``q < 1`` (Assumption 3.1): without it the
    fixed point need not be unique and the linear systems ``(I - A) J = B`` need not
    be solvable.
    """


class SelectionCapError(ValueError):
    """An enumeration of selections would exceed the configured cap."""


class NotSymmetricError(ValueError):
    """A method that needs a symmetric positive definite restricted system (AID-CG) was
    asked to run on a selection that is not tagged so (docs/theory.md §15.3)."""


class NonFiniteError(ArithmeticError, ValueError):
    """A computation produced NaN or infinity from finite input (float overflow).

    Raised instead of returning a non-finite result: every
    :class:`~ns_implicit.methods.result.MethodResult`, solve and hypergradient that is
    returned is finite. The usual cause is data whose scale overflows the dtype (entries near
    1e150 squared in float64, 1e19 in float32); rescale (standardise) ``X``, ``y`` and the
    validation data, or compute in float64. It is a ``ValueError`` (bad data) and an
    ``ArithmeticError`` (overflow), so either ``except`` catches it.
    """
