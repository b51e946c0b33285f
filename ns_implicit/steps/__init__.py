"""Inner maps ``T`` (smooth gradient steps), THEORY.md §5, §9, §11."""
