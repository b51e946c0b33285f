"""The least-squares gradient step ``T``, docs/theory.md §11.2.

``T(w, λ) = w - γ(λ2) (∇f(w) + λ2 w)`` with ``f(w) = ‖Xw - y‖² / (2n)`` and, by default,
the paper's step ``γ(λ2) = 2 / (L + μ + 2 λ2)`` (``L, μ`` the extreme eigenvalues of
``H = XᵀX/n``; ``dγ/dλ2 = -γ²``). A fixed step ``γ`` is the other option.

Two paths compute ``∇f(w)``: a Gram path (``H``, ``b = Xᵀy/n`` formed once, used when
``p <= n``) and a matrix-free path through ``X`` (dense or ``scipy.sparse``).
"""

import numpy as np
import scipy.sparse as sp

from ns_implicit._validation import as_float_array
from ns_implicit.errors import NotContractiveError
from ns_implicit.steps._common import (RidgeLinearization, RidgeWeight, check_design,
                                       check_step_rule)
from ns_implicit.kernels.spectrum import norm_sums
from ns_implicit.kernels.symmetric import max_abs_column_sum, sum_lower_triangles, symmetrize
from ns_implicit.kernels.least_squares import (gather_block, gram_linearize, gram_matvec,
                                               gram_soft_threshold_jvp,
                                               gram_soft_threshold_step,
                                               gram_soft_threshold_vjp, gram_step_jvp,
                                               gram_step_value)

# Largest p for which the spectrum is taken from a dense eigen-decomposition.
_DENSE_SPECTRUM_MAX = 3000
#: ``spectrum="auto"`` takes the exact spectrum up to this ``p``.
_AUTO_EXACT_MAX = 128
#: Lanczos steps and independent runs of the certified bound, and the failure probability it
#: is certified at.
_LANCZOS_STEPS = 20
_LANCZOS_RUNS = 1
_LANCZOS_DELTA = 1e-6
SPECTRUM_RULES = ("auto", "exact", "bound")


def _extreme_eigenvalues(X, H):
    """``(L, μ)`` of ``H = XᵀX/n``; ``μ = 0`` when ``p > n`` (docs/theory.md §11.2, `compute_L_mu`)."""
    n, p = X.shape
    if H is not None:
        ev = np.linalg.eigvalsh(H.astype(np.float64))
        return float(ev[-1]), float(max(ev[0], 0.0))
    if min(n, p) <= _DENSE_SPECTRUM_MAX:
        small = X @ X.T if n < p else X.T @ X  # sparse X: a sparse product, never a dense X
        small = small.toarray() if sp.issparse(small) else small
        ev = np.linalg.eigvalsh(np.asarray(small, dtype=np.float64)) / n
        mu = float(max(ev[0], 0.0)) if n >= p else 0.0
        return float(ev[-1]), mu
    import scipy.sparse.linalg  # only for very large p and n: kept out of `import ns_implicit`

    op = scipy.sparse.linalg.LinearOperator(
        (p, p), matvec=lambda v: X.T @ (X @ v) / n, dtype=np.float64)
    L = scipy.sparse.linalg.eigsh(op, k=1, which="LA", return_eigenvectors=False)[0]
    # μ = 0 is a valid lower bound: the step stays contractive (q < 1 whenever λ2 > 0).
    return float(L), 0.0


def rigorous_cap(X):
    """``min(‖X‖_F², ‖X‖_1 ‖X‖_∞) / n >= λ_max(XᵀX/n)`` (docs/theory.md §16.1): one pass over
    ``X``, never below the top eigenvalue (``‖X‖_2² <= ‖X‖_1‖X‖_∞`` and ``<= ‖X‖_F²``)."""
    n = X.shape[0]
    if sp.issparse(X):  # from the stored entries: no copy of the matrix
        X = X.tocsr()
        a = np.abs(X.data).astype(np.float64)
        fro = float(a @ a)
        col = float(np.max(np.bincount(X.indices, weights=a, minlength=X.shape[1])))
        row = float(np.max(np.diff(np.concatenate(([0.0], np.cumsum(a)))[X.indptr])))
    else:
        fro, col, row = norm_sums(np.ascontiguousarray(X))
    return min(fro, col * row) * (1.0 + 1e-6) / n  # covers the float64 sums' round-off


def lanczos_top(matvec, dim, steps, rng, runs=1):
    """``(θ, exhausted, k)``: the largest top Ritz value over ``runs`` independent Lanczos
    runs of ``k <= steps`` steps (full reorthogonalisation, float64), each from a uniformly
    random unit vector, advanced together (``matvec`` maps a ``dim × runs`` block, one pass
    over the data per step); ``exhausted``: the Krylov spaces became invariant (then ``θ`` is
    the top eigenvalue of ``H`` on the space spanned by the starts)."""
    steps = int(min(steps, dim))
    Q = np.empty((steps, runs, dim))
    alpha, beta = np.zeros((steps, runs)), np.zeros((steps, runs))
    q = rng.standard_normal((runs, dim))
    q /= np.linalg.norm(q, axis=1)[:, None]
    exhausted = False
    k = 0
    for k in range(steps):
        Q[k] = q
        z = np.asarray(matvec(q.T), dtype=np.float64).T       # (runs, dim)
        alpha[k] = np.einsum("rd,rd->r", q, z)
        basis = Q[:k + 1]                                      # (k+1, runs, dim)
        for _ in range(2):  # full reorthogonalisation of each run against its own basis
            if runs == 1:  # two BLAS products
                B = basis[:, 0, :]
                z[0] -= B.T @ (B @ z[0])
            else:
                z -= np.einsum("krd,kr->rd", basis, np.einsum("krd,rd->kr", basis, z))
        b = np.linalg.norm(z, axis=1)
        beta[k] = b
        if np.all(b <= 1e-12 * np.maximum(np.abs(alpha[k]), 1e-300)) or k == dim - 1:
            exhausted = True
            break
        q = z / np.maximum(b, 1e-300)[:, None]
    m = k + 1
    theta = -np.inf
    for r in range(runs):
        T = np.diag(alpha[:m, r]) + np.diag(beta[:m - 1, r], 1) + np.diag(beta[:m - 1, r], -1)
        theta = max(theta, float(np.linalg.eigvalsh(T)[-1]))
    return theta, exhausted, m


def certified_upper_bound(X, H, *, steps=_LANCZOS_STEPS, runs=_LANCZOS_RUNS,
                          delta=_LANCZOS_DELTA, seed=0):
    """``L̂ >= λ_max(H)`` for ``H = XᵀX/n`` (or the formed ``H``), docs/theory.md §16.1.

    ``L̂ = min(cap, θ / (1 - ε))`` with ``θ`` the largest top Ritz value of ``runs``
    independent ``k``-step Lanczos runs from random starts and ``ε`` from the
    Kuczyński–Woźniakowski tail for one run on a positive semidefinite matrix,
    ``P(θ_k < (1 - ε) λ_max) <= 1.648 √d e^{-√ε (2k - 1)}``, raised to the power ``runs``
    (independent runs all fail together) and set to ``δ``; ``cap`` the rigorous
    :func:`rigorous_cap`. When the Krylov spaces are exhausted ``θ`` is the top eigenvalue up
    to round-off and ``L̂ = θ (1 + 1e-10·d)``. Returns ``(L̂, θ)``.
    """
    n, p = X.shape
    rng = np.random.default_rng(seed)
    if H is not None:
        dim, matvec = p, (lambda V: H.astype(np.float64, copy=False) @ V)
    elif n < p:   # the same nonzero spectrum, on the smaller side: X Xᵀ / n
        dim, matvec = n, (lambda V: X @ (X.T @ V) / n)
    else:
        dim, matvec = p, (lambda V: X.T @ (X @ V) / n)
    cap = rigorous_cap(X) if H is None else max_abs_column_sum(H)
    theta, exhausted, k = lanczos_top(matvec, dim, steps, rng, runs)
    if exhausted:
        return min(cap, theta * (1.0 + 1e-10 * dim) + 1e-300), theta
    root_eps = (np.log(1.648 * np.sqrt(dim)) + np.log(1.0 / delta) / runs) / (2 * k - 1)
    if root_eps >= 1.0:
        return cap, theta
    return min(cap, theta / (1.0 - root_eps ** 2)), theta


def gram_pays(n, p, sparse, spectrum):
    """Whether ``gram="auto"`` forms ``H = XᵀX/n`` (docs/theory.md §16.1): a dense ``X`` with
    ``2p <= n`` under the ``bound`` spectrum, ``p <= n`` under ``exact``."""
    if sparse:
        return False
    return p <= n if spectrum == "exact" else 2 * p <= n


def gram_blocks(X, rows):
    """``(K, p, p)`` array whose ``b``-th lower triangle holds ``X[rows[b]]ᵀ X[rows[b]]`` (the
    upper triangles are left zero), each from BLAS ``syrk``, which forms one triangle (half of
    a general product's operations) in place; ``rows``: slices or index arrays of a dense
    ``X``. :func:`~ns_implicit.kernels.symmetric.sum_lower_triangles` turns them into
    exactly symmetric Gram matrices."""
    from scipy.linalg.blas import get_blas_funcs

    p = X.shape[1]
    blocks = np.zeros((len(rows), p, p), dtype=X.dtype)
    syrk = get_blas_funcs("syrk", (X,))
    for b, r in enumerate(rows):
        Xb = X[r]
        Xt = Xb.T if Xb.flags.c_contiguous else np.asfortranarray(Xb).T  # (p, n), Fortran
        c = blocks[b].T  # Fortran order: its upper triangle is the block's lower one
        out = syrk(1.0, Xt, beta=0.0, c=c, trans=0, lower=0, overwrite_c=1)
        if not np.shares_memory(out, c):  # a BLAS wrapper that copied: write it back
            c[...] = np.triu(out)
    return blocks


def gram_matrix(X):
    """``XᵀX`` (not divided by ``n``), exactly symmetric. A dense ``X`` goes through BLAS
    ``syrk`` (:func:`gram_blocks`), mirrored; a sparse one through its sparse product."""
    if sp.issparse(X):
        G = X.T @ X
        G = G.toarray() if sp.issparse(G) else np.asarray(G)
        return 0.5 * (G + G.T)
    G = np.empty((X.shape[1], X.shape[1]), dtype=X.dtype)
    sum_lower_triangles(gram_blocks(X, [slice(None)]), -1, 1, G)
    return G


def checked_gram(X, H, n, offset=None):
    """A precomputed Gram matrix ``H = XᵀX/n`` of ``X`` (``gram=`` an array; docs/theory.md
    §16.5), symmetrised, in ``X``'s dtype; with ``offset = x̄``, that of the centred design,
    ``(H + Hᵀ)/2 - x̄x̄ᵀ``, formed in the same pass.

    One product of the symmetrised ``H`` with a seeded random probe ``v`` must agree with
    ``Xᵀ(Xv)/n`` within ``8 γ_n ‖X‖_F² ‖v‖ / n`` (``γ_n = nε/(1 - nε)``): the componentwise
    round-off bound ``|fl(XᵀX) - XᵀX| <= γ_n |X|ᵀ|X|`` of the given ``H`` and of the probe's
    two products, doubled, each at most ``γ_n ‖X‖_F²``. With ``offset`` both sides are those of
    the centred design (its products with ``v`` through ``X`` and ``x̄``) and ``‖X‖_F²`` is that
    of the design given, ``‖X - 1x̄ᵀ‖_F² + n‖x̄‖²``, which bounds the centring's terms too. A
    Gram matrix of other data (another fold, the uncentred design) fails it by orders of
    magnitude."""
    p = X.shape[1]
    if not isinstance(H, np.ndarray) or H.ndim != 2 or H.shape != (p, p):
        raise ValueError(f"gram must be \"auto\", True, False or the ({p}, {p}) array X^T X / n; "
                         f"got {type(H).__name__}{getattr(H, 'shape', '')}.")
    out = np.empty((p, p), dtype=X.dtype)
    if not (np.issubdtype(H.dtype, np.floating) and symmetrize(
            np.asarray(H, dtype=X.dtype), np.zeros(p, dtype=X.dtype) if offset is None
            else offset, out)):
        raise ValueError(f"gram must be a finite real (p, p) array X^T X / n; got dtype "
                         f"{H.dtype} with non-real or non-finite entries.")
    eps = float(np.finfo(X.dtype).eps)
    gamma_n = n * eps / max(1.0 - n * eps, 1e-300)
    if sp.issparse(X):
        fro = float(np.sum(np.asarray(X.data, dtype=np.float64) ** 2))
    else:
        fro = float(np.einsum("ij,ij->", X, X, dtype=np.float64))
    v = np.random.default_rng(0).standard_normal(p).astype(X.dtype)
    Xv = np.asarray(X @ v).ravel()
    direct = np.asarray(X.T @ Xv, dtype=np.float64).ravel()
    if offset is not None:  # X_cᵀ(X v) = X_cᵀ(X_c v), since X_cᵀ1 = 0; X_cᵀu = Xᵀu - x̄(1ᵀu)
        direct = direct - np.asarray(offset, dtype=np.float64) * float(Xv.sum())
    direct /= n
    gap = float(np.linalg.norm(np.asarray(out, dtype=np.float64) @ v - direct))
    allowed = 8.0 * gamma_n * fro / n * float(np.linalg.norm(v))
    if not gap <= allowed:
        raise ValueError(f"gram is not X^T X / n of this X: a random probe differs by {gap:.3g} "
                         f"(round-off allows {allowed:.3g}); pass the Gram matrix of the design "
                         "given (after any centring), or gram=\"auto\" to form it.")
    return out


def _check_offset(offset, X):
    """``offset`` as a finite ``(p,)`` array of ``X``'s dtype (None stays None); a sparse ``X``
    cannot be centred without becoming dense."""
    if offset is None:
        return None
    if sp.issparse(X):
        raise ValueError("offset needs a dense X: centring a scipy.sparse design would make it "
                         "dense; pass X.toarray(), or offset=None.")
    offset = as_float_array(offset, "offset", ndim=1, dtype=X.dtype)
    if offset.shape[0] != X.shape[1]:
        raise ValueError(f"offset must hold one entry per column of X ({X.shape[1]}); got "
                         f"{offset.shape[0]}.")
    return offset


def _keeps_digits(H, offset):
    """Whether the centred Gram matrix ``H = XᵀX/n - x̄x̄ᵀ`` keeps its digits: ``‖x̄‖²`` at most
    its trace (docs/theory.md §16.5); beyond, the subtraction cancelled more digits than it
    kept, and ``H`` is formed from the centred rows instead."""
    return float(offset @ offset) <= float(np.trace(H))


def _spectrum(X, H, rule):
    """``(L, μ, exact)`` by ``rule`` (docs/theory.md §16.1): ``exact`` the extreme eigenvalues;
    ``bound`` the certified upper bound and ``μ = 0`` (exact when ``p > n``, a valid lower
    bound otherwise)."""
    if rule == "exact":
        L, mu = _extreme_eigenvalues(X, H)
        return L, mu, True
    L, _ = certified_upper_bound(X, H)
    return L, 0.0, False


class LeastSquaresStep(RidgeWeight):
    """Inner map ``T`` of the elastic net (docs/theory.md §11.2): a gradient step on
    ``‖Xw - y‖²/(2n) + (λ2/2)‖w‖²``.

    Parameters
    ----------
    X : (n, p) array or scipy.sparse matrix
        Training design; float32 or float64 (the dtype is kept).
    y : (n,) array
        Training targets.
    step : "paper" or float
        ``"paper"``: ``γ(λ2) = 2/(L + μ + 2λ2)`` (γ depends on λ2 and is differentiated
        through). A float: a fixed step, which must satisfy ``0 < γ < 2/(L + λ2)``.
        ``"lipschitz"``: ``γ(λ2) = 1/(L + λ2)`` (derivative ``-γ²``), the step that keeps the
        map averaged when ``μ + λ2 = 0`` (the lasso with ``p > n``, docs/theory.md §15.6).
    gram : "auto", True, False or a (p, p) array
        Use the Gram matrix ``H = XᵀX/n`` (``auto``: X dense and ``2p <= n``, where forming
        ``H`` pays; with the exact spectrum: X dense and ``p <= n``). An array: ``H`` itself,
        precomputed (cross-validation folds share their row blocks' products,
        docs/theory.md §16.5); checked against ``X`` by a random probe (:func:`checked_gram`).
        With ``offset``, the ``XᵀX/n`` of the ``X`` given, centred here.
    spectrum : "auto", "exact" or "bound" (docs/theory.md §16.1)
        ``exact``: the extreme eigenvalues ``L, μ`` of ``H`` (the paper reproductions).
        ``bound``: a certified upper bound ``L̂ >= L`` from a few Lanczos steps, and
        ``μ = 0`` (exact when ``p > n``, a lower bound otherwise). ``auto``: ``exact`` when
        ``p <= 128`` (cheaper than Lanczos there; the set-up of earlier releases), ``bound``
        otherwise. The fixed point, hence
        every implicit hypergradient, does not depend on the step; only ITD's iterates do.
    lam2 : None or float >= 0
        None: the ridge weight ``λ2`` is the step's hyperparameter, ``λ_T = (λ2,)``. A number:
        ``λ2`` fixed (``λ_T = ()``; ``lam2=0`` is the lasso).

    offset : None or (p,) array
        The design is ``X - 1 offsetᵀ`` (an intercept's centring by the training means,
        docs/theory.md §16.5): ``b`` and a given Gram matrix are corrected for it and the
        centred rows are formed only when a path reads them (the matrix-free products, the
        minibatch oracle, a Gram matrix formed here), so a step on a given ``H`` keeps no
        copy of the design. Dense ``X`` only.

    ``at(λ_T)`` gives the step at one ``λ2`` (the smooth-step protocol of
    :mod:`ns_implicit.steps`). When ``μ + λ2 = 0`` and the step is short enough
    (``γ (L + λ2) < 2``) the step is accepted with ``q = 1``: not a contraction, but
    nonexpansive and averaged, so the fixed-point iteration converges; the methods then rely
    on the contraction on the identified support (docs/theory.md §15.6).
    """

    def __init__(self, X, y, step="paper", gram="auto", lam2=None, spectrum="auto",
                 offset=None):
        X, y, n, p = check_design(X, y)
        self.fixed_step, self.step_rule = check_step_rule(step, ("paper", "lipschitz"))
        self._init_ridge(lam2)
        if not isinstance(spectrum, str) or spectrum not in SPECTRUM_RULES:
            raise ValueError(f"spectrum must be one of {', '.join(map(repr, SPECTRUM_RULES))}; "
                             f"got {spectrum!r}.")
        if spectrum == "auto":  # small p: the exact spectrum is cheaper than Lanczos
            spectrum = "exact" if p <= _AUTO_EXACT_MAX else "bound"
        self.offset = _check_offset(offset, X)
        precomputed = (checked_gram(X, gram, n, self.offset) if isinstance(gram, np.ndarray)
                       else None)
        if isinstance(gram, str) and gram == "auto":
            gram = gram_pays(n, p, sp.issparse(X), spectrum)
        self._rows, self._centred = X, None
        self.y, self.n, self.p = y, n, p
        self.dtype = X.dtype
        if (precomputed is not None and self.offset is not None
                and not _keeps_digits(precomputed, self.offset)):
            precomputed, gram = None, True  # formed below, from the centred rows
        if precomputed is not None:
            self.H = precomputed
        elif gram:
            # exactly symmetric: the Gram kernel reads row j of H as column j
            self.H = np.ascontiguousarray(gram_matrix(self.X) / n, dtype=self.dtype)
        else:
            self.H = None
        b = np.asarray(X.T @ y).ravel()
        if self.offset is not None:  # (X - 1 x̄ᵀ)ᵀ y = Xᵀy - x̄ (1ᵀy)
            b = b - self.offset * y.sum()
        self.b = np.ascontiguousarray(b / n, dtype=self.dtype)
        self.spectrum = spectrum
        # with H formed, the spectrum reads H and the design's shape only
        self.L, self.mu, self.spectrum_exact = _spectrum(X if self.H is not None else self.X,
                                                         self.H, spectrum)
        #: the design in coordinate descent's layout, built by the solver on first use and
        #: kept for every λ (:mod:`ns_implicit.solvers.coordinate_descent`)
        self.cd_layout = None

    @property
    def X(self):
        """The design ``X - 1 offsetᵀ`` (``X`` itself without ``offset``), formed on first use:
        on the Gram path with a given ``H`` nothing reads it (docs/theory.md §16.5)."""
        if self.offset is None:
            return self._rows
        if self._centred is None:
            self._centred = self._rows - self.offset
        return self._centred

    # -- step size and contraction (docs/theory.md §11.2) ---------------------------------
    def step_size(self, lam2):
        """``(γ, dγ/dλ2)``: the paper's ``2/(L + μ + 2λ2)`` or ``1/(L + λ2)``, both with
        derivative ``-γ²`` (0 when ``λ2`` is fixed), or the fixed step."""
        if self.fixed_step is not None:
            return self.fixed_step, 0.0
        if self.step_rule == "paper":
            gamma = 2.0 / (self.L + self.mu + 2.0 * lam2)
        else:
            gamma = 1.0 / (self.L + lam2)
        return gamma, (-gamma * gamma if self.fixed_lam2 is None else 0.0)

    def contraction_factor(self, lam2):
        """``q = ‖I - γ(H + λ2 I)‖ = max(|1 - γ(L + λ2)|, |1 - γ(μ + λ2)|)``."""
        gamma, _ = self.step_size(lam2)
        return max(abs(1.0 - gamma * (self.L + lam2)), abs(1.0 - gamma * (self.mu + lam2)))

    # -- the smooth part -------------------------------------------------------
    def gradient(self, w):
        """``∇f(w) = Xᵀ(Xw - y)/n`` (``H w - b`` on the Gram path)."""
        if self.H is not None:
            return self._gram_product(w) - self.b
        return np.asarray(self.X.T @ (self.X @ w - self.y)).ravel() / self.dtype.type(self.n)

    def hessian_vector(self, v):
        """``H v = XᵀX v / n``."""
        if self.H is not None:
            return self._gram_product(v)
        return np.asarray(self.X.T @ (self.X @ v)).ravel() / self.dtype.type(self.n)

    def _gram_product(self, v):
        """``H v`` on the Gram path: the sparse-aware kernel (cost ``p · nnz(v)``) for a
        vector of the step's dtype (a strided one, e.g. a column of ``J``, is copied
        first), a BLAS product otherwise."""
        if v.ndim == 1 and v.dtype == self.dtype:
            v = np.ascontiguousarray(v)
            out = np.empty_like(v)
            gram_matvec(self.H, v, out)
            return out
        return self.H @ v

    def hessian_block(self, S):
        """Dense ``H[S, S]`` for an index array ``S``."""
        if self.H is not None:
            if isinstance(S, np.ndarray) and S.ndim == 1 and S.dtype == np.intp:
                out = np.empty((S.shape[0], S.shape[0]), dtype=self.dtype)
                if gather_block(self.H, S, out):
                    return out
            return self.H[S][:, S]  # rows first: contiguous copies, then one small gather
        XS = self.X[:, S]
        if sp.issparse(XS):  # the sparse product first: never a dense n × |S| copy
            return np.asarray((XS.T @ XS).toarray(), dtype=self.dtype) / self.dtype.type(self.n)
        return (XS.T @ XS) / self.dtype.type(self.n)

    def restricted_hessian(self, S):
        """``x_S ↦ H[S, S] x_S`` through the columns ``S`` only (docs/theory.md §15.2): the
        block ``H[S, S]`` on the Gram path; for a sparse design the sparse ``X_SᵀX_S/n``
        (a product costs its nonzeros, instead of two passes over the whole design); for a
        dense one ``X_Sᵀ(X_S x)/n`` with ``X_S`` gathered once (``2n|S|`` instead of
        ``2np``)."""
        if self.H is not None:
            HS = self.hessian_block(S)
            return lambda x: HS @ x
        XS = self.X[:, S]
        n = self.dtype.type(self.n)
        if sp.issparse(XS):
            HS = (XS.T @ XS).tocsr() / n
            return lambda x: np.asarray(HS @ x).ravel()
        return lambda x: np.asarray(XS.T @ (XS @ x)).ravel() / n

    @property
    def dim(self):
        return self.p

    def check_params(self, lam_T):
        """``λ_T = (λ2,)`` (validated by the map: finite, >= 0)."""
        return lam_T

    def minibatch(self, batch_size):
        """The minibatch oracle ``T̂`` of this step (NSID/SID, the stochastic solver)."""
        from ns_implicit.steps.minibatch_least_squares import MinibatchLeastSquares

        return MinibatchLeastSquares(self, batch_size)

    def at(self, lam_T):
        """The step at ``λ_T = (λ2,)``; raises :class:`NotContractiveError` when ``q >= 1``."""
        return LeastSquaresStepAt(self, lam_T)

    def linearize(self, w, lam_T):
        """The value ``u = T(w, λ2)`` and the products of ``∂_wT``, ``∂_λ2T`` at ``(w, λ2)``."""
        return LeastSquaresLinearization(self, w, self.ridge(lam_T))


def _short_step(step, gamma, lam2):
    """``γ(L + λ2) < 2`` (the step keeps ``T`` averaged), decided by the step rule where the
    product sits on the boundary: ``1/(L + λ2)`` always is; the paper's ``2/(L + μ + 2λ2)``
    needs ``μ + λ2 > 0`` (at ``μ + λ2 = 0`` the product is exactly 2, and comparing its rounded
    value with 2 would depend on the last bit of ``L``) and, as a fixed step, the rounded
    product below 2 (with ``μ + λ2`` below the round-off of ``L`` it rounds to 2: refused); a
    fixed step is compared."""
    if step.fixed_step is not None:
        return gamma * (step.L + lam2) < 2.0
    if step.step_rule == "lipschitz":
        return True
    return step.mu + lam2 > 0.0 and gamma * (step.L + lam2) < 2.0


class LeastSquaresStepAt:
    """``T(·, λ2)`` at one ``λ2``: step size, contraction factor, evaluation, linearization."""

    def __init__(self, step, lam_T):
        self.step = step
        self.lam = lam_T
        lam2 = float(step.ridge(lam_T))
        if step.L + lam2 == 0.0:  # X = 0 and λ2 = 0: both the paper's step and q divide by zero
            raise NotContractiveError(
                f"the least-squares step is not a contraction at lam2={lam2}: X is identically "
                "zero (L = 0) and lam2 = 0, so the data term is constant; use lam2 > 0.")
        self.q = step.contraction_factor(lam2)
        gamma, dgamma = step.step_size(lam2)
        #: nonexpansive and averaged, not contractive: γ(L + λ2) < 2 and μ + λ2 = 0, or a
        #: μ + λ2 so small that q rounds to 1 (a centred square design: μ ~ 1e-17) (§15.6)
        self.averaged = (_short_step(step, gamma, lam2)
                         and (step.mu + lam2 == 0.0 or not self.q < 1.0))
        if self.averaged:
            self.q = 1.0
        elif not self.q < 1.0:
            if step.fixed_step is not None:
                fix = (f"use a step in (0, 2/(L + lam2)) = (0, {2.0 / (step.L + lam2):.6g}) "
                       "or step='paper'")
            else:
                fix = ("use lam2 > 0 (the data term is not strongly convex: mu = 0), or "
                       "step='lipschitz' for the lasso")
                if not step.spectrum_exact and step.n > step.p:
                    fix += (", or spectrum='exact' (mu = 0 is only a lower bound under "
                            "spectrum='bound', docs/theory.md §16.1)")
            raise NotContractiveError(
                f"the least-squares step is not a contraction at lam2={lam2}: q = {self.q:.6g} "
                f">= 1 (L = {step.L:.6g}, mu = {step.mu:.6g}, step = {gamma:.6g}); {fix}.")
        self.gamma = step.dtype.type(gamma)
        self.lam2 = step.ridge(lam_T)
        self.dgamma = np.array([dgamma]) if dgamma != 0.0 else None
        self._lam2 = step.dtype.type(lam2)  # the kernels' argument, converted once
        self._constants = _constants(step, self.lam2)

    def _on_gram_path(self, w):
        s = self.step
        return s.H is not None and w.dtype == s.dtype and w.flags.c_contiguous

    def evaluate(self, w, out):
        """``out = T(w, λ2)``."""
        s = self.step
        if self._on_gram_path(w):
            gram_step_value(s.H, s.b, w, self._lam2, self.gamma, out)
        else:
            out[:] = w - self.gamma * (s.gradient(w) + self.lam2 * w)

    def soft_threshold_step(self, w, tau, out):
        """``out = S_τ(T(w))`` in one compiled call on the Gram path (None elsewhere): the fast
        path a composite with soft-thresholding uses; same result as evaluate-then-threshold."""
        if self._on_gram_path(w):
            s = self.step
            return gram_soft_threshold_step(s.H, s.b, w, self._lam2, self.gamma, tau, out)
        return None

    def _fused_args(self, w, *arrays):
        """``(H, b, w, λ2, γ, dγ)`` for a fused Gram kernel, or None off the Gram path (or when
        an array is not of the step's dtype and C-contiguous)."""
        gamma, dgamma, gram_lam2 = self._constants
        if gram_lam2 is None or not all(self._on_gram_path(a) for a in (w,) + arrays):
            return None
        return self.step.H, self.step.b, w, gram_lam2, gamma, dgamma

    def soft_threshold_vjp(self, w, tau, tie_active, v):
        """Transpose products of the selection of ``S_τ ∘ T`` at ``w`` in one compiled call on
        the Gram path (None elsewhere): ``(Aᵀ v, <m ⊙ s, v>, ∂_λTᵀ (m ⊙ v))``."""
        args = self._fused_args(w, v)
        if args is None:
            return None
        out = np.empty_like(v)
        c_sign, c_T = gram_soft_threshold_vjp(*args, tau, tie_active, v, out)
        return out, c_sign, np.full(self.step.n_params, c_T, dtype=v.dtype)

    def soft_threshold_jvp(self, w, tau, tie_active, J):
        """Forward products of the selection of ``S_τ ∘ T`` at ``w`` (Gram path, else None):
        ``(m ⊙ ∂_wT J, m ⊙ sign(u), m ⊙ ∂_λT)`` for a ``p × k`` matrix ``J``."""
        args = self._fused_args(w)
        if args is None or J.dtype != w.dtype:
            return None
        out, signed, dT = np.empty_like(J), np.empty_like(w), np.empty_like(w)
        gram_soft_threshold_jvp(*args, tau, tie_active, J, out, signed, dT)
        return out, signed, dT[:, None][:, :self.step.n_params]

    def linearize(self, w):
        return LeastSquaresLinearization(self.step, w, self.lam2, self._constants)


def _constants(step, lam2):
    """``(γ, dγ/dλ2, λ2 for the Gram kernels or None)`` in the step's dtype.

    The fused Gram kernels apply when λ2 does not promote the step's dtype: a NumPy scalar of
    that dtype, or a Python number (a "weak" scalar).
    """
    gamma, dgamma = step.step_size(float(lam2))
    lam2_dtype = getattr(lam2, "dtype", None)
    keeps_dtype = (lam2_dtype == step.dtype if lam2_dtype is not None
                   else isinstance(lam2, (int, float)))
    gram_lam2 = step.dtype.type(lam2) if step.H is not None and keeps_dtype else None
    return step.dtype.type(gamma), step.dtype.type(dgamma), gram_lam2


class LeastSquaresLinearization(RidgeLinearization):
    """``T`` and its derivatives at one point ``(w, λ)``.

    ``∂_wT = I - γ(H + λ2 I)`` (symmetric);
    ``∂_λ2 T = -γ w - (dγ/dλ2) (∇f(w) + λ2 w)``.
    """

    def __init__(self, step, w, lam2, constants=None):
        self.step = step
        self.lam2 = lam2
        if constants is None:
            constants = _constants(step, lam2)
        self.gamma, self.dgamma, self._gram_lam2 = constants  # per λ2, not per point
        if self._gram_lam2 is not None and w.ndim == 1 and w.dtype == step.dtype:
            w = np.ascontiguousarray(w)
            self.value, self.dT_dlam2 = np.empty_like(w), np.empty_like(w)
            gram_linearize(step.H, step.b, w, self._gram_lam2, self.gamma, self.dgamma,
                           self.value, self.dT_dlam2)
            return
        grad = step.gradient(w) + self.lam2 * w
        self.value = w - self.gamma * grad
        self.dT_dlam2 = -self.gamma * w - self.dgamma * grad

    def jvp_w(self, x):
        """``∂_wT x = x - γ(H x + λ2 x)``."""
        if self._gram_lam2 is not None and x.ndim == 1 and x.dtype == self.step.dtype:
            x = np.ascontiguousarray(x)  # a column of J in forward mode is strided
            out = np.empty_like(x)
            gram_step_jvp(self.step.H, x, self._gram_lam2, self.gamma, out)
            return out
        return x - self.gamma * (self.step.hessian_vector(x) + self.lam2 * x)

    vjp_w = jvp_w  # ∂_wT is symmetric

    def restricted_jvp_w(self, S):
        """``x_S ↦ (∂_wT)[S, S] x_S = x_S - γ(H[S, S] x_S + λ2 x_S)`` as a function of
        ``|S|``-vectors (:meth:`LeastSquaresStep.restricted_hessian`)."""
        product = self.step.restricted_hessian(S)
        gamma, lam2 = self.gamma, self.lam2
        return lambda x: (x - gamma * (product(x) + lam2 * x)).astype(x.dtype, copy=False)

    def jac_w_block(self, S):
        """Dense ``(∂_wT)[S, S] = I - γ(H[S, S] + λ2 I)``."""
        block = self.step.hessian_block(S)  # a fresh array: scaled in place
        block *= -self.gamma
        block.flat[::block.shape[0] + 1] += 1.0 - self.gamma * self.lam2  # the diagonal
        return block
