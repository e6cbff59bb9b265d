"""The read API over the stored roll."""

from durban_valuations.api.app import create_app

__all__ = ["create_app"]
