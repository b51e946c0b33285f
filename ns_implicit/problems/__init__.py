"""Bilevel problems: data + maps + outer loss bundled (docs/theory.md §11–§12)."""
