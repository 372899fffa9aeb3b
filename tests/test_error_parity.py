"""The same fault gives the same error class on every backend (issue 16): a certificate
that fails verification is an APIConnectionError that says so and is not retried; a
dropped connection is an APIConnectionError, never a timeout; silence is a timeout."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from puretalk_ai import APIConnectionError, APITimeoutError, AsyncPuretalk, Puretalk
from puretalk_ai._transport import HttpBackend
from tests import hostile
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
KINDS = ["sync", "async", "aiohttp"]


def _update(kind: str, base_url: str) -> Exception:
    options: dict[str, Any] = {"api_key": CALLER_KEY, "base_url": base_url, "timeout": 1.0}
    try:
        if kind == "sync":
            with Puretalk(**options) as client:
                client.integrations.update(ID, api_key=NEW_KEY)
        else:
            backend: HttpBackend = "aiohttp" if kind == "aiohttp" else "httpx"

            async def run() -> None:
                async with AsyncPuretalk(**options, http_backend=backend) as client:
                    await client.integrations.update(ID, api_key=NEW_KEY)

            asyncio.run(run())
    except Exception as exc:
        return exc
    raise AssertionError("the update succeeded")


@pytest.mark.parametrize("kind", KINDS)
def test_a_certificate_that_fails_verification(kind: str, tmp_path: Path) -> None:
    server = hostile.HostileServer(hostile.hang_up(), tls=hostile.self_signed_tls(tmp_path))
    with server as base_url:
        error = _update(kind, base_url)
    assert type(error) is APIConnectionError
    assert "certificate verification failed (self-signed certificate)" in str(error)
    assert server.connections == 1  # it will not verify on a retry either


@pytest.mark.parametrize("kind", KINDS)
def test_a_dropped_connection_is_a_connection_error(kind: str) -> None:
    server = hostile.HostileServer(hostile.hang_up())
    with server as base_url:
        error = _update(kind, base_url)
    assert type(error) is APIConnectionError
    assert server.connections == 3  # retried, as any connection problem


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_connection_is_a_connection_error(kind: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        error = _update(kind, f"http://127.0.0.1:{port}/api")
    assert type(error) is APIConnectionError
    # Named as httpx names it on every backend (httpx-aiohttp alone says ConnectTimeout).
    assert str(error) == "Connection error (ConnectError)."
    assert error.may_have_been_applied is False


@pytest.mark.parametrize("kind", KINDS)
def test_silence_is_a_timeout(kind: str) -> None:
    server = hostile.HostileServer(hostile.silence())
    with server as base_url:
        error = _update(kind, base_url)
    assert type(error) is APITimeoutError


@pytest.mark.parametrize("kind", KINDS)
def test_a_header_flood_is_refused_quickly_on_every_backend(kind: str) -> None:
    """20,000 headers: aiohttp below 3.13.4 read them all (66 s, +633 MiB); the floor
    of the extra caps them at 128, and h11 caps the head's size."""
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Flood-%d: %d\r\n" % (n, n) for n in range(20_000))
    server = hostile.HostileServer(hostile.serve_bytes(head + b"Content-Length: 2\r\n\r\n", b"{}"))
    started = time.monotonic()
    with server as base_url:
        error = _update(kind, base_url)
    assert isinstance(error, APIConnectionError)
    assert time.monotonic() - started < 10  # three attempts, each refused at once
