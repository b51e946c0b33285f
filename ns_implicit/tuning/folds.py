"""The fold bundles of k-fold cross-validation, docs/theory.md §16.5.

``cross_validation_problems(make_problem, X, y, cv)`` builds one bundle per fold of
``KFold(cv)`` (contiguous folds, no shuffle, as scikit-learn's default). For a dense least-squares
design whose folds use the Gram path, the ``cv`` row blocks' products ``X_jᵀX_j`` are formed
once and each fold's ``XᵀX/n`` is the sum of the other blocks': ``n p²`` operations in all
instead of ``(cv - 1) n p²`` when every fold forms its own.
"""

import inspect

import numpy as np

from ns_implicit._validation import check_positive_int
from ns_implicit.steps.least_squares import gram_matrix, gram_pays
from ns_implicit.tuning.objective import kfold


def _takes_gram(make_problem):
    """Whether the factory has a ``gram`` parameter (the least-squares bundles do)."""
    try:
        return "gram" in inspect.signature(make_problem).parameters
    except (TypeError, ValueError):  # no signature to read: build each fold as asked
        return False


def fold_grams(X, splits):
    """``XᵀX/n`` of every training split of ``splits`` (contiguous validation blocks that
    cover the rows), from the blocks' products ``X_jᵀX_j``."""
    blocks = [gram_matrix(X[va]) for _, va in splits]
    for k, (train, _) in enumerate(splits):
        H = np.zeros_like(blocks[0])
        for j, G in enumerate(blocks):
            if j != k:
                H += G
        yield H / X.dtype.type(len(train))


def cross_validation_problems(make_problem, X, y, cv):
    """The ``cv`` fold bundles ``make_problem(X_train, y_train, X_val, y_val)`` of
    ``KFold(cv)`` without shuffling. When ``make_problem`` takes a ``gram`` keyword (the
    least-squares bundles and their classes do), ``X`` is a dense float array and every
    training split is tall enough for the Gram path (``2p <= n``), it also receives
    ``gram=XᵀX/n`` of its training rows, formed from the shared row blocks (module
    docstring; the bundle checks it against its rows, and centres it for an intercept)."""
    cv = check_positive_int(cv, "cv", minimum=2)
    splits = kfold(X.shape[0], cv)
    share = (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind == "f"
             and _takes_gram(make_problem)
             and gram_pays(min(len(tr) for tr, _ in splits), X.shape[1], False, "bound"))
    if not share:
        return [make_problem(X[tr], y[tr], X[va], y[va]) for tr, va in splits]
    return [make_problem(X[tr], y[tr], X[va], y[va], gram=H)
            for (tr, va), H in zip(splits, fold_grams(X, splits))]
