"""A progress bar over the outer loop of :func:`~ns_implicit.tuning.tune` (tqdm, an optional
extra: ``pip install ns_implicit[progress]``).

``progress=None`` (the default) shows it only when tqdm is installed and standard error is a
terminal, so pipes, logs and ``--json`` output never carry it; ``True`` asks for it (an error
naming the fix when tqdm is missing), ``False`` turns it off. The bar writes to standard error
only, never to standard output.
"""

import sys


class _NoBar:
    def update(self, value):
        pass

    def close(self):
        pass


class _Bar:
    def __init__(self, tqdm, total, desc):
        self._bar = tqdm(total=total, desc=desc, unit="eval", file=sys.stderr, leave=False,
                         dynamic_ncols=True)

    def update(self, value):
        self._bar.set_postfix_str(f"loss={value:.6g}", refresh=False)
        self._bar.update(1)

    def close(self):
        self._bar.close()


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def progress_bar(progress, total, desc="tune"):
    """A bar with ``update(value)`` (one evaluation) and ``close()``, or a silent stand-in
    (module docstring for ``progress``)."""
    if progress is not None and not isinstance(progress, bool):
        raise ValueError(f"progress must be None (automatic), True or False; got {progress!r}.")
    if progress is False:
        return _NoBar()
    tqdm = _tqdm()
    if progress is None:
        stream = sys.stderr
        attached = stream is not None and hasattr(stream, "isatty") and stream.isatty()
        return _Bar(tqdm, total, desc) if tqdm is not None and attached else _NoBar()
    if tqdm is None:
        raise ValueError("progress=True draws the bar with tqdm, which is not installed: pip "
                         "install tqdm (or ns_implicit[progress]), or use progress=None/False.")
    return _Bar(tqdm, total, desc)
