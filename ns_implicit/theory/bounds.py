"""The bound curves of Theorem 4.1 (docs/theory.md §8), one formula per function.

Every function takes the constants ``c`` (anything with attributes ``q, L_Phi, nu1, nu2``,
e.g. :class:`~ns_implicit.theory.constants.ElasticNetConstants`) and broadcasts over arrays
of iteration counts. The bounds are statements in the operator norm; a measured Frobenius
excess is larger (see :mod:`ns_implicit.theory.conservative`), so comparing it with these curves
can only over-report violations, never hide one.

Validity (docs/theory.md §8): each bound holds only once the iterates are within ``R`` of ``w*``
(``Δ_s < R``), i.e. after support identification. :func:`support_identified_at` finds
that iteration from measured distances.
"""

import numpy as np


def _first_term_constant(c):
    """``ν₂ + ν₁ L_Φ / (1 - q)`` — the Lipschitz constant of the selections' drift (§8 proof)."""
    return c.nu2 + c.nu1 * c.L_Phi / (1.0 - c.q)


def itd_bound(t, c, delta0):
    """Theorem 4.1 (ITD), docs/theory.md §8, valid when ``Δ_0 < R``:

    ``ex(𝒟_t^ITD, 𝒟_fix) ≤ (ν₂ + ν₁L_Φ/(1-q)) Δ_0 t q^{t-1} + L_Φ/(1-q) q^t``.
    """
    t = np.asarray(t, dtype=np.float64)
    q = c.q
    drift = _first_term_constant(c) * delta0 * t * np.power(q, np.maximum(t - 1.0, 0.0))
    return drift + c.L_Phi / (1.0 - q) * np.power(q, t)


def itd_bound_after_identification(t, t_bar, delta_tbar, c):
    """Theorem 4.1 (ITD, general form), docs/theory.md §8, valid for ``t ≥ t̄`` when ``Δ_s < R`` for
    all ``s ≥ t̄``:

    ``ex(𝒟_t^ITD, 𝒟_fix) ≤ (ν₂ + ν₁L_Φ/(1-q)) Δ_t̄ (t - t̄) q^{t-t̄-1} + 2L_Φ/(1-q) q^{t-t̄}``.

    ``NaN`` for ``t < t̄`` (no bound there).
    """
    t = np.asarray(t, dtype=np.float64)
    s = t - float(t_bar)
    q = c.q
    drift = _first_term_constant(c) * delta_tbar * s * np.power(q, np.maximum(s - 1.0, 0.0))
    bound = drift + 2.0 * c.L_Phi / (1.0 - q) * np.power(q, np.maximum(s, 0.0))
    return np.where(s >= 0, bound, np.nan)


def aid_fp_bound(k, delta_t, c):
    """Theorem 4.1 (AID-FP), docs/theory.md §8, valid when ``Δ_t < R``:

    ``ex(𝒟_{t,k}^AID, 𝒟_imp) ≤ (ν₂/(1-q) + ν₁L_Φ/(1-q)²) Δ_t + L_Φ/(1-q) q^k``.
    """
    k = np.asarray(k, dtype=np.float64)
    q = c.q
    return _first_term_constant(c) / (1.0 - q) * np.asarray(delta_t) + c.L_Phi / (1.0 - q) * np.power(q, k)


def jacobian_norm_bound(c):
    """Lemma 3.2(d), docs/theory.md §6: ``‖J‖ ≤ L_Φ / (1 - q)`` on ``𝒟_fix ⊇ 𝒟_imp``."""
    return c.L_Phi / (1.0 - c.q)


def aid_beats_itd_from(q):
    """docs/theory.md §8 discussion 1: with ``k = t`` the AID-FP bound's first term is below ITD's
    for ``t ≥ q / (1 - q)``."""
    return q / (1.0 - q)


def support_identified_at(deltas, R):
    """First ``t̄`` with ``Δ_s < R`` for every ``s ≥ t̄`` (``None`` if the last one is not).

    ``deltas[s] = ‖w_s - w*‖``. The iterates contract, so this is also the first ``s`` with
    ``Δ_s < R`` up to round-off; taking the last violation keeps it exact.
    """
    deltas = np.asarray(deltas, dtype=np.float64)
    outside = np.flatnonzero(~(deltas < R))
    if len(outside) == 0:
        return 0
    t_bar = int(outside[-1]) + 1
    return t_bar if t_bar < len(deltas) else None
