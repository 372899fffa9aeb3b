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
- the SDK's own clients are plain ``httpx.Client``/``AsyncClient`` objects, sent through
  their public ``send`` (where tracing and mocking tools hook in); plain-http loopback
  never goes through an environment proxy, https follows the environment as httpx does;
- a connection on which bytes arrived that no request asked for is closed, never reused.

What a failed send was is told by ``_failures``; redacted copies live in ``_redaction``.
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

from ._exceptions import PuretalkError
from ._httpx import aiohttp_transport, httpx
from ._request import RequestParts
from ._response import Received

__all__ = ["AsyncSender", "BodyReader", "SyncSender"]

# What can go wrong once the status line and headers are in: the body is then "broken".
_BODY_ERRORS = (httpx.DecodingError, httpx.ReadError, httpx.RemoteProtocolError)
_CHUNK = 64 * 1024  # the most one decompression step may produce
_MAX_ENCODINGS = 4


# --- fork safety ------------------------------------------------------------------------------
# A counter bumped in every child: a sender built under another generation knows its pool
# holds the parent's sockets, which the parent still reads from.

_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


# Windows has no fork (and no os.register_at_fork): there is nothing to protect there.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# --- the wrapper's own httpx clients ------------------------------------------------------------

# The monotonic time by which the current sync attempt must end; read by _deadline's
# network backend on every socket operation of the wrapper's own transport.
deadline_var: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "puretalk_ai_deadline", default=None
)

HttpBackend = Literal["httpx", "aiohttp"]


class _KeepNothing(httpx.Cookies):
    """A cookie jar that keeps nothing, at no cost: one rotation never sends what another
    was answered, and no response pays for cookie parsing it never needs."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass

    def set_cookie_header(self, request: httpx.Request) -> None:
        pass


_NO_COOKIES = _KeepNothing()


class _WithoutCookies:
    """For the SDK's own clients: ``cookies`` is always the jar that keeps nothing."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, value: Any) -> None:
        pass  # httpx's __init__ sets it: nothing to keep


def _sync_transport(proxy: httpx.Proxy | None = None) -> httpx.HTTPTransport:
    from ._deadline import DeadlineBackend  # httpcore is imported on first use, as by httpx

    transport = httpx.HTTPTransport(proxy=proxy)
    # httpx 0.28 (frozen) takes no network backend; its pool builds every connection
    # through this attribute, so wrapping it here reaches every socket operation
    # (tests/test_canaries.py fails first if a release moves it).
    pool = transport._pool
    pool._network_backend = DeadlineBackend(pool._network_backend, deadline_var)
    return transport


def _async_transport(backend: HttpBackend, proxy: httpx.Proxy | None = None) -> Any:
    if backend == "aiohttp":
        try:
            transport = aiohttp_transport()  # the `aiohttp` extra; imported on use
        except ImportError:
            raise PuretalkError(
                'http_backend="aiohttp" needs the extra: pip install "puretalk-ai[aiohttp]"'
            ) from None
        # aiohttp's own decompression is off in this transport: the seam decodes, bounded.
        return transport(proxy=proxy)  # type: ignore[call-arg]
    return httpx.AsyncHTTPTransport(proxy=proxy)


class _OwnClient(_WithoutCookies, httpx.Client):
    """The wrapper's own sync client: a plain ``httpx.Client``, so every tool that hooks
    ``Client.send`` (Sentry, ddtrace, respx) sees its calls; proxies chosen by httpx itself
    from the environment, each on a deadline-aware transport."""

    # httpx builds its transports through these two methods (and reads the environment's
    # proxies only when no transport is passed): overriding them is how the SDK's
    # deadline-aware transport goes under httpx's own routing (tests/test_canaries.py).
    def _init_transport(self, *_: Any, **__: Any) -> httpx.BaseTransport:
        return _sync_transport()

    def _init_proxy_transport(self, proxy: Any, *_: Any, **__: Any) -> httpx.BaseTransport:
        return _sync_transport(proxy)


class _OwnAsyncClient(_WithoutCookies, httpx.AsyncClient):
    """As ``_OwnClient``, for asyncio and trio; ``backend`` picks the transport."""

    def __init__(self, backend: HttpBackend, **options: Any) -> None:
        self.backend = backend  # set first: httpx builds the transports in __init__
        super().__init__(**options)

    def _init_transport(self, *_: Any, **__: Any) -> httpx.AsyncBaseTransport:
        transport: httpx.AsyncBaseTransport = _async_transport(self.backend)
        return transport

    def _init_proxy_transport(self, proxy: Any, *_: Any, **__: Any) -> httpx.AsyncBaseTransport:
        transport: httpx.AsyncBaseTransport = _async_transport(self.backend, proxy)
        return transport


def _own_client(
    base_url: httpx.URL, backend: HttpBackend | None, proxy: httpx.Proxy | None = None
) -> Any:
    """The client the SDK makes when the user passes none.

    Plain http is only allowed on loopback (see _config), and never goes through an
    environment proxy; https follows HTTPS_PROXY/ALL_PROXY/NO_PROXY exactly as httpx does,
    because httpx decides (``trust_env``). A ``proxy`` given to the client is used for
    every request, as httpx's own ``proxy=`` is (the environment is then not consulted).
    Redirects are never followed; cookies never kept.
    """
    trust_env = base_url.scheme == "https"
    options: dict[str, Any] = {
        "trust_env": trust_env,
        "follow_redirects": False,
        "proxy": proxy,
    }
    try:
        if backend is None:
            return _OwnClient(**options)
        return _OwnAsyncClient(backend, **options)
    except ImportError:  # httpx's words name no variable; ours never show the proxy URL
        raise PuretalkError(
            "a SOCKS proxy is set in the environment (HTTPS_PROXY or ALL_PROXY); it needs "
            'pip install "httpx[socks]", or unset it for this process'
        ) from None
    except ValueError:  # httpx's message holds the proxy URL, credentials and all
        raise PuretalkError(
            "a proxy set in the environment (HTTPS_PROXY or ALL_PROXY) has a scheme httpx "
            "does not support (http, https, socks5, socks5h)"
        ) from None


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

    __slots__ = ("_body", "_deadline", "_layers", "_limit", "broken", "done", "truncated")

    def __init__(self, response: httpx.Response, limit: int, deadline: float | None) -> None:
        self._limit = limit
        self._deadline = deadline
        # One growing buffer, never a list of chunks: a body sent one byte per chunk would
        # cost a bytes object (~34 bytes) per byte in a list.
        self._body = bytearray()
        self.truncated = False
        self.broken: str | None = None
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
            self.fail(httpx.DecodingError(f"more than {_MAX_ENCODINGS} content encodings"))
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and not self._layers:
            self.truncated = True  # no need to read what cannot fit

    @property
    def wants_more(self) -> bool:
        return not (self.truncated or self.done or self.broken)

    def fail(self, exc: Exception) -> None:
        """The body stops here: undecodable, or cut off after the headers arrived."""
        self.broken = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def feed(self, raw: bytes) -> bool:
        """Take one raw chunk; True when the body went over the cap (stop reading)."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise _Expired
        body = self._body
        for piece in self._decode(0, raw):
            room = self._limit - len(body)
            if len(piece) > room:
                body += piece[:room]
                self.truncated = True
                return True
            body += piece
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
        return bytes(self._body)


def _complete(
    response: httpx.Response,
    reader: BodyReader,
    request: httpx.Request,
    started: float,
) -> Received:
    """The response as the rest of the SDK sees it: complete, with its request, and what
    the reader found (cut at the cap, broken).

    The decoded body is stored as httpx's own ``read()`` stores it (decoded ``content``,
    headers as received), on the response the transport returned: no second object.
    """
    response._content = reader.body()
    response.request = request
    response.elapsed = datetime.timedelta(seconds=time.monotonic() - started)
    return Received(response, truncated=reader.truncated, broken=reader.broken)


# --- bytes no request asked for ------------------------------------------------------------------
# httpcore hands a connection back to its pool once a response is complete, with whatever
# else the server sent in the same read still in h11's buffer: the next request on that
# connection would take those bytes as its answer. After every response, a connection
# holding unasked-for bytes is closed, so the pool never hands it out again. The path to
# it runs through private attributes of httpx and httpcore (tests/test_canaries.py fails
# first if a release moves them); a transport without it (aiohttp, which drops such a
# connection itself; a test double) is left alone.

_CONNECTION_PATH = ("_stream", "_httpcore_stream", "_stream", "_connection")


def _connection_holding_stray_bytes(response: httpx.Response) -> Any:
    """The httpcore HTTP/1.1 connection of this response, if it holds unasked-for bytes."""
    node: Any = response.stream
    for name in _CONNECTION_PATH:
        node = getattr(node, name, None)
    state = getattr(node, "_h11_state", None)
    if state is None:
        return None
    try:
        data, _ = state.trailing_data
    except Exception:  # an h11 that changed: the canary test says so
        return None
    return node if data else None


def _expired(request: httpx.Request) -> httpx.ReadTimeout:
    return httpx.ReadTimeout("the attempt's deadline passed", request=request)


# --- the senders ---------------------------------------------------------------------------------


class _Sender:
    """What both senders share: the httpx client (the SDK's own, or the user's), the fork
    and close checks. Both send through the client's public ``send``."""

    def __init__(
        self,
        base_url: str,
        http_client: Any,
        max_response_bytes: int,
        backend: HttpBackend = "httpx",
        proxy: httpx.Proxy | None = None,
    ) -> None:
        self._base_url = httpx.URL(base_url)
        self._proxy = proxy
        self.backend = backend
        self._owned = http_client is None
        self._limit = max_response_bytes
        self._generation = _fork_generation
        self._lock = threading.Lock()
        self._closed = False
        self._client: Any = http_client if http_client is not None else self._new_client()
        # The own sync client is closed when the last SDK client using it goes away (httpx
        # does not); async ones close only with aclose(), in a running loop, so for them
        # _close_quietly finds no close() and does nothing.
        if self._owned:
            self._finalizer: Any = weakref.finalize(self, _close_quietly, self._client)

    def _new_client(self) -> Any:
        raise NotImplementedError

    @property
    def owns_http(self) -> bool:
        return self._owned

    @property
    def user_client(self) -> Any:
        """The ``http_client`` the user passed, or None."""
        return None if self._owned else self._client

    def build(self, parts: RequestParts, timeout: httpx.Timeout) -> httpx.Request:
        """The request: ready-made for the own client, via build_request on a user's client
        (so its headers, cookies and event hooks still apply)."""
        if not self._owned:
            request: httpx.Request = self._client.build_request(
                parts.method,
                parts.url,
                content=parts.content,
                headers=parts.headers,
                timeout=timeout,
            )
            return request
        # Host is in the pre-merged headers and the body is a ready stream, so httpx has
        # nothing to encode or merge per call.
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
        return self._closed or self._client.is_closed

    def check_usable(self) -> None:
        """Raise, before anything is sent, when this sender must not send."""
        if self.is_closed:
            raise PuretalkError("the client is closed; create a new one")
        if self._generation != _fork_generation:
            if not self._owned:
                raise PuretalkError(
                    "this http_client was created before os.fork(); its connections belong "
                    "to the parent. Create the client (and its http_client) in the child"
                )
            with self._lock:
                if self._generation != _fork_generation:
                    # The parent's sockets are left alone (the parent still uses them);
                    # the child gets a pool of its own.
                    self._finalizer.detach()
                    self._client = self._new_client()
                    self._finalizer = weakref.finalize(self, _close_quietly, self._client)
                    self._generation = _fork_generation


def _close_quietly(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        # At exit, a pool that cannot close is no news.
        with contextlib.suppress(Exception):
            close()


class SyncSender(_Sender):
    """Sends with the wrapper's own deadline-aware client, or a user's httpx.Client."""

    def _new_client(self) -> httpx.Client:
        client: httpx.Client = _own_client(self._base_url, None, self._proxy)
        return client

    def send(
        self, parts: RequestParts, timeout: httpx.Timeout, wall: float | None
    ) -> Received | Exception:
        """The complete response, or the exception that stood for it (returned, not raised)."""
        request = self.build(parts, timeout)
        started = time.monotonic()
        deadline = None if wall is None else started + wall
        token = deadline_var.set(deadline)
        try:
            response = self._client.send(request, stream=True, follow_redirects=False)
            try:
                reader = BodyReader(response, self._limit, deadline)
                try:
                    if reader.wants_more:
                        for raw in response.iter_raw():
                            if reader.feed(raw):
                                break
                except _BODY_ERRORS as exc:
                    reader.fail(exc)
            finally:
                response.close()
                stray = _connection_holding_stray_bytes(response)
                if stray is not None:
                    stray.close()
            return _complete(response, reader, request, started)
        except _Expired:
            return _expired(request)
        except Exception as exc:  # httpx's errors, and whatever else a transport raises
            return exc
        finally:
            deadline_var.reset(token)

    def close(self) -> None:
        self._closed = True
        if self._owned:
            self._finalizer.detach()
            self._client.close()


def _running_asyncio_loop() -> Any:
    """The running asyncio loop, or None (under trio)."""
    import asyncio  # on first async use: sync-only users never import it

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _current_event_loop() -> Any:
    """What identifies the running event loop: asyncio's loop, or trio's token."""
    loop = _running_asyncio_loop()
    if loop is not None:
        return loop
    import sys

    trio = sys.modules.get("trio")
    return trio.lowlevel.current_trio_token() if trio is not None else None


class AsyncSender(_Sender):
    """Sends with the wrapper's own client or a user's httpx.AsyncClient, under a deadline
    enforced by cancellation (asyncio's, or anyio's under trio, as httpx itself runs)."""

    _loop: Any = None  # a weak reference to the event loop of the first request

    def _new_client(self) -> httpx.AsyncClient:
        client: httpx.AsyncClient = _own_client(self._base_url, self.backend, self._proxy)
        return client

    def check_usable(self) -> None:
        super().check_usable()
        loop = _current_event_loop()
        if self.backend == "aiohttp" and _running_asyncio_loop() is None:
            raise PuretalkError(
                'http_backend="aiohttp" runs on asyncio only; under trio, use the default '
                'http_backend="httpx"'
            )
        if loop is None:  # neither asyncio nor trio: nothing to compare
            return
        if self._loop is None:
            self._loop = weakref.ref(loop)
        elif self._loop() is not loop:
            raise PuretalkError(
                "this async client was first used in another event loop, and its "
                "connections belong to that loop; create the client inside the event loop "
                "that uses it (one per asyncio.run or trio.run)"
            )

    async def sleep(self, seconds: float) -> None:
        if _running_asyncio_loop() is not None:
            import asyncio

            await asyncio.sleep(seconds)
        else:
            import anyio

            await anyio.sleep(seconds)

    async def send(
        self, parts: RequestParts, timeout: httpx.Timeout, wall: float | None
    ) -> Received | Exception:
        request = self.build(parts, timeout)
        started = time.monotonic()
        deadline = None if wall is None else started + wall
        try:
            if _running_asyncio_loop() is not None:
                import asyncio

                async with asyncio.timeout(wall):
                    response, reader = await self._exchange(request, deadline)
            else:
                import anyio

                with anyio.fail_after(wall):
                    response, reader = await self._exchange(request, deadline)
            return _complete(response, reader, request, started)
        except (TimeoutError, _Expired):
            return _expired(request)
        except Exception as exc:  # httpx's errors, and whatever else a transport raises
            return exc

    async def _exchange(
        self, request: httpx.Request, deadline: float | None
    ) -> tuple[httpx.Response, BodyReader]:
        response = await self._client.send(request, stream=True, follow_redirects=False)
        try:
            reader = BodyReader(response, self._limit, deadline)
            try:
                if reader.wants_more:
                    async for raw in response.aiter_raw():
                        if reader.feed(raw):
                            break
            except _BODY_ERRORS as exc:
                reader.fail(exc)
        finally:
            await response.aclose()
            stray = _connection_holding_stray_bytes(response)
            if stray is not None:
                await stray.aclose()
        return response, reader

    async def aclose(self) -> None:
        self._closed = True
        if self._owned:
            self._finalizer.detach()
            await self._client.aclose()
