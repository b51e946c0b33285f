"""Numba kernels on plain arrays (bottom layer; knows nothing of the layers above)."""
