"""Contract tests: the wrapper against Prism, an independent mock built from the spec.

Prism validates every request against openapi/puretalk.yaml (401 without X-API-KEY, 422
for a body off the schema) and answers from the spec's schemas and examples. It serves
the paths at the root, without the spec server's /api prefix. Installed by `make test`
(npm ci, pinned in package-lock.json); these tests fail, never skip, when it is missing.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import puretalk_ai
from puretalk_ai import AsyncPuretalk, Puretalk
from tests.helpers import ROOT
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

PRISM = ROOT / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "openapi" / "puretalk.yaml"
EXAMPLE_ID = uuid.UUID("123e4567-e89b-12d3-a456-426614174000")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    if not PRISM.exists():
        pytest.fail("Prism is not installed: `make test` installs it with npm ci (needs npm)")
    port = _free_port()
    process = subprocess.Popen(
        [str(PRISM), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"Prism exited with {process.returncode}:\n{output[-2000:]}")
            try:
                httpx.get(base_url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("Prism did not start listening within 60 s")
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def update(kind: str, base_url: str, **options: Any) -> puretalk_ai.Integration:
    transport = options.pop("transport", None)
    hooks = options.pop("hooks", None)
    call = {k: options.pop(k) for k in ("extra_headers",) if k in options}
    options.setdefault("max_retries", 0)
    if kind == "sync":
        http = httpx.Client(transport=transport, event_hooks={"request": hooks or []})
        with Puretalk(api_key=CALLER_KEY, base_url=base_url, http_client=http, **options) as c:
            try:
                return c.integrations.update(str(EXAMPLE_ID), api_key=NEW_KEY, **call)
            finally:
                http.close()

    async def run() -> puretalk_ai.Integration:
        async_hooks = [_async(h) for h in hooks or []]
        async with httpx.AsyncClient(
            transport=transport, event_hooks={"request": async_hooks}
        ) as http:
            client = AsyncPuretalk(
                api_key=CALLER_KEY, base_url=base_url, http_client=http, **options
            )
            return await client.integrations.update(str(EXAMPLE_ID), api_key=NEW_KEY, **call)

    return asyncio.run(run())


def _async(hook: Any) -> Any:
    async def wrapped(request: httpx.Request) -> None:
        hook(request)

    return wrapped


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_happy_path_passes_prisms_request_validation(prism: str, kind: str) -> None:
    integration = update(kind, prism)
    assert integration.integration_id == EXAMPLE_ID
    assert integration.app_name == "My App"
    assert isinstance(integration.data, puretalk_ai.IntegrationData)
    assert isinstance(integration.created_at, datetime.datetime)
    assert integration.created_at.tzinfo is not None
    assert isinstance(integration.tools, list)


def _strip_key(request: httpx.Request) -> None:
    del request.headers["x-api-key"]


def test_without_the_key_prism_answers_401(prism: str, kind: str) -> None:
    with pytest.raises(puretalk_ai.AuthenticationError, match="Invalid security scheme") as caught:
        update(kind, prism, hooks=[_strip_key])
    assert caught.value.body["type"].endswith("#UNAUTHORIZED")  # problem+json, no `err`


def _broken(request: httpx.Request) -> httpx.Request:
    """The same request with a body off the schema (api_key a number)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return httpx.Request(
        request.method, request.url, headers=headers, json={"data": {"api_key": 5}}
    )


class _BreakBody(httpx.HTTPTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return super().handle_request(_broken(request))


class _AsyncBreakBody(httpx.AsyncHTTPTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await super().handle_async_request(_broken(request))


def test_a_body_off_the_schema_gets_422(prism: str, kind: str) -> None:
    transport = _BreakBody() if kind == "sync" else _AsyncBreakBody()
    with pytest.raises(puretalk_ai.UnprocessableEntityError, match="Invalid request") as caught:
        update(kind, prism, transport=transport)
    assert "data.api_key must be string" in str(caught.value.body)


def test_prefer_code_404_is_not_found(prism: str, kind: str) -> None:
    with pytest.raises(puretalk_ai.NotFoundError) as caught:
        update(kind, prism, extra_headers={"Prefer": "code=404"})
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["err"] is True  # the spec's Error schema
    assert caught.value.message == body["msg"]


def test_prisms_own_route_error_is_typed(prism: str, kind: str) -> None:
    # With the spec server's /api prefix Prism finds no route: its problem+json 404.
    with pytest.raises(puretalk_ai.NotFoundError, match="Route not resolved") as caught:
        update(kind, prism + "/api")
    assert caught.value.body["type"].endswith("#NO_PATH_MATCHED_ERROR")
