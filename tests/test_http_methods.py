"""The escape hatch: client.get/post/put/patch/delete reach any path of the API with the
whole safety net (retries only where the method allows, typed errors, secrets masked),
and the small conventions users of other SDKs expect (request ids, close())."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import puretalk_ai
from puretalk_ai import AsyncPuretalk, NotFoundError, Puretalk
from puretalk_ai.testing import FakePuretalk
from tests.conftest import BASE_URL
from tests.helpers import FAST_RETRIES
from tests.secrets import CALLER_KEY, NEW_KEY

ROUTE = "/ruth-connect/integrations"


def seeded() -> tuple[FakePuretalk, str]:
    fake = FakePuretalk(api_key=CALLER_KEY)
    stored = fake.add_integration(app_name="vapi", api_key="old-key-000")
    return fake, stored.integration_id


def test_get_reads_an_integration_and_an_unknown_one_is_not_found() -> None:
    fake, integration_id = seeded()
    with fake.client() as client:
        answer = client.get(f"{ROUTE}/{integration_id}")
        listed = client.get(ROUTE, params={"page": 1, "limit": 10})
        with pytest.raises(NotFoundError) as caught:
            client.get(f"{ROUTE}/00000000-0000-4000-8000-000000000000")
    assert answer["results"]["app_name"] == "vapi"
    assert [i["integration_id"] for i in listed["results"]] == [integration_id]
    assert (caught.value.request_id or "").startswith("req_")
    assert caught.value.request is not None
    assert caught.value.request.headers["x-api-key"] == "***"
    assert caught.value.may_have_been_applied is False


@pytest.mark.e2e  # a loopback server
def test_the_async_client_reads_too_and_closes_with_close() -> None:
    fake, integration_id = seeded()

    async def go(base_url: str) -> Any:
        client = AsyncPuretalk(api_key=CALLER_KEY, base_url=base_url)
        try:
            return await client.with_raw_response.get(f"{ROUTE}/{integration_id}")
        finally:
            await client.close()  # as openai-python's clients take it
            assert client.is_closed

    with fake.serve() as server:
        raw = asyncio.run(go(server.base_url))
    assert raw.status_code == 200
    assert (raw.request_id or "").startswith("req_")
    assert raw.parse()["results"]["integration_id"] == integration_id


def _counting(status: int) -> tuple[httpx.MockTransport, list[str]]:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(status, json={"err": True, "msg": "busy"})

    return httpx.MockTransport(answer), seen


@pytest.mark.parametrize(("method", "sends"), [("GET", 3), ("PATCH", 3), ("POST", 1)])
def test_retries_only_where_the_method_allows(method: str, sends: int) -> None:
    transport, seen = _counting(503)
    http = httpx.Client(transport=transport)
    with (
        Puretalk(
            api_key=CALLER_KEY, base_url=BASE_URL, http_client=http, retry_policy=FAST_RETRIES
        ) as client,
        pytest.raises(puretalk_ai.InternalServerError),
    ):
        client.with_raw_response.request(method, "/anything", json={"a": 1})
    assert len(seen) == sends


def test_a_secret_named_field_it_sends_is_masked_in_the_answer_and_errors() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"err": False, "echo": f"got {NEW_KEY}", "token": NEW_KEY})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with Puretalk(api_key=CALLER_KEY, base_url=BASE_URL, http_client=http) as client:
        data = client.post("/things", json={"name": "x", "api_key": NEW_KEY})
    assert data["echo"] == "got ***"
    assert data["token"] == NEW_KEY  # a secret-named field: where the value belongs


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("ruth-connect", ValueError),  # not under the base URL
        ("//evil.test/steal", ValueError),
        ("/a/../b", ValueError),
        ("/a?x=1", ValueError),  # params=, not a query in the path
        (123, TypeError),
    ],
)
def test_a_bad_path_is_refused_before_anything_is_sent(path: Any, error: type[Exception]) -> None:
    transport, seen = _counting(200)
    http = httpx.Client(transport=transport)
    with Puretalk(api_key=CALLER_KEY, base_url=BASE_URL, http_client=http) as client:
        with pytest.raises(error):
            client.get(path)
        with pytest.raises(TypeError, match="api_key"):
            client.post("/things", json={"api_key": 123})
    assert seen == []


def test_the_path_joins_the_base_url_and_is_percent_encoded() -> None:
    urls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(204)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with Puretalk(api_key=CALLER_KEY, base_url=BASE_URL, http_client=http) as client:
        assert client.delete("/a b/é", params={"q": "x y"}) is None
    assert urls == [f"{BASE_URL}/a%20b/%C3%A9?q=x+y"]


def test_async_post_is_never_retried() -> None:
    seen: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(503, json={"err": True, "msg": "busy"})

    async def go() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        async with AsyncPuretalk(
            api_key=CALLER_KEY, base_url=BASE_URL, http_client=http, retry_policy=FAST_RETRIES
        ) as client:
            await client.post("/things", json={"a": 1})

    with pytest.raises(puretalk_ai.InternalServerError):
        asyncio.run(go())
    assert seen == ["POST"]
