"""Reproductions of the paper's experiments (docs/theory.md §12) with saved, re-plottable results."""
