"""``proxy=`` as httpx has it, and the explicit opt-in for plain http off loopback (an
internal gateway, a sidecar), which warns once per host."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import uuid
import warnings
from typing import Any

import pytest

import puretalk_ai
from puretalk_ai import AsyncPuretalk, Puretalk
from puretalk_ai._transport import HttpBackend
from tests.conftest import integration_json
from tests.helpers import JsonHandler, serving
from tests.secrets import CALLER_KEY, NEW_KEY

TARGET = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
PROXY_SECRET = "pr0xy-passw0rd-9f8e7d"


def _host() -> str:
    # The warning is said once per host and process: each test has hosts of its own.
    return f"gateway-{uuid.uuid4().hex[:8]}.internal.example"


def test_plain_http_off_loopback_is_refused_without_the_opt_in() -> None:
    with pytest.raises(ValueError, match="allow_insecure_http=True") as caught:
        Puretalk(api_key=CALLER_KEY, base_url=f"http://{_host()}/api")
    assert CALLER_KEY not in str(caught.value)
    with pytest.raises(ValueError, match="allow_insecure_http"):
        AsyncPuretalk(api_key=CALLER_KEY, base_url=f"http://{_host()}/api")


def test_the_opt_in_warns_once_per_host() -> None:
    host, other, third = _host(), _host(), _host()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(3):
            Puretalk(api_key=CALLER_KEY, base_url=f"http://{host}/api", allow_insecure_http=True)
        AsyncPuretalk(api_key=CALLER_KEY, base_url=f"http://{host}/x", allow_insecure_http=True)
        Puretalk(api_key=CALLER_KEY, base_url=f"http://{other}/api", allow_insecure_http=True)
        Puretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:1/api", allow_insecure_http=True)
        Puretalk(api_key=CALLER_KEY, base_url="https://example.com/api", allow_insecure_http=True)
        AsyncPuretalk(api_key=CALLER_KEY, base_url=f"http://{third}", allow_insecure_http=True)
    texts = [str(w.message) for w in seen if issubclass(w.category, RuntimeWarning)]
    assert len(texts) == 3, texts
    assert host in texts[0]
    assert other in texts[1]
    assert third in texts[2]
    assert all(CALLER_KEY not in text for text in texts)
    # Each points at the line that made the client, sync or async.
    assert [w.filename for w in seen] == [__file__] * 3


def test_the_opt_in_is_a_bool() -> None:
    with pytest.raises(TypeError, match="allow_insecure_http"):
        Puretalk(api_key=CALLER_KEY, allow_insecure_http="yes")  # type: ignore[arg-type]


class _Proxy:
    """A forward proxy on 127.0.0.1 that answers as the API itself: it records the
    absolute-form target of every request and the key it carried."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(JsonHandler):
            def do_PATCH(self) -> None:
                body = self.read_body()
                with proxy.lock:
                    proxy.seen.append((self.command, self.path, self.headers.get("X-API-KEY")))
                assert json.loads(body)["data"]["api_key"] == NEW_KEY
                self.send_json(200, integration_json(integration_id=TARGET))

        return Handler


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["sync", "httpx", "aiohttp"])
def test_every_request_goes_through_the_proxy(path: str) -> None:
    """A host that does not resolve, reached only through the proxy: the update lands,
    sent to the proxy in absolute form, with the key."""
    proxy = _Proxy()
    host = _host()
    base_url = f"http://{host}/api"
    with serving(proxy.handler()) as proxy_url:
        options: dict[str, Any] = {
            "api_key": CALLER_KEY, "base_url": base_url, "proxy": proxy_url,
            "allow_insecure_http": True, "max_retries": 0,
        }  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if path == "sync":
                with Puretalk(**options) as client:
                    integration = client.integrations.update(TARGET, api_key=NEW_KEY)
            else:
                backend: HttpBackend = "aiohttp" if path == "aiohttp" else "httpx"

                async def go() -> puretalk_ai.Integration:
                    async with AsyncPuretalk(**options, http_backend=backend) as client:
                        return await client.integrations.update(TARGET, api_key=NEW_KEY)

                integration = asyncio.run(go())
    assert str(integration.integration_id) == TARGET
    url = f"{base_url}/ruth-connect/integrations/{TARGET}"
    assert proxy.seen == [("PATCH", url, CALLER_KEY)]


def test_a_proxy_and_an_http_client_together_are_refused() -> None:
    import httpx

    with pytest.raises(ValueError, match="proxy or http_client"):
        Puretalk(api_key=CALLER_KEY, proxy="http://127.0.0.1:3128", http_client=httpx.Client())


@pytest.mark.parametrize(
    "proxy",
    [f"ftp://user:{PROXY_SECRET}@127.0.0.1:21", f"user:{PROXY_SECRET}@nohost", 12],
)
def test_a_bad_proxy_is_named_without_its_credentials(proxy: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="proxy") as caught:
        Puretalk(api_key=CALLER_KEY, proxy=proxy)
    assert PROXY_SECRET not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


@pytest.mark.e2e
def test_a_proxy_that_refuses_never_shows_its_credentials() -> None:
    proxy = f"http://user:{PROXY_SECRET}@127.0.0.1:9"  # discard port: refused
    with Puretalk(api_key=CALLER_KEY, base_url="https://api.example", proxy=proxy) as client:
        assert PROXY_SECRET not in repr(client)
        assert PROXY_SECRET not in repr(client._config)
        with pytest.raises(puretalk_ai.APIConnectionError) as caught:
            client.with_options(max_retries=0).integrations.update(TARGET, api_key=NEW_KEY)
    error = caught.value
    assert error.may_have_been_applied is False
    chain = [error, error.__cause__, error.__context__]
    assert all(PROXY_SECRET not in f"{e!s} {e!r}" for e in chain if e is not None)
