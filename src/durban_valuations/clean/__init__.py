"""Cleaning of the site's printed result rows into typed properties."""

from durban_valuations.clean.rows import clean_row

__all__ = ["clean_row"]
