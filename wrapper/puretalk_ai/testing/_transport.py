"""The fake as httpx transports, for in-process tests of the sync and async clients."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .._httpx import httpx

if TYPE_CHECKING:  # the fake imports this module to build its transports
    from ._fake import Answer, FakePuretalk

__all__ = ["AsyncFakeTransport", "FakeTransport"]


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    value = timeout.get("read")
    return float(value) if value is not None else None


def _answer_for(fake: FakePuretalk, request: httpx.Request) -> tuple[Answer, float, float | None]:
    answer = fake.handle(
        request.method,
        request.url.raw_path.decode("ascii"),
        {k.lower(): v for k, v in request.headers.items()},
        request.content,
    )
    limit = _read_timeout(request)
    # A delay past the read timeout behaves as on the wire: the client gives up first.
    wait = answer.delay if limit is None else min(answer.delay, limit)
    return answer, wait, limit


def _finish(answer: Answer, request: httpx.Request, limit: float | None) -> httpx.Response:
    if limit is not None and answer.delay > limit:
        raise httpx.ReadTimeout(
            "The fake's injected delay exceeded the read timeout", request=request
        )
    if answer.reset:
        raise httpx.ReadError("Connection reset by peer (injected mid-response)", request=request)
    if answer.drop:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.body)


class FakeTransport(httpx.BaseTransport):
    """``httpx.Client(transport=FakeTransport(fake))``."""

    def __init__(self, fake: FakePuretalk) -> None:
        self.fake = fake

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        answer, wait, limit = _answer_for(self.fake, request)
        if wait:
            time.sleep(wait)
        return _finish(answer, request, limit)


class AsyncFakeTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=AsyncFakeTransport(fake))``."""

    def __init__(self, fake: FakePuretalk) -> None:
        self.fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        answer, wait, limit = _answer_for(self.fake, request)
        if wait:
            await asyncio.sleep(wait)
        return _finish(answer, request, limit)
