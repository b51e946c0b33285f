"""The fold bundles of k-fold cross-validation, docs/theory.md §16.5.

``cross_validation_problems(make_problem, X, y, cv)`` builds one bundle per fold of
``KFold(cv)`` (contiguous folds, no shuffle, as scikit-learn's default). For a dense least-squares
design whose folds use the Gram path, the ``cv`` row blocks' products ``X_jᵀX_j`` are formed
once and each fold's ``XᵀX/n`` is the sum of the other blocks': ``n p²`` operations in all
instead of ``(cv - 1) n p²`` when every fold forms its own; the folds' training rows are then
views of one buffer (:func:`rotated_training_rows`).
"""

import inspect

import numpy as np

from ns_implicit._validation import check_positive_int
from ns_implicit.kernels.symmetric import sum_lower_triangles
from ns_implicit.steps.least_squares import gram_blocks, gram_pays
from ns_implicit.tuning.objective import kfold


def _takes_gram(make_problem):
    """Whether the factory has a ``gram`` parameter (the least-squares bundles do)."""
    try:
        return "gram" in inspect.signature(make_problem).parameters
    except (TypeError, ValueError):  # no signature to read: build each fold as asked
        return False


def fold_grams(X, splits):
    """``XᵀX/n`` of every training split of ``splits`` (contiguous validation blocks that
    cover the rows, as :func:`~ns_implicit.tuning.objective.kfold` makes them), from the
    blocks' products ``X_jᵀX_j`` summed in block order."""
    blocks = gram_blocks(X, [slice(va[0], va[-1] + 1) for _, va in splits])
    for k, (train, _) in enumerate(splits):
        H = None  # the previous fold's matrix, released before the next one is allocated
        H = np.empty(blocks.shape[1:], dtype=X.dtype)
        sum_lower_triangles(blocks, k, len(train), H)
        yield H


def rotated_training_rows(X, y, splits):
    """``(X_train, y_train)`` of every split as views of one buffer: the rows of ``X`` followed
    by its first ``K - 2`` blocks, in which the training rows of fold ``k`` — blocks
    ``k + 1, …, K - 1, 0, …, k - 1``, a rotation of their order — are contiguous. One copy of
    about ``1.6 n`` rows (``K = 5``) instead of ``K`` copies of ``(K - 1) n / K`` rows each; the
    fold's problem is the same, its sums run over the rows in the rotated order."""
    K = len(splits)
    starts = [int(va[0]) for _, va in splits]
    extra = starts[K - 2] if K > 2 else 0  # the rows of blocks 0, …, K - 3
    Xb, yb = np.concatenate([X, X[:extra]]), np.concatenate([y, y[:extra]])
    for k, (train, _) in enumerate(splits):
        a = starts[k + 1] if k < K - 1 else 0
        yield Xb[a:a + len(train)], yb[a:a + len(train)]


def cross_validation_problems(make_problem, X, y, cv):
    """The ``cv`` fold bundles ``make_problem(X_train, y_train, X_val, y_val)`` of
    ``KFold(cv)`` without shuffling. When ``make_problem`` takes a ``gram`` keyword (the
    least-squares bundles and their classes do), ``X`` is a dense float array and every
    training split is tall enough for the Gram path (``2p <= n``), it also receives
    ``gram=XᵀX/n`` of its training rows, formed from the shared row blocks (module
    docstring; the bundle checks it against its rows, and centres it for an intercept), and
    the training rows are views of one buffer, in the rotated block order of
    :func:`rotated_training_rows`."""
    cv = check_positive_int(cv, "cv", minimum=2)
    splits = kfold(X.shape[0], cv)
    share = (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind == "f"
             and _takes_gram(make_problem)
             and gram_pays(min(len(tr) for tr, _ in splits), X.shape[1], False, "bound"))
    if not share:
        return [make_problem(X[tr], y[tr], X[va], y[va]) for tr, va in splits]
    y = np.asarray(y)
    problems, grams = [], fold_grams(X, splits)
    for (_, va), (X_tr, y_tr) in zip(splits, rotated_training_rows(X, y, splits)):
        H = next(grams)
        problems.append(make_problem(X_tr, y_tr, X[va[0]:va[-1] + 1], y[va[0]:va[-1] + 1],
                                     gram=H))
        del H  # the bundle keeps its own copy: the next fold's matrix may reuse the memory
    return problems
