"""Fixed-point maps ``Φ = G ∘ T`` (docs/theory.md §5, §11, §15): any operator of
:mod:`ns_implicit.operators` after any step of :mod:`ns_implicit.steps`, composed by
:class:`~ns_implicit.maps.composite.CompositeMap`.

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
    ``selection(w, vertex=None) -> Selection``: the oracle of docs/theory.md §7;
    ``selections(w, cap, tie_tol) -> [Selection]``: every vertex at ``w`` (§4);
    ``vjp(w, v) -> (Aᵀv, Bᵀv)`` and ``jvp(w, J) -> A J + B`` for the selection at a trusted
    ``w`` (one step of reverse and forward ITD; a map may fuse them into one kernel).

``Selection`` (one ``(A, B) ∈ D_Φ(w, λ)``, see :mod:`ns_implicit.maps.selection`)
    ``rows`` (the row set ``R`` outside which rows of ``A`` vanish), ``A(x)``, ``AT(v)``,
    ``B(y)``, ``BT(v)``, ``vjp(v) -> (Aᵀv, Bᵀv)``, ``jvp(J) -> A J + B``,
    ``restricted_matrix()`` = dense ``(I - A)[R, R]``, and the tags
    ``spd`` (``(I - A)[R, R]`` symmetric positive definite: Cholesky, CG) and
    ``b_outside_rows`` (rows of ``B`` may be nonzero outside ``R``; §15.2).
"""
