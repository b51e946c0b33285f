"""Real datasets read from local files (never downloaded)."""

from ns_implicit.data.mnist import MnistSplit, load_mnist, mnist_split

__all__ = ["MnistSplit", "load_mnist", "mnist_split"]
