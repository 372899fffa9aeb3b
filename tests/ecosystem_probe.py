"""Run one real tracing tool (sentry-sdk or OpenTelemetry's httpx instrumentor) over SDK
calls made with the SDK's own clients (no ``http_client``), against the fake on loopback,
and print as JSON what the tool recorded for each kind of client. Run by
tests/test_ecosystem.py in its own process: both tools patch httpx process-wide.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from puretalk_ai import AsyncPuretalk, Puretalk
from puretalk_ai._transport import HttpBackend
from puretalk_ai.testing import FakePuretalk

CALLER_KEY = "pt-probe-caller-4f9a2c7e1b"
NEW_KEY = "sk-probe-new/key+8d1e5a3f"
ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
KINDS = ("sync", "async", "aiohttp")


def updater(base_url: str) -> Callable[[str], None]:
    def update(kind: str) -> None:
        if kind == "sync":
            with Puretalk(api_key=CALLER_KEY, base_url=base_url) as client:
                client.integrations.update(ID, api_key=NEW_KEY)
            return

        async def run() -> None:
            backend: HttpBackend = "aiohttp" if kind == "aiohttp" else "httpx"
            async with AsyncPuretalk(
                api_key=CALLER_KEY, base_url=base_url, http_backend=backend
            ) as client:
                await client.integrations.update(ID, api_key=NEW_KEY)

        asyncio.run(run())

    return update


def sentry(update: Callable[[str], None], fake: FakePuretalk) -> dict[str, Any]:
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.transport import Transport

    class Memory(Transport):
        envelopes: ClassVar[list[Envelope]] = []

        def capture_envelope(self, envelope: Envelope) -> None:
            Memory.envelopes.append(envelope)

    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Memory, traces_sample_rate=1.0)
    seen: dict[str, Any] = {}
    for kind in KINDS:
        with sentry_sdk.start_transaction(op="test", name=kind):
            update(kind)
        sentry_sdk.capture_message(f"after {kind}")
        sentry_sdk.flush()
        events = [item.payload.json for env in Memory.envelopes for item in env.items]
        Memory.envelopes.clear()
        spans = [s for e in events if e for s in e.get("spans", []) if s.get("op") == "http.client"]
        crumbs = [
            c
            for e in events
            if e
            for c in (e.get("breadcrumbs") or {}).get("values", [])
            if c.get("type") == "http"
        ]
        request = fake.requests[-1]
        seen[kind] = {
            "spans": [s.get("description") for s in spans],
            "breadcrumbs": [c.get("data", {}).get("url") for c in crumbs],
            "trace_header": "sentry-trace" in request.headers,
            "text": json.dumps(events),
        }
        fake.requests.clear()
        # Each message event carries every breadcrumb so far: start each kind afresh.
        sentry_sdk.get_isolation_scope().clear_breadcrumbs()
    return seen


def otel(update: Callable[[str], None], fake: FakePuretalk) -> dict[str, Any]:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    seen: dict[str, Any] = {}
    for kind in KINDS:
        update(kind)
        spans = exporter.get_finished_spans()
        exporter.clear()
        seen[kind] = {
            "spans": [s.name for s in spans],
            "traceparent": "traceparent" in fake.requests[-1].headers,
            "text": json.dumps([s.to_json() for s in spans]),
        }
        fake.requests.clear()
    return seen


def main() -> int:
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=ID, api_key="old-key-for-the-probe")
    with fake.serve() as server:
        tool = {"sentry": sentry, "otel": otel}[sys.argv[1]]
        print(json.dumps(tool(updater(server.base_url), fake)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
