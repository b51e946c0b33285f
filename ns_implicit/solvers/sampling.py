"""Minibatch index streams and seeded generators for the stochastic methods (docs/theory.md §9, §12.3).

A :class:`BatchStream` deals minibatches of ``b`` row indices out of ``n`` in one of two ways:

``"epoch"`` (default; the paper's data loaders, docs/theory.md §12.3: "shuffled, without replacement
    within an epoch"): each epoch is a fresh uniform permutation of ``0 … n-1`` cut into
    ``⌊n/b⌋`` consecutive blocks of ``b``; when ``b`` does not divide ``n`` the last
    ``n mod b`` indices of each permutation are dropped, so every batch has exactly ``b``
    rows. Marginally each batch is a uniformly random ``b``-subset, so every minibatch mean
    is an unbiased estimate of the full mean (Assumption 5.2); batches within an epoch are
    disjoint, hence dependent (their errors cancel over an epoch).
``"iid"`` (the setting of the theory, Assumption 5.3): every batch is ``b`` rows drawn
    uniformly with replacement, independently of all other batches.

All randomness comes from an explicit :class:`numpy.random.Generator`; :func:`spawn` derives
independent child generators (e.g. NSID's two sample streams) from one parent.
"""

import numbers

import numpy as np

from ns_implicit._validation import check_batch_size, check_positive_int  # noqa: F401 (re-exported)


def as_generator(rng, name="rng"):
    """``rng`` as a :class:`numpy.random.Generator` (an int is a seed); ``None`` is refused."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name} must be a non-negative integer seed; got {rng}.")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be an integer seed or a numpy.random.Generator; got {rng!r}. "
                    f"Pass e.g. {name}=0 or {name}=numpy.random.default_rng(0).")


def spawn(rng, count):
    """``count`` independent generators derived from ``rng`` (advances ``rng`` by one draw)."""
    entropy = as_generator(rng).integers(0, 2**63, size=4).tolist()
    return [np.random.default_rng(child)
            for child in np.random.SeedSequence(entropy).spawn(count)]


SAMPLING = ("epoch", "iid")


class BatchStream:
    """Minibatches of ``batch_size`` indices of ``range(n)`` (``sampling``: see the module docstring).

    ``next()`` returns one batch (int64 array of length ``b``); ``take(k)`` returns the next
    ``k`` batches as a ``(k, b)`` array, the same indices ``k`` calls of ``next()`` give.
    ``batches_drawn`` counts the batches dealt so far.
    """

    def __init__(self, n, batch_size, rng, sampling="epoch"):
        self.n = check_positive_int(n, "n")
        self.batch_size = check_batch_size(batch_size, self.n)
        self.rng = as_generator(rng)
        if sampling not in SAMPLING:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLING)}; got {sampling!r}.")
        self.sampling = sampling
        self.per_epoch = self.n // self.batch_size
        self._epoch = np.empty((0, self.batch_size), dtype=np.int64)
        self._pos = 0
        self.batches_drawn = 0

    def _new_epoch(self):
        perm = self.rng.permutation(self.n)[: self.per_epoch * self.batch_size]
        self._epoch = perm.astype(np.int64, copy=False).reshape(self.per_epoch, self.batch_size)
        self._pos = 0

    def take(self, k):
        """The next ``k`` batches, shape ``(k, batch_size)``."""
        k = check_positive_int(k, "k", minimum=0)
        self.batches_drawn += k
        if self.sampling == "iid":
            return self.rng.integers(0, self.n, size=(k, self.batch_size), dtype=np.int64)
        out = np.empty((k, self.batch_size), dtype=np.int64)
        filled = 0
        while filled < k:
            if self._pos == self._epoch.shape[0]:
                self._new_epoch()
            m = min(k - filled, self._epoch.shape[0] - self._pos)
            out[filled: filled + m] = self._epoch[self._pos: self._pos + m]
            self._pos += m
            filled += m
        return out

    def next(self):
        """The next batch (length ``batch_size``)."""
        return self.take(1)[0]
