"""Bilevel problems: data + maps + outer loss bundled (THEORY.md §11–§12)."""
