"""Every promise against a server that misbehaves on purpose (raw sockets on 127.0.0.1).

Each case asserts the wall time, the memory growth, the error class, and that neither key
appears in any text the error produces. Deadlines here are real time: the bound asserted is
the promise itself (T + 0.5 s), and the lower bound shows the deadline, not luck, ended it.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from puretalk_ai import (
    APIResponseValidationError,
    APITimeoutError,
    AsyncPuretalk,
    InternalServerError,
    NotFoundError,
    Puretalk,
    PuretalkError,
    RateLimitError,
)
from puretalk_ai._transport import HttpBackend
from tests import audit, hostile
from tests.conftest import INTEGRATION_ID, integration_json
from tests.helpers import optional_text_field
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

T = 2.0
MIB = 1 << 20


def call(kind: str, base_url: str, timing: list[float] | None = None, **options: Any) -> Any:
    """One update through the sync or async client (on httpx or aiohttp); returns the
    result or the exception. ``timing`` receives how long the update call itself took
    (not the client's set-up and close, nor the event loop's: the promise is the call's)."""
    options = {"api_key": CALLER_KEY, "base_url": base_url, **options}
    took = timing if timing is not None else []
    try:
        if kind == "sync":
            with Puretalk(**options) as client:
                started = time.monotonic()
                try:
                    return client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
                finally:
                    took.append(time.monotonic() - started)

        backend: HttpBackend = "aiohttp" if kind == "aiohttp" else "httpx"

        async def run() -> Any:
            async with AsyncPuretalk(**options, http_backend=backend) as client:
                started = time.monotonic()
                try:
                    return await client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
                finally:
                    took.append(time.monotonic() - started)

        return asyncio.run(run())
    except Exception as exc:
        audit.record_exception(exc)
        return exc


def assert_no_key(exc: BaseException) -> None:
    texts = [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(exc)),
        repr(getattr(exc, "body", "")),
        repr(getattr(exc, "body_snippet", "")),
    ]
    response = getattr(exc, "response", None)
    if response is not None:
        texts += [repr(response.headers), response.text, repr(response.request.headers)]
        texts.append(response.request.content.decode())
    request = getattr(exc, "request", None)
    if request is not None:
        texts += [repr(request.headers), request.content.decode()]
    blob = pickle.dumps(exc)
    for secret in (CALLER_KEY, NEW_KEY):
        assert all(secret not in text for text in texts)
        assert secret.encode() not in blob


STATUS_LINE = b"HTTP/1.1 200 OK\r\n"
HEADERS = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
BODY = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n" + b"{" * 400
)

DRIPS = {
    "status line": hostile.drip(STATUS_LINE),
    "headers": hostile.drip(HEADERS),
    "body": hostile.drip(BODY),
    "headers that never end": hostile.endless_headers(),
}


@pytest.fixture(params=["sync", "async", "aiohttp"])
def kind(request: pytest.FixtureRequest) -> str:
    """The sync client, the async client, and the async client on httpx-aiohttp."""
    return str(request.param)


@pytest.mark.parametrize("case", list(DRIPS))
def test_total_timeout_bounds_a_dripping_server(kind: str, case: str) -> None:
    timing: list[float] = []
    with hostile.HostileServer(DRIPS[case]) as url:
        exc = call(kind, url, timing, total_timeout=T, timeout=1.0)
    assert isinstance(exc, APITimeoutError), exc
    (elapsed,) = timing
    assert T - 0.1 <= elapsed < T + 0.5, elapsed
    assert_no_key(exc)


def test_with_default_options_each_attempt_is_bounded_by_its_timeout(kind: str) -> None:
    # No total_timeout: the attempt's own timeout (here 1 s) is a whole-attempt limit.
    timing: list[float] = []
    with hostile.HostileServer(DRIPS["body"]) as url:
        exc = call(kind, url, timing, timeout=1.0, max_retries=1)
    assert isinstance(exc, APITimeoutError), exc
    (elapsed,) = timing
    assert 2 * 1.0 - 0.1 <= elapsed < 2 * 1.0 + 1.0, elapsed  # two attempts, one short sleep


@pytest.mark.parametrize(
    "case",
    [
        "endless chunked",
        "2 GB content-length",
        "2 GB error body",
        "gzip bomb",
    ],
)
def test_huge_and_endless_bodies_are_cut_at_the_cap(kind: str, case: str) -> None:
    behaviours: dict[str, Callable[[], hostile.Behaviour]] = {
        "endless chunked": hostile.endless_chunked,
        "2 GB content-length": hostile.huge_content_length,
        "2 GB error body": lambda: hostile.huge_content_length(status=500),
        "gzip bomb": lambda: hostile.serve_bytes(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-encoding: gzip, gzip\r\n",
            hostile.gzip_bomb(),
        ),
    }
    with hostile.HostileServer(behaviours[case]()) as url, hostile.peak_rss_growth() as grew:
        started = time.monotonic()
        exc = call(kind, url, total_timeout=20.0, max_retries=0)
        elapsed = time.monotonic() - started
    assert grew[0] < 50 * MIB, grew[0] / MIB
    assert elapsed < 10, elapsed  # cut at 1 MiB, not read to the end
    if case == "2 GB error body":
        assert isinstance(exc, InternalServerError), exc
    else:
        assert isinstance(exc, APIResponseValidationError), exc
        assert "larger than max_response_bytes" in exc.message
        assert "so the change may have been applied" in exc.message
        assert len(exc.body_snippet) <= 200
    assert_no_key(exc)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_body_sent_one_byte_per_chunk_costs_memory_in_proportion_to_the_cap(
    kind: str,
) -> None:
    # Each byte its own chunk: a list of chunks would cost ~40 bytes per byte (70 MiB for
    # this cap, 140 MiB for the default 1 MiB). Half the default cap keeps the test short
    # (h11 parses every chunk); the bound is the docs' 50 MiB, scaled alike.
    cap = 512 * 1024
    with hostile.HostileServer(hostile.one_byte_chunks()) as url:
        call(kind, url, max_retries=0, max_response_bytes=1024)  # imports and pools first
        with hostile.peak_rss_growth() as grew:
            # Memory is the subject, not speed: a loaded machine may take minutes to read
            # half a million one-byte chunks, so no timeout can end the read first.
            exc = call(kind, url, timeout=600.0, max_retries=0, max_response_bytes=cap)
    assert grew[0] < 25 * MIB, grew[0] / MIB
    assert isinstance(exc, APIResponseValidationError), exc
    assert "larger than max_response_bytes" in exc.message


def test_a_small_cap_applies_to_decoded_bytes(kind: str) -> None:
    body = b'{"msg": "' + b"x" * 5000 + b'"}'
    compressed = hostile.gzip_compress(body)
    head = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n"
    with hostile.HostileServer(hostile.serve_bytes(head, compressed)) as url:
        exc = call(kind, url, max_response_bytes=1000)
    assert isinstance(exc, NotFoundError), exc
    assert len(exc.response.content) <= 1000 + 100  # the redacted copy of the first 1000


def test_an_error_body_nested_500_deep_is_a_typed_error(kind: str) -> None:
    body = b"[" * 500 + b"]" * 500
    head = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
    with hostile.HostileServer(hostile.serve_bytes(head, body)) as url:
        exc = call(kind, url)
    assert isinstance(exc, NotFoundError), exc
    repr(exc.body)
    assert_no_key(exc)


def test_a_success_nested_500_deep_is_a_typed_error(kind: str) -> None:
    body = b'{"err": false, "results": ' + b"[" * 500 + b"]" * 500 + b"}"
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    with hostile.HostileServer(hostile.serve_bytes(head, body)) as url:
        exc = call(kind, url)
    assert isinstance(exc, APIResponseValidationError), exc


def test_a_null_optional_field_over_the_wire_is_a_success(kind: str) -> None:
    import json

    field = optional_text_field()
    sample = integration_json()
    sample["results"][field] = None
    body = json.dumps(sample).encode()
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    with hostile.HostileServer(hostile.serve_bytes(head, body)) as url:
        result = call(kind, url)
    assert not isinstance(result, Exception), result
    assert result.additional_properties[field] is None


def test_a_server_that_never_answers_is_bounded_sync_and_async(kind: str) -> None:
    def silent(conn: object, stop: threading.Event) -> None:
        stop.wait(hostile.MAX_SECONDS)

    timing: list[float] = []
    with hostile.HostileServer(silent) as url:
        exc = call(kind, url, timing, total_timeout=1.0)
    assert isinstance(exc, APITimeoutError)
    (elapsed,) = timing
    assert elapsed < 1.5, elapsed


def test_every_failure_here_is_a_puretalk_error(kind: str) -> None:
    # A server that closes without a word, and one that answers garbage.
    for behaviour in (
        lambda conn, stop: None,
        lambda conn, stop: conn.sendall(b"garbage\r\n\r\n"),
    ):
        with hostile.HostileServer(behaviour) as url:
            exc = call(kind, url, max_retries=0)
        assert isinstance(exc, PuretalkError), exc
        assert_no_key(exc)


# --- a body that cannot be read whole keeps its status's class -------------------------------

CORRUPT_GZIP = hostile.gzip_compress(b'{"err": true, "msg": "x"}')[:12] + b"\x00garbage\xff" * 4


def _head(status: str, extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}".encode()


@pytest.mark.parametrize(
    ("case", "head", "body"),
    [
        ("corrupt gzip", _head("404 Not Found", "content-encoding: gzip\r\n"), CORRUPT_GZIP),
        ("5 encodings", _head("404 Not Found", "content-encoding: " + "gzip, " * 4 + "gzip\r\n"),
         b"{}"),
    ],
)  # fmt: skip
def test_an_undecodable_error_body_keeps_its_class(
    kind: str, case: str, head: bytes, body: bytes
) -> None:
    with hostile.HostileServer(hostile.serve_bytes(head, body)) as url:
        exc = call(kind, url, max_retries=0)
    assert isinstance(exc, NotFoundError), (case, exc)
    assert_no_key(exc)


def test_an_undecodable_429_keeps_its_retry_after(kind: str) -> None:
    head = _head("429 Too Many Requests", "content-encoding: gzip\r\nretry-after-ms: 1500\r\n")
    with hostile.HostileServer(hostile.serve_bytes(head, CORRUPT_GZIP)) as url:
        exc = call(kind, url, max_retries=0)
    assert isinstance(exc, RateLimitError), exc
    assert exc.retry_after == 1.5


@pytest.mark.parametrize("case", ["corrupt gzip", "cut off"])
def test_a_2xx_whose_body_cannot_be_read_may_have_been_applied(kind: str, case: str) -> None:
    if case == "corrupt gzip":
        behaviour = hostile.serve_bytes(_head("200 OK", "content-encoding: gzip\r\n"), CORRUPT_GZIP)
    else:  # 100 bytes announced, 10 sent, then the connection closes
        behaviour = hostile.serve_bytes_then_close(
            _head("200 OK", "content-length: 100\r\n\r\n"), b'{"err": fa'
        )
    with hostile.HostileServer(behaviour) as url:
        exc = call(kind, url, max_retries=0)
    assert isinstance(exc, APIResponseValidationError), exc
    assert "so the change may have been applied" in exc.message
    assert "could not be read whole" in exc.message
    assert_no_key(exc)


def test_a_slow_name_lookup_counts_against_the_sync_total_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sync client's own transport (the async ones await the lookup under asyncio's
    # cancellation; asyncio.run then waits for the executor's thread, so timing them here
    # would time asyncio.run, not the call).
    import socket

    real = socket.getaddrinfo

    def slow(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "localhost":
            time.sleep(4)  # a resolver that takes its time (bounded, so the test ends)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    exc = call("sync", "http://localhost:9/api", total_timeout=1.0, max_retries=0)
    elapsed = time.monotonic() - started
    assert isinstance(exc, APITimeoutError), exc
    assert elapsed < 3.0, elapsed  # the lookup alone takes 4 s


def _html_entities(key: str) -> str:
    return "".join(f"&#x{ord(c):x};" if n % 2 else f"&#{ord(c)};" for n, c in enumerate(key))


def _twice_percent(key: str) -> str:
    return "".join(f"%25{ord(c):02X}" for c in key)


@pytest.mark.parametrize(
    "echo",
    ["json object key", "header name", "html entities", "double percent", "non-standard body"],
)
def test_keys_echoed_in_any_shape_are_masked(kind: str, echo: str) -> None:
    extra, body = "", json.dumps({"err": True, "msg": "refused"})
    if echo == "json object key":
        body = json.dumps({"err": True, "msg": "refused", NEW_KEY: 1, CALLER_KEY: {"a": 2}})
    elif echo == "header name":
        extra = f"x-{NEW_KEY}: 1\r\n{CALLER_KEY}: 2\r\n"
    elif echo == "html entities":
        body = json.dumps({"err": True, "msg": f"<b>{_html_entities(NEW_KEY)}</b>"})
    elif echo == "double percent":
        body = json.dumps({"err": True, "msg": f"key={_twice_percent(CALLER_KEY)}"})
    else:  # not JSON: the text itself is the message
        body = f"<html>{_html_entities(CALLER_KEY)} {NEW_KEY}</html>"
    head = f"HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\n{extra}".encode()
    with hostile.HostileServer(hostile.serve_bytes(head, body.encode())) as url:
        exc = call(kind, url, max_retries=0)
    assert isinstance(exc, PuretalkError), exc
    assert_no_key(exc)
    decoded = [str(exc), repr(getattr(exc, "body", ""))]
    import html
    from urllib.parse import unquote

    for text in decoded:  # not even once decoded
        for secret in (CALLER_KEY, NEW_KEY):
            assert secret not in html.unescape(text)
            assert secret not in unquote(unquote(text))


OTHER_ID = "00000000-0000-4000-8000-0000000000bb"


def _answer(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
    return head.encode() + f"content-length: {len(body)}\r\n\r\n".encode() + body


def test_bytes_no_request_asked_for_never_answer_the_next_call(kind: str) -> None:
    # The first answer on a connection comes with a stray second 200, for another id, in
    # the same write. Reusing that connection would read the stray 200 as the answer to the
    # next call, so the next call must go out on a fresh connection and get its own 404.
    ok = _answer("200 OK", json.dumps(integration_json()).encode())
    stray = _answer("200 OK", json.dumps(integration_json(integration_id=OTHER_ID)).encode())
    missing = _answer("404 Not Found", b'{"err": true, "msg": "Integration not found"}')
    server: hostile.HostileServer

    def behaviour(conn: Any, stop: Any) -> None:
        if server.connections == 1:
            conn.sendall(ok + stray)
            hostile.read_request(conn)  # the next call, if this connection is reused
        conn.sendall(missing)

    server = hostile.HostileServer(behaviour)
    options: dict[str, Any] = {"api_key": CALLER_KEY, "max_retries": 0}
    with server as url:
        if kind == "sync":
            with Puretalk(base_url=url, **options) as client:
                first = client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
                with pytest.raises(NotFoundError):
                    client.integrations.update(OTHER_ID, api_key=NEW_KEY)
        else:
            backend: HttpBackend = "aiohttp" if kind == "aiohttp" else "httpx"

            async def run() -> Any:
                async with AsyncPuretalk(base_url=url, http_backend=backend, **options) as c:
                    done = await c.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
                    with pytest.raises(NotFoundError):
                        await c.integrations.update(OTHER_ID, api_key=NEW_KEY)
                    return done

            first = asyncio.run(run())
    assert str(first.integration_id) == INTEGRATION_ID
    assert server.connections == 2


@pytest.mark.slow
def test_one_byte_chunks_in_update_many_with_8_workers_stay_bounded() -> None:
    # Eight workers reading such bodies at once: memory grows with 8 x the cap, never with
    # 40 bytes per byte (the old list of chunks: ~40 MiB here; the bound is 25 MiB).
    cap = 128 * 1024
    ids = [str(uuid.UUID(int=n + 7000)) for n in range(8)]
    with hostile.HostileServer(hostile.one_byte_chunks()) as url:
        call("sync", url, max_retries=0, max_response_bytes=1024)  # imports and pools first
        with (
            # Memory is the subject here, not speed: a loaded machine may take long to
            # read a million one-byte chunks, so the attempt's timeout is generous.
            Puretalk(
                api_key=CALLER_KEY, base_url=url, max_response_bytes=cap, timeout=300.0
            ) as client,
            hostile.peak_rss_growth() as grew,
        ):
            results = client.integrations.update_many(
                {i: NEW_KEY for i in ids}, concurrency=8, max_retries=0
            )
    assert grew[0] < 25 * MIB, grew[0] / MIB
    assert [type(r.error) for r in results] == [APIResponseValidationError] * 8
