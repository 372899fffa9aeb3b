"""The tools users already run see the SDK's own clients (issue 16): tracing (sentry-sdk,
OpenTelemetry), mocking (respx, pytest-httpx). Each is the real tool, not a stand-in; the
fake behind the URL proves whether a request got past a mock."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pytest_httpx import HTTPXMock

from puretalk_ai import AsyncPuretalk, Puretalk
from puretalk_ai._transport import HttpBackend
from puretalk_ai.testing import FakePuretalk, FakeServer
from tests.helpers import ROOT
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
PROBE_KEYS = ("pt-probe-caller-4f9a2c7e1b", "sk-probe-new/key+8d1e5a3f")
KINDS = ["sync", "async", "aiohttp"]


def _probe(tool: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-m", "tests.ecosystem_probe", tool],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    seen: dict[str, Any] = json.loads(run.stdout)
    return seen


def _no_key(text: str) -> None:
    for key in PROBE_KEYS:
        assert key not in text, "a key reached the tool's records"


def test_sentry_records_a_span_and_a_breadcrumb_for_every_own_client() -> None:
    seen = _probe("sentry")
    for kind in KINDS:
        path = f"/api/ruth-connect/integrations/{ID}"
        assert any(d.startswith("PATCH http://127.0.0.1:") and d.endswith(path)
                   for d in seen[kind]["spans"]), kind  # fmt: skip
        assert any(url.endswith(path) for url in seen[kind]["breadcrumbs"]), kind
        assert seen[kind]["trace_header"], kind  # distributed tracing reached the server
        _no_key(seen[kind]["text"])


def test_opentelemetry_records_a_span_for_the_httpx_backend() -> None:
    seen = _probe("otel")
    for kind in ("sync", "async"):
        assert seen[kind]["spans"] == ["PATCH"], kind
        assert seen[kind]["traceparent"], kind
        _no_key(seen[kind]["text"])
    # httpx's instrumentor hooks httpx's transports, and aiohttp is not one: the docs'
    # table sends aiohttp users to aiohttp's own instrumentor. This records the limit.
    assert seen["aiohttp"]["spans"] == []


# --- mocking tools: the fake behind the URL must see nothing ----------------------------------


@pytest.fixture
def served() -> Iterator[tuple[FakePuretalk, FakeServer]]:
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=ID, api_key="old-key-123")
    with fake.serve() as server:
        yield fake, server


def _mocked_body() -> dict[str, Any]:
    return {
        "err": False,
        "msg": "mocked",
        "results": {"integration_id": ID, "app_name": "mocked-app", "api_key": "***"},
    }


def _update(kind: str, base_url: str) -> Any:
    if kind == "sync":
        with Puretalk(api_key=CALLER_KEY, base_url=base_url, max_retries=0) as client:
            return client.integrations.update(ID, api_key=NEW_KEY)
    backend: HttpBackend = "aiohttp" if kind == "aiohttp" else "httpx"

    async def run() -> Any:
        async with AsyncPuretalk(
            api_key=CALLER_KEY, base_url=base_url, http_backend=backend, max_retries=0
        ) as client:
            return await client.integrations.update(ID, api_key=NEW_KEY)

    return asyncio.run(run())


@pytest.mark.parametrize("kind", KINDS)
def test_respx_using_httpx_intercepts_every_own_client(
    served: tuple[FakePuretalk, FakeServer], kind: str
) -> None:
    fake, server = served
    with respx.mock(using="httpx", assert_all_called=True) as router:
        route = router.patch(f"{server.base_url}/ruth-connect/integrations/{ID}")
        route.respond(200, json=_mocked_body())
        integration = _update(kind, server.base_url)
    assert integration.app_name == "mocked-app"
    assert route.calls.last.request.headers["x-api-key"] == CALLER_KEY
    assert fake.requests == []  # nothing got past the mock


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_respx_default_mode_intercepts_the_httpx_backend(
    served: tuple[FakePuretalk, FakeServer], kind: str
) -> None:
    fake, server = served
    with respx.mock(assert_all_called=True) as router:
        router.patch(f"{server.base_url}/ruth-connect/integrations/{ID}").respond(
            200, json=_mocked_body()
        )
        assert _update(kind, server.base_url).app_name == "mocked-app"
    assert fake.requests == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_pytest_httpx_intercepts_the_httpx_backend(
    served: tuple[FakePuretalk, FakeServer], kind: str, httpx_mock: HTTPXMock
) -> None:
    fake, server = served
    httpx_mock.add_response(
        method="PATCH", url=f"{server.base_url}/ruth-connect/integrations/{ID}", json=_mocked_body()
    )
    assert _update(kind, server.base_url).app_name == "mocked-app"
    assert fake.requests == []
    assert json.loads(httpx_mock.get_requests()[0].content) == {"data": {"api_key": NEW_KEY}}


def test_the_own_clients_are_plain_httpx_clients_sent_through_send(
    served: tuple[FakePuretalk, FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The public point every httpx-level tool hooks: a patch of the class reaches the SDK.
    _, server = served
    sent: list[str] = []
    original_send = httpx.Client.send
    original_async_send = httpx.AsyncClient.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        sent.append("sync")
        return original_send(self, request, **kwargs)

    async def async_send(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        sent.append("async")
        return await original_async_send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    monkeypatch.setattr(httpx.AsyncClient, "send", async_send)
    for kind in KINDS:
        _update(kind, server.base_url)
    assert sent == ["sync", "async", "async"]
