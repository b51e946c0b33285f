"""The version of ns_implicit (a leaf module: the CLI and result files read it)."""

__version__ = "0.1.0"
