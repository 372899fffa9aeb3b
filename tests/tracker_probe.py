"""Raise every error the SDK raises, capture each with sentry-sdk (default options, events
kept in memory: nothing is sent anywhere) and with TracebackException(capture_locals=True),
and print, as JSON, every place a key showed up. Run by tests/test_secret_trackers.py in its
own process, so sentry's global hooks never touch the rest of the suite.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from puretalk_ai import AsyncPuretalk, Puretalk, UpdateResult
from puretalk_ai.testing import FakePuretalk

CALLER_KEY = "pt-probe-caller-4f9a2c7e1b"
NEW_KEY = "sk-probe-new/key+8d1e5a3f"
KEYS = (CALLER_KEY, NEW_KEY)
ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
SDK_PATHS = ("/puretalk_ai/", "/puretalk_ai_openapi/")


class MemoryTransport(Transport):
    envelopes: ClassVar[list[Envelope]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        MemoryTransport.envelopes.append(envelope)


def echo_body() -> bytes:
    # Both keys, raw, with escaped slashes, and as \\u escapes: every spelling a server uses.
    escaped = NEW_KEY.replace("/", "\\/")
    unicode = "".join(f"\\u{ord(c):04x}" for c in CALLER_KEY)
    text = f"key {NEW_KEY} ({escaped}) for caller {unicode} rejected"
    return (
        json.dumps({"err": True, "msg": text, "api_key": NEW_KEY})
        .encode()
        .replace(b"\\\\u", b"\\u")
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scenarios(fake: FakePuretalk) -> dict[str, Callable[[], None]]:
    def status(code: int) -> Callable[[], None]:
        return lambda: fake.fail_next(1, status=code, body=echo_body())

    plans: dict[str, Callable[[], None]] = {
        f"status {c}": status(c) for c in (400, 401, 403, 404, 409, 422, 429, 500)
    }
    plans["validation"] = lambda: fake.fail_next(1, status=200, body=b"<html>" + NEW_KEY.encode())
    plans["reported"] = lambda: fake.fail_next(1, status=200, body=echo_body())
    plans["timeout"] = lambda: fake.delay_next(1, seconds=5)
    return plans


def check_event(label: str, exc: BaseException, found: list[str]) -> None:
    MemoryTransport.envelopes.clear()
    sentry_sdk.capture_exception(exc)
    sentry_sdk.flush()
    events = [e.get_event() for e in MemoryTransport.envelopes]
    if not any(events):
        found.append(f"{label}: sentry captured no event")
    for event in filter(None, events):
        # The caller's own frames are the caller's business; everything else in the event
        # (messages, exception values, breadcrumbs, and the SDK's frames with their
        # variables) must carry no key.
        for value in event.get("exception", {}).get("values", []):
            frames = value.get("stacktrace", {}).get("frames", [])
            value["sdk_frames"] = [
                f for f in frames if any(p in f.get("abs_path", "") for p in SDK_PATHS)
            ]
            value.pop("stacktrace", None)
            for frame in value["sdk_frames"]:
                frame.get("vars", {}).pop("api_key", None)  # the one allowed name (scrubbed)
        blob = json.dumps(event, default=str)
        for key in KEYS:
            if key in blob or json.dumps(key)[1:-1] in blob:
                found.append(f"{label}: sentry event carries a key")
    if "checked SDK frames" not in found and any(
        any(p in f.get("abs_path", "") for p in SDK_PATHS)
        for event in filter(None, events)
        for v in event.get("exception", {}).get("values", [])
        for f in v["sdk_frames"]
    ):
        found.append("checked SDK frames")
    stack = traceback.TracebackException.from_exception(exc, capture_locals=True)
    for te in _chain(stack):
        for frame in te.stack:
            if not any(part in frame.filename for part in SDK_PATHS):
                continue
            for name, shown in (frame.locals or {}).items():
                if name != "api_key" and any(key in shown for key in KEYS):
                    found.append(f"{label}: local {name!r} in {frame.name} shows a key")
    plain = "".join(traceback.format_exception(exc))
    for key in KEYS:
        if key in plain:
            found.append(f"{label}: the traceback text shows a key")


def _chain(te: traceback.TracebackException) -> list[traceback.TracebackException]:
    out = [te]
    while True:
        nxt = te.__cause__ or te.__context__
        if nxt is None:
            return out
        out.append(nxt)
        te = nxt


def run(kind: str, transport: str, found: list[str]) -> None:
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=ID, api_key="old-key-000")
    server = fake.serve().start()
    try:
        if transport in ("own", "aiohttp"):
            options: dict[str, Any] = {"base_url": server.base_url}
        else:
            options = {"base_url": "https://api.puretalk.test/api"}
        options.update(api_key=CALLER_KEY, max_retries=0, timeout=0.5)

        def make() -> Any:
            if transport == "own":
                return (Puretalk if kind == "sync" else AsyncPuretalk)(**options)
            if transport == "aiohttp":
                return AsyncPuretalk(**options, http_backend="aiohttp")
            if kind == "sync":
                return Puretalk(**options, http_client=httpx.Client(transport=fake.transport()))
            async_http = httpx.AsyncClient(transport=fake.async_transport())
            return AsyncPuretalk(**options, http_client=async_http)

        client = make()

        def call(integration_id: str = ID, api_key: str = NEW_KEY) -> BaseException:
            try:
                if kind == "sync":
                    client.integrations.update(integration_id, api_key=api_key)
                else:
                    asyncio.run(client.integrations.update(integration_id, api_key=api_key))
            except Exception as exc:
                return exc
            raise AssertionError("no error")

        def many(updates: Any) -> list[UpdateResult]:
            if kind == "sync":
                results: list[UpdateResult] = client.integrations.update_many(updates)
                return results
            return asyncio.run(client.integrations.update_many(updates))

        label = f"{kind}/{transport}"
        for name, plan in scenarios(fake).items():
            plan()
            check_event(f"{label} update {name}", call(), found)
            plan()
            (result,) = many({ID: NEW_KEY})
            assert result.error is not None, name
            check_event(f"{label} update_many {name}", result.error, found)
        check_event(f"{label} ValueError", call(integration_id="", api_key=NEW_KEY), found)
        check_event(f"{label} bad key", call(api_key=NEW_KEY + "\udc80"), found)
        (bad,) = many({"": NEW_KEY})
        assert bad.error is not None
        check_event(f"{label} update_many ValueError", bad.error, found)
        try:
            many([(ID, NEW_KEY), (ID.upper(), NEW_KEY)])
        except ValueError as exc:
            check_event(f"{label} update_many duplicates", exc, found)
        refused = dict(options, base_url=f"http://127.0.0.1:{free_port()}/api")
        client = (Puretalk if kind == "sync" else AsyncPuretalk)(**refused)
        check_event(f"{label} connection", call(), found)
    finally:
        server.stop()


def main() -> None:
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=MemoryTransport)
    found: list[str] = []
    for kind, transport in [
        ("sync", "own"),
        ("sync", "borrowed"),
        ("async", "own"),
        ("async", "borrowed"),
        ("async", "aiohttp"),
    ]:
        run(kind, transport, found)
    checked = "checked SDK frames" in found
    found = [f for f in found if f != "checked SDK frames"]
    json.dump({"found": found, "checked_sdk_frames": checked}, sys.stdout)


if __name__ == "__main__":
    main()
