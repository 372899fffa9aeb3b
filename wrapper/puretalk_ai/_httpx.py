"""The one boundary with the HTTP library: every wrapper module gets httpx (and httpcore,
and httpx-aiohttp's transport) from here, never by importing them itself.

httpx is frozen at 0.28.1 and the ecosystem is moving to Pydantic's fork httpx2, which
openapi-python-client does not generate code for yet. When it does, the move changes this
module (``import httpx2 as httpx``, ``httpcore2``), the generated code, and the tests; a
test walks the wrapper's imports to keep it so. The README says what users will see.

httpcore and httpx-aiohttp load on first use, as httpx itself loads httpcore: a sync-only
user never imports them.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import httpcore

__all__ = ["aiohttp_transport", "has_aiohttp", "httpcore", "httpx"]


def __getattr__(name: str) -> Any:
    if name == "httpcore":  # `from ._httpx import httpcore`, on first use
        import httpcore

        return httpcore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def has_aiohttp() -> bool:
    """Whether the `aiohttp` extra (httpx-aiohttp) is installed, without importing it."""
    return importlib.util.find_spec("httpx_aiohttp") is not None


def aiohttp_transport() -> type[httpx.AsyncBaseTransport]:
    """httpx-aiohttp's transport class (the `aiohttp` extra), imported on use."""
    from httpx_aiohttp import AiohttpTransport

    transport: type[httpx.AsyncBaseTransport] = AiohttpTransport
    return transport
