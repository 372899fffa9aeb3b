"""The transport seam: how a built request becomes a complete, bounded response.

Everything about the wire that the sync and async clients share is decided here, once:

- a wall-clock deadline per attempt. On the wrapper's own sync transport a network backend
  clamps every socket connect, read and write to the time left, so a server dripping one
  byte at a time cannot stretch a call; the async client gets the same from asyncio's
  cancellation. With a user-supplied sync ``http_client`` only the per-phase timeouts
  (clamped) and a clock check between body chunks apply;
- a size cap on bodies, counted in decoded bytes: the SDK decodes gzip/deflate itself with
  bounded output, so a compression bomb stops at the cap too;
- fork safety: after ``os.fork()`` the child never reuses the parent's connections;
- the proxy policy of the wrapper's own transport: plain-http loopback never goes through
  an environment proxy; https follows HTTPS_PROXY/ALL_PROXY/NO_PROXY;
- redacted copies of requests and responses for exceptions (no key, picklable).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import os
import threading
import time
import weakref
import zlib
from collections.abc import Iterator
from typing import Any, Literal

import httpx

from ._exceptions import PuretalkError
from ._redaction import REDACTED, Secrets

__all__ = [
    "AsyncSender",
    "BodyReader",
    "SyncSender",
    "redacted_request",
    "redacted_response",
]

TRUNCATED = "puretalk_ai.truncated"  # response extension: the body went over the cap
_CHUNK = 64 * 1024  # the most one decompression step may produce
_MAX_ENCODINGS = 4


# --- fork safety ------------------------------------------------------------------------------
# A counter bumped in every child: a sender built under another generation knows its pool
# holds the parent's sockets, which the parent still reads from.

_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


# --- the deadline-aware network backend -------------------------------------------------------

# The monotonic time by which the current sync attempt must end; read by _deadline's
# network backend on every socket operation of the wrapper's own transport.
deadline_var: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "puretalk_ai_deadline", default=None
)


def environment_proxy(base_url: httpx.URL) -> str | None:
    """The proxy for the wrapper's own transport: never for plain-http loopback."""
    if base_url.scheme == "http":
        return None  # plain http is only allowed on loopback (see _config)
    import urllib.request  # only for https base URLs: it costs import time

    proxies = urllib.request.getproxies_environment()
    if urllib.request.proxy_bypass_environment(base_url.host, proxies):  # type: ignore[attr-defined]
        return None
    proxy = proxies.get(base_url.scheme) or proxies.get("all")
    return proxy if not proxy or "://" in proxy else f"http://{proxy}"


def _own_sync_transport(base_url: httpx.URL) -> httpx.HTTPTransport:
    from ._deadline import DeadlineBackend  # httpcore is imported on first use, as by httpx

    transport = httpx.HTTPTransport(proxy=environment_proxy(base_url))
    # httpx 0.28 (frozen) takes no network backend; its pool builds every connection
    # through this attribute, so wrapping it here reaches every socket operation.
    pool = transport._pool
    pool._network_backend = DeadlineBackend(pool._network_backend)
    return transport


HttpBackend = Literal["httpx", "aiohttp"]


def aiohttp_available() -> bool:
    """True when the ``aiohttp`` extra (httpx-aiohttp) is installed."""
    import importlib.util

    return importlib.util.find_spec("httpx_aiohttp") is not None


def _own_async_transport(base_url: httpx.URL, backend: HttpBackend) -> httpx.AsyncBaseTransport:
    proxy = environment_proxy(base_url)
    if backend == "aiohttp":
        try:
            from httpx_aiohttp import AiohttpTransport  # the `aiohttp` extra; imported on use
        except ImportError:
            raise PuretalkError(
                'http_backend="aiohttp" needs the extra: pip install "puretalk-ai[aiohttp]"'
            ) from None
        # aiohttp's own decompression is off in this transport: the seam decodes, bounded.
        return AiohttpTransport(proxy=httpx.Proxy(proxy) if proxy else None)
    return httpx.AsyncHTTPTransport(proxy=proxy)


# --- reading a body, bounded --------------------------------------------------------------------


class _Expired(Exception):
    """The attempt's deadline passed while the body was arriving."""


def _decompressor(encoding: str) -> Any:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return _Deflate()
    return None  # identity, or one we never offered: passed through as httpx does


class _Deflate:
    """'deflate' is zlib-wrapped by the spec and raw in practice; accept both (as httpx)."""

    def __init__(self) -> None:
        self._inner: Any = None
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._inner is None:
            self._inner = zlib.decompressobj()
            try:
                out: bytes = self._inner.decompress(data, max_length)
            except zlib.error:
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._inner.decompress(data, max_length)
        else:
            out = self._inner.decompress(data, max_length)
        self.unconsumed_tail = self._inner.unconsumed_tail
        return out


class BodyReader:
    """Collects a body from raw chunks: decoded, at most `limit` bytes, before `deadline`."""

    __slots__ = ("_deadline", "_layers", "_limit", "_parts", "_size", "done", "truncated")

    def __init__(self, response: httpx.Response, limit: int, deadline: float | None) -> None:
        self._limit = limit
        self._deadline = deadline
        self._parts: list[bytes] = []
        self._size = 0
        self.truncated = False
        self.done = False
        self._layers: list[Any] = []
        if response.is_stream_consumed:
            # An in-memory transport (a test double) already read and decoded it.
            self.feed(response.content)
            self.done = True
            return
        headers = response.headers
        encodings = [e.strip().lower() for e in headers.get("content-encoding", "").split(",")]
        self._layers = [d for d in map(_decompressor, reversed(encodings)) if d is not None]
        if len(self._layers) > _MAX_ENCODINGS:
            raise httpx.DecodingError(f"more than {_MAX_ENCODINGS} content encodings")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and not self._layers:
            self.truncated = True  # no need to read what cannot fit

    @property
    def wants_more(self) -> bool:
        return not (self.truncated or self.done)

    def feed(self, raw: bytes) -> bool:
        """Take one raw chunk; True when the body went over the cap (stop reading)."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise _Expired
        for piece in self._decode(0, raw):
            room = self._limit - self._size
            if len(piece) > room:
                self._parts.append(piece[:room])
                self._size = self._limit
                self.truncated = True
                return True
            self._parts.append(piece)
            self._size += len(piece)
        return False

    def _decode(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        layer = self._layers[index]
        try:
            out = layer.decompress(data, _CHUNK)
            while out:
                yield from self._decode(index + 1, out)
                out = layer.decompress(layer.unconsumed_tail, _CHUNK)
        except zlib.error as exc:
            raise httpx.DecodingError(f"cannot decode the response body: {exc}") from None

    def body(self) -> bytes:
        return b"".join(self._parts)


def _complete(
    response: httpx.Response,
    reader: BodyReader,
    request: httpx.Request,
    started: float,
) -> httpx.Response:
    """The response as the rest of the SDK sees it: complete, with its request.

    The decoded body is stored as httpx's own ``read()`` stores it (decoded ``content``,
    headers as received), on the response the transport returned: no second object.
    """
    response._content = reader.body()
    if reader.truncated:
        response.extensions[TRUNCATED] = True
    response.request = request
    response.elapsed = datetime.timedelta(seconds=time.monotonic() - started)
    return response


def _expired(request: httpx.Request) -> httpx.ReadTimeout:
    return httpx.ReadTimeout("the attempt's deadline passed", request=request)


# --- the senders ---------------------------------------------------------------------------------


class _Sender:
    """What both senders share: owning or borrowing the httpx client, fork and close checks."""

    def __init__(
        self,
        base_url: str,
        http_client: Any,
        max_response_bytes: int,
        backend: HttpBackend = "httpx",
    ) -> None:
        self._base_url = httpx.URL(base_url)
        self.backend = backend
        self._user_client = http_client
        self._limit = max_response_bytes
        self._generation = _fork_generation
        self._lock = threading.Lock()
        self._closed = False
        self._transport: Any = None if http_client is not None else self._new_transport()
        # A sync pool is closed when the last client using it goes away (httpx.Client does
        # not); async pools close only with aclose(), in a running loop, so for them
        # _close_quietly finds no close() and does nothing.
        if self._transport is not None:
            self._finalizer: Any = weakref.finalize(self, _close_quietly, self._transport)

    def _new_transport(self) -> Any:
        raise NotImplementedError

    @property
    def owns_http(self) -> bool:
        return self._user_client is None

    def build(self, parts: RequestParts, timeout: httpx.Timeout) -> httpx.Request:
        """The request: directly on the own transport, via build_request on a user's client
        (so its headers, cookies and event hooks still apply)."""
        if self._user_client is not None:
            request: httpx.Request = self._user_client.build_request(
                parts.method,
                parts.url,
                content=parts.content,
                headers=parts.headers,
                timeout=timeout,
            )
            return request
        # The own transport gets the request ready-made: Host is in the pre-merged headers,
        # the body is a ready stream, so httpx has nothing to encode or prepare per call.
        request = httpx.Request(
            parts.method,
            parts.url,
            headers=parts.headers,
            stream=httpx.ByteStream(parts.content),
            extensions={"timeout": timeout.as_dict()},
        )
        request.headers["Content-Length"] = str(len(parts.content))
        request.read()
        return request

    @property
    def is_closed(self) -> bool:
        return self._closed or (self._user_client is not None and self._user_client.is_closed)

    def check_usable(self) -> None:
        """Raise, before anything is sent, when this sender must not send."""
        if self.is_closed:
            raise PuretalkError("the client is closed; create a new one")
        if self._generation != _fork_generation:
            if self._user_client is not None:
                raise PuretalkError(
                    "this http_client was created before os.fork(); its connections belong "
                    "to the parent. Create the client (and its http_client) in the child"
                )
            with self._lock:
                if self._generation != _fork_generation:
                    # The parent's sockets are left alone (the parent still uses them);
                    # the child gets a pool of its own.
                    self._finalizer.detach()
                    self._transport = self._new_transport()
                    self._finalizer = weakref.finalize(self, _close_quietly, self._transport)
                    self._generation = _fork_generation


def _close_quietly(transport: Any) -> None:
    close = getattr(transport, "close", None)
    if close is not None:
        # At exit, a pool that cannot close is no news.
        with contextlib.suppress(Exception):
            close()


class RequestParts:
    """The pieces of one request, built once per call; repr masked (headers hold the key)."""

    __slots__ = ("content", "headers", "method", "url")

    def __init__(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        content: bytes,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.content = content

    def __repr__(self) -> str:
        return f"RequestParts({self.method} {self.url}, headers=***, content=***)"


class SyncSender(_Sender):
    """Sends with the wrapper's own deadline-aware transport, or a user's httpx.Client."""

    def _new_transport(self) -> httpx.HTTPTransport:
        return _own_sync_transport(self._base_url)

    def send(self, request: httpx.Request, wall: float | None) -> httpx.Response | Exception:
        """The complete response, or the exception that stood for it (returned, not raised)."""
        started = time.monotonic()
        deadline = None if wall is None else started + wall
        token = deadline_var.set(deadline)
        try:
            if self._user_client is None:
                response = self._transport.handle_request(request)
            else:
                response = self._user_client.send(request, stream=True, follow_redirects=False)
            try:
                reader = BodyReader(response, self._limit, deadline)
                if reader.wants_more:
                    for raw in response.iter_raw():
                        if reader.feed(raw):
                            break
            finally:
                response.close()
            return _complete(response, reader, request, started)
        except _Expired:
            return _expired(request)
        except Exception as exc:  # httpx's errors, and whatever else a transport raises
            return exc
        finally:
            deadline_var.reset(token)

    def close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._finalizer.detach()
            self._transport.close()


class AsyncSender(_Sender):
    """Sends with the wrapper's own transport or a user's httpx.AsyncClient, under a
    deadline enforced by asyncio's cancellation."""

    def _new_transport(self) -> httpx.AsyncBaseTransport:
        return _own_async_transport(self._base_url, self.backend)

    async def send(self, request: httpx.Request, wall: float | None) -> httpx.Response | Exception:
        import asyncio

        started = time.monotonic()
        deadline = None if wall is None else started + wall
        try:
            async with asyncio.timeout(wall):
                if self._user_client is None:
                    response = await self._transport.handle_async_request(request)
                else:
                    response = await self._user_client.send(
                        request, stream=True, follow_redirects=False
                    )
                try:
                    reader = BodyReader(response, self._limit, deadline)
                    if reader.wants_more:
                        async for raw in response.aiter_raw():
                            if reader.feed(raw):
                                break
                finally:
                    await response.aclose()
            return _complete(response, reader, request, started)
        except (TimeoutError, _Expired):
            return _expired(request)
        except Exception as exc:  # httpx's errors, and whatever else a transport raises
            return exc

    async def aclose(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._finalizer.detach()
            await self._transport.aclose()


# --- redacted copies for exceptions ---------------------------------------------------------


def redacted_request(request: httpx.Request | None, secrets: Secrets) -> httpx.Request | None:
    """A copy without the key: X-API-KEY masked, body redacted, no stream or extensions."""
    if request is None:
        return None
    headers = [
        (name, REDACTED if name.lower() == "x-api-key" else secrets.redact(value))
        for name, value in request.headers.multi_items()
        if name.lower() != "content-length"
    ]
    try:
        content = request.content
    except httpx.RequestNotRead:
        content = b""
    body = secrets.redact_body(content).encode("utf-8") if content else b""
    return httpx.Request(request.method, request.url, headers=headers, content=body)


def redacted_response(response: httpx.Response, secrets: Secrets) -> httpx.Response:
    """A copy of a complete response whose body, headers and request carry no key."""
    # The copy's body is the decoded one, so the framing headers of the original go.
    headers = [
        (name, secrets.redact(value))
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-length", "content-encoding", "transfer-encoding")
    ]
    body = secrets.redact_body(response.content).encode("utf-8") if response.content else b""
    copy = httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=redacted_request(_request_of(response), secrets),
        extensions={
            k: v for k, v in response.extensions.items() if k in ("http_version", TRUNCATED)
        },
    )
    with contextlib.suppress(RuntimeError):  # a response that never finished
        copy.elapsed = response.elapsed
    return copy


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built without one
        return None


def detached(exc: Exception, secrets: Secrets) -> Exception:
    """A copy of a transport error without its traceback, chain or request.

    The original's traceback runs through httpcore frames whose locals hold the request's
    headers and body; an error tracker reading the chain would send them.
    """
    try:
        copy = type(exc)(secrets.redact(str(exc)))
    except Exception:
        copy = Exception(secrets.redact(str(exc)))
    copy.__suppress_context__ = True
    return copy
