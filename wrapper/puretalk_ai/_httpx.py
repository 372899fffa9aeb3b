"""The one boundary with the HTTP library: every wrapper module gets httpx (and httpcore,
and httpx-aiohttp's transport) from here, never by importing them itself.

httpx is frozen at 0.28.1 and the ecosystem is moving to Pydantic's fork httpx2, which
openapi-python-client does not generate code for yet. When it does, the move changes this
module (``import httpx2 as httpx``, ``httpcore2``), the generated code, and the tests; a
test walks the wrapper's imports to keep it so. docs/maintaining/boundary.md says what
users will see.

httpcore and httpx-aiohttp load on first use, as httpx itself loads httpcore: a sync-only
user never imports them.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
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
    """httpx-aiohttp's transport class (the `aiohttp` extra), imported on use, with its
    errors mapped to the httpx classes the httpx transport raises for the same failure.

    httpx-aiohttp maps every aiohttp connection error to ``ConnectTimeout`` (a refused
    connection included, after 2 ms); here each aiohttp error it knows is mapped once, by
    class, to httpx's own: refused is ``ConnectError``, a lost connection ``ReadError``.
    Errors it does not know are re-raised untouched (``_failures`` calls them unexpected).
    """
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    errors = _aiohttp_errors(aiohttp)

    class Transport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            with _mapped(errors):
                response = await super().handle_async_request(request)
            response.stream = _MappedStream(response.stream, errors)
            return response

    return Transport


# (aiohttp's class, httpx's), most specific first; the first that fits maps the error.
_AiohttpErrors = tuple[tuple[type[BaseException], type[httpx.TransportError]], ...]


def _aiohttp_errors(aiohttp: Any) -> _AiohttpErrors:
    return (
        (aiohttp.ClientConnectorCertificateError, httpx.ConnectError),
        (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
        (aiohttp.ClientHttpProxyError, httpx.ProxyError),
        (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, unreachable
        (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError, httpx.ReadError),
        (aiohttp.ClientConnectionError, httpx.ReadError),  # reset, closed mid-answer
        (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # an answer it cannot parse
    )


@contextlib.contextmanager
def _mapped(errors: _AiohttpErrors) -> Iterator[None]:
    """Re-raise an aiohttp error (as itself, or as httpx-aiohttp's mapping of it) as the
    httpx class that fits it; anything else passes untouched."""
    try:
        yield
    except Exception as exc:
        original = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
        for aiohttp_class, httpx_class in errors:
            if isinstance(original, aiohttp_class):
                # A certificate's own error is the cause, as under the httpx transport.
                cause = getattr(original, "certificate_error", None) or original
                raise httpx_class(str(original) or type(original).__name__) from cause
        raise


class _MappedStream(httpx.AsyncByteStream):
    """The response body, its errors mapped as the request's are."""

    def __init__(self, stream: Any, errors: _AiohttpErrors) -> None:
        self._stream = stream
        self._errors = errors

    async def __aiter__(self) -> Any:
        with _mapped(self._errors):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _mapped(self._errors):
            await self._stream.aclose()
