"""claim-assess: shared package metadata and the project's one exception tree (see errors)."""

__version__ = "0.1.0"
