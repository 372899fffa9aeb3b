"""Python SDK for the Puretalk AI REST API."""

from ._version import __version__

__all__ = ["__version__"]
