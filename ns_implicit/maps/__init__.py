"""Fixed-point maps ``Φ = G ∘ T`` (docs/theory.md §5, §11).

The protocol every map follows (the methods in :mod:`ns_implicit.methods` rely on it
and on nothing else):

``Map``
    ``dim`` (length of the flat variable ``w``), ``n_hyper`` (length of ``λ``),
    ``dtype``, and ``at(lam) -> MapAt`` which validates ``λ`` and raises
    :class:`~ns_implicit.errors.NotContractiveError` when the contraction factor is ``>= 1``.

``MapAt`` (``Φ(·, λ)`` for one ``λ``)
    ``dim``, ``n_hyper``, ``dtype``, ``lam``, ``q`` (contraction factor);
    ``check_point(w, name) -> w`` (validated, the map's dtype);
    ``advance(w, out) -> (‖out - w‖, support_changed)`` writes ``Φ(w, λ)`` into ``out``;
    ``__call__(w) -> Φ(w, λ)``;
    ``selection(w, mask=None) -> Selection``: the oracle of docs/theory.md §7.

``Selection`` (one ``(A, B) ∈ D_Φ(w, λ)``, see :mod:`ns_implicit.maps.selection`)
    ``active`` (indices where rows of ``A``, ``B`` may be nonzero), ``A(x)``, ``AT(v)``,
    ``B(y)``, ``BT(v)``, and ``restricted_matrix()`` = dense ``(I - A)[S, S]``
    (needed by :func:`~ns_implicit.methods.exact.exact` only).
"""
