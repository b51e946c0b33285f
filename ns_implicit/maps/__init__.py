"""Fixed-point maps ``Φ = G ∘ T`` (THEORY.md §5, §11)."""
