"""Client construction: environment, base-URL policy, http_client, with_options, closing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from puretalk_ai import DEFAULT_BASE_URL, AsyncPuretalk, NotFoundError, Puretalk, PuretalkError
from tests.conftest import BASE_URL, INTEGRATION_ID, integration_json
from tests.secrets import CALLER_KEY, NEW_KEY

CLIENTS = [Puretalk, AsyncPuretalk]


@pytest.mark.parametrize("cls", CLIENTS)
def test_missing_key_names_the_environment_variable(cls: type[Any]) -> None:
    with pytest.raises(PuretalkError, match="PURETALK_API_KEY"):
        cls()
    with pytest.raises(PuretalkError, match="PURETALK_API_KEY"):
        cls(api_key="")


@pytest.mark.parametrize("cls", CLIENTS)
def test_key_and_base_url_come_from_the_environment(
    cls: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PURETALK_API_KEY", CALLER_KEY)
    client = cls()
    assert client.base_url == DEFAULT_BASE_URL == "https://api.puretalk.ai/api"
    monkeypatch.setenv("PURETALK_BASE_URL", "https://eu.puretalk.test/api/")
    assert cls().base_url == "https://eu.puretalk.test/api"
    assert cls(base_url="https://other.test").base_url == "https://other.test"


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    "url",
    [
        "http://api.puretalk.ai/api",
        "http://10.0.0.1:8080",
        "http://example.com",
        "http://128.0.0.1",
        "ftp://api.puretalk.ai",
        "api.puretalk.ai/api",
        "https://api.puretalk.ai/api?x=1",
        "https://user:pw@api.puretalk.ai/api",
    ],
)
def test_unsafe_base_urls_are_refused(cls: type[Any], url: str) -> None:
    # A bad argument is a ValueError naming it, as for update()'s arguments.
    with pytest.raises(ValueError, match="base_url"):
        cls(api_key=CALLER_KEY, base_url=url)


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:4010", "http://127.9.8.7", "http://[::1]:8080/api", "http://localhost:3000"],
)
def test_plain_http_is_allowed_on_loopback(cls: type[Any], url: str) -> None:
    assert cls(api_key=CALLER_KEY, base_url=url).base_url == url.rstrip("/")


@pytest.mark.parametrize("cls", CLIENTS)
def test_key_with_control_characters_is_refused(cls: type[Any]) -> None:
    with pytest.raises(ValueError, match="api_key must be visible ASCII"):
        cls(api_key="abc\r\nX-Evil: 1")


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("argument", "value", "error"),
    [
        ("api_key", 123, TypeError),
        ("api_key", b"bytes-key", TypeError),
        ("base_url", 42, TypeError),
        ("timeout", "30", TypeError),
        ("max_retries", "2", TypeError),
        ("max_retries", -1, ValueError),
        ("total_timeout", float("nan"), ValueError),
        ("default_headers", ["x"], TypeError),
        ("max_response_bytes", 0, ValueError),
        ("strict_response_validation", "yes", TypeError),
        ("retry_policy", {"initial_delay": 1}, TypeError),
    ],
)
def test_bad_constructor_arguments_are_type_or_value_errors_naming_them(
    cls: type[Any], argument: str, value: Any, error: type[Exception]
) -> None:
    kwargs = {"api_key": CALLER_KEY, argument: value}
    with pytest.raises(error, match=argument) as caught:
        cls(**kwargs)
    assert not isinstance(caught.value, PuretalkError)
    assert "bytes-key" not in str(caught.value)


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_retries": -1}, ValueError),
        ({"max_retries": 1.5}, TypeError),
        ({"timeout": 0}, ValueError),
        ({"timeout": "30"}, TypeError),
        ({"total_timeout": -5}, ValueError),
        ({"http_client": object()}, TypeError),
    ],
)
def test_bad_options_are_refused(
    cls: type[Any], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        cls(api_key=CALLER_KEY, **kwargs)


def test_the_wrong_kind_of_http_client_is_refused() -> None:
    with pytest.raises(TypeError, match="AsyncClient"):
        AsyncPuretalk(api_key=CALLER_KEY, http_client=httpx.Client())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Client"):
        Puretalk(api_key=CALLER_KEY, http_client=httpx.AsyncClient())  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", CLIENTS)
def test_repr_hides_the_key(cls: type[Any]) -> None:
    client = cls(api_key=CALLER_KEY, base_url=BASE_URL)
    for text in (repr(client), str(client), repr(client.with_options(max_retries=5))):
        assert CALLER_KEY not in text
        assert "api_key='***'" in text


def test_users_http_client_carries_the_requests_with_our_auth(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=integration_json())
    user_client = httpx.Client(headers={"X-Proxy-Tag": "corp"})
    with Puretalk(api_key=CALLER_KEY, base_url=BASE_URL, http_client=user_client) as client:
        client.integrations.update(INTEGRATION_ID, api_key="k")
    request = httpx_mock.get_requests()[0]
    assert request.headers["x-proxy-tag"] == "corp"
    assert request.headers["x-api-key"] == CALLER_KEY
    assert not user_client.is_closed  # the caller owns it
    user_client.close()


def test_custom_transport_is_used() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=integration_json())

    user_client = httpx.Client(transport=httpx.MockTransport(handler))
    client = Puretalk(api_key=CALLER_KEY, base_url=BASE_URL, http_client=user_client)
    assert client.integrations.update(INTEGRATION_ID, api_key="k").app_name == "elevenlabs"
    assert len(seen) == 1


def test_with_options_shares_the_pool_and_overrides(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503, is_reusable=True)
    client = Puretalk(api_key=CALLER_KEY, base_url=BASE_URL)
    copy = client.with_options(max_retries=0, timeout=2.0, total_timeout=9.0)
    assert copy._sender is client._sender
    assert (copy.max_retries, copy.total_timeout, copy.timeout) == (0, 9.0, httpx.Timeout(2.0))
    assert (client.max_retries, client.total_timeout) == (2, None)
    with pytest.raises(PuretalkError):
        copy.integrations.update(INTEGRATION_ID, api_key="k")
    assert len(httpx_mock.get_requests()) == 1
    copy.close()
    assert not client.is_closed  # closing a copy leaves the shared pool open
    client.close()
    assert client.is_closed


def test_with_options_still_checks_the_base_url() -> None:
    client = Puretalk(api_key=CALLER_KEY, base_url=BASE_URL)
    with pytest.raises(ValueError, match="plain-http"):
        client.with_options(base_url="http://api.puretalk.ai")


def test_sync_context_manager_closes_its_pool() -> None:
    with Puretalk(api_key=CALLER_KEY) as client:
        assert not client.is_closed
    assert client.is_closed


def test_async_context_manager_closes_its_pool() -> None:
    async def run() -> AsyncPuretalk:
        async with AsyncPuretalk(api_key=CALLER_KEY) as client:
            assert not client.is_closed
        return client

    assert asyncio.run(run()).is_closed


def test_async_users_client_is_left_open(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=integration_json())

    async def run() -> httpx.AsyncClient:
        user_client = httpx.AsyncClient()
        async with AsyncPuretalk(api_key=CALLER_KEY, http_client=user_client) as client:
            await client.integrations.update(INTEGRATION_ID, api_key="k")
        return user_client

    user_client = asyncio.run(run())
    assert not user_client.is_closed
    asyncio.run(user_client.aclose())


def test_with_options_keeps_the_http_backend_and_rebuilds_the_pool_only_when_needed() -> None:
    client = AsyncPuretalk(api_key=CALLER_KEY, base_url=BASE_URL, http_backend="aiohttp")
    same_pool = client.with_options(max_retries=0)
    new_origin = client.with_options(base_url="https://other.puretalk.test/api")
    assert same_pool._sender is client._sender
    assert new_origin._sender is not client._sender  # its own proxy choice and pool
    assert (same_pool.http_backend, new_origin.http_backend) == ("aiohttp", "aiohttp")
    assert new_origin._owns_http
    assert not same_pool._owns_http


def test_with_options_replaces_a_default_header_whatever_the_case_of_its_name() -> None:
    seen: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get_list("x-team"))
        return httpx.Response(404, json={"err": True, "msg": "Integration not found"})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    client = Puretalk(
        api_key=CALLER_KEY, default_headers={"X-Team": "a"}, http_client=http, max_retries=0
    )
    copy = client.with_options(default_headers={"x-team": "b"})
    for each in (client, copy):
        with pytest.raises(NotFoundError):
            each.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
    assert seen == [["a"], ["b"]]
