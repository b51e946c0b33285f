"""Inner maps ``T`` (smooth gradient steps), docs/theory.md §5, §9, §11."""
