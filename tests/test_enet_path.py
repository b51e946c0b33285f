"""The elastic-net path on a signed support (docs/theory.md §11.2): the closed form
``w_S = (H_SS + λ2 I)⁻¹(b_S - λ1 s)`` is the ISTA fixed point between breakpoints, ties hold
at breakpoints, and the homotopy walk agrees with the local events on the Gram and the
matrix-free paths."""

import numpy as np
import pytest

from ns_implicit.maps.elastic_net import ElasticNetMap
from ns_implicit.theory.enet_path import SupportPath
from ns_implicit.solvers.fixed_point import fixed_point_iteration
from ns_implicit.theory.instances import make_data, path_breakpoints

LAM2 = 0.1
# Round-off allowance: a p <= 8 float64 solve with condition (L + λ2)/(μ + λ2) <= ~1e2 and a
# few products; observed <= ~1e-14 relative, asserted with a wide margin.
RTOL = 1e-10


def _walk(T):
    return list(path_breakpoints(T, LAM2, lam1_stop=-1.0))


def _correlated_data(seed):
    """Columns sharing a strong common factor: a path on which a coordinate leaves (seed 13)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((20, 6))
    X = Z + 1.5 * Z[:, [0]]
    return X, X @ rng.standard_normal(6) + rng.standard_normal(20)


@pytest.fixture(scope="module", params=["paper-0", "paper-1", "correlated-13"])
def emaps(request):
    kind, seed = request.param.split("-")
    X, y = make_data(int(seed), 20, 6) if kind == "paper" else _correlated_data(int(seed))
    return ElasticNetMap(X, y, gram=True), ElasticNetMap(X, y, gram=False)


def test_paths_cover_entering_and_leaving():
    leaves = [j in S for _, S, _, j in _walk(ElasticNetMap(*_correlated_data(13)).T)]
    assert any(leaves) and not all(leaves)


def _segments(walk):
    """``(λ_hi, λ_lo, S, s)``: between consecutive breakpoints the walk's support ``S``."""
    return [(hi[0], lo[0], lo[1], lo[2]) for hi, lo in zip(walk, walk[1:])]


def test_closed_form_is_ista_fixed_point_between_breakpoints(emaps):
    for emap in emaps:
        walk = _walk(emap.T)
        assert len(walk) >= 3, "the instance must have a nontrivial path"
        for hi, lo, S, s in _segments(walk):
            lam1 = 0.5 * (hi + lo)                      # a generic point of the segment
            phi = emap.at([lam1, LAM2])
            path = SupportPath(emap.T, LAM2, S, s)
            w = path.w(lam1)
            assert np.array_equal(np.sign(w[S]), s)    # the signs are consistent
            np.testing.assert_allclose(path.w(hi) - path.w(lo), (hi - lo) * path.direction(),
                                       rtol=RTOL, atol=RTOL * np.abs(path.w(lo)).max())
            assert np.linalg.norm(phi(w) - w) <= RTOL * np.linalg.norm(w)
            # Independent of the path: plain ISTA from zero finds the same signed support.
            solved = fixed_point_iteration(phi, tol=1e-13, max_iter=100_000)
            assert np.array_equal(np.sign(solved.w), np.sign(w))


def test_breakpoints_are_ties(emaps):
    emap = emaps[0]
    for lam1, S, s, j in _walk(emap.T)[:-1]:
        S_at = [i for i in S if i != j]                # a leaving j is still listed in S
        s_at = [si for i, si in zip(S, s) if i != j]
        phi = emap.at([lam1, LAM2])
        w = SupportPath(emap.T, LAM2, S_at, s_at).w(lam1)
        gaps = np.abs(np.abs(phi.inner_point(w)) - phi.tau) / phi.tau
        assert gaps[j] <= RTOL                          # the breakpoint coordinate is tied
        assert np.linalg.norm(phi(w) - w) <= RTOL * np.linalg.norm(phi.inner_point(w))


def test_walk_agrees_with_local_events(emaps):
    gram, free = (_walk(emap.T) for emap in emaps)
    assert [(S, s, j) for _, S, s, j in gram] == [(S, s, j) for _, S, s, j in free]
    np.testing.assert_allclose([b[0] for b in gram], [b[0] for b in free], rtol=RTOL)
    T = emaps[1].T                                      # the matrix-free path
    for k, (hi, lo, S, s) in enumerate(_segments(gram)):
        events = SupportPath(T, LAM2, S, s).breakpoints()
        above = min(e for e in events if e[0] > 0.5 * (hi + lo))
        below = max(e for e in events if e[0] < 0.5 * (hi + lo))
        # The nearest local events on either side are the walk's breakpoints and coordinates.
        assert above[1] == gram[k][3] and above[0] == pytest.approx(hi, rel=RTOL)
        assert below[1] == gram[k + 1][3] and below[0] == pytest.approx(lo, rel=RTOL)


def test_empty_support_and_bad_input():
    X, y = make_data(0, 20, 6)
    T = ElasticNetMap(X, y).T
    path = SupportPath(T, LAM2, [], [])
    b = np.asarray(T.b, np.float64)
    assert np.array_equal(path.w(1.0), np.zeros(T.p))
    assert path.next_breakpoint(np.inf) == (float(np.max(np.abs(b))), int(np.argmax(np.abs(b))))
    with pytest.raises(ValueError, match="same length"):
        SupportPath(T, LAM2, [0, 1], [1.0])
