"""Reproductions of the paper's experiments (THEORY.md §12) with saved, re-plottable results."""
