"""Canaries for the private parts of other libraries the SDK touches (httpx 0.28 is frozen,
but a lock refresh or the move to httpx2 must fail here first, by name, not somewhere deep).

- httpx builds a client's transports through ``Client._init_transport`` and
  ``_init_proxy_transport`` (the SDK's own clients override both: the deadline-aware
  transport goes under httpx's own proxy routing);
- ``HTTPTransport._pool._network_backend`` is where the deadline-aware backend goes;
- httpx-aiohttp maps aiohttp's errors with ``raise ... from exc`` (``_httpx`` reads the
  cause to map each to the httpx class that fits it);
- httpcore asks that backend for every new connection, direct and proxied;
- ``Response._content`` (the stored body) is what httpx's own read() gives.

Each fails with a message naming the touchpoint.
"""

from __future__ import annotations

import inspect
import socket
import threading
from typing import Any

import httpx
import pytest

from puretalk_ai import APIConnectionError, AsyncPuretalk, Puretalk
from puretalk_ai._deadline import DeadlineBackend
from puretalk_ai.testing import FakePuretalk
from tests.secrets import CALLER_KEY

ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"


def _backends(client: httpx.Client) -> list[object]:
    transports: list[Any] = [client._transport, *client._mounts.values()]
    return [t._pool._network_backend for t in transports if t is not None]


def test_httpx_builds_transports_through_the_two_hooks() -> None:
    for cls in (httpx.Client, httpx.AsyncClient):
        source = inspect.getsource(cls.__init__)
        assert "self._init_transport(" in source
        assert "self._init_proxy_transport(" in source
        assert "allow_env_proxies = trust_env and transport is None" in source


def test_every_transport_of_the_own_sync_client_is_deadline_aware(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.test:3128")
    monkeypatch.setenv("ALL_PROXY", "http://other-proxy.corp.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    with Puretalk(api_key=CALLER_KEY, base_url="https://api.puretalk.ai/api") as client:
        backends = _backends(client._sender._client)
    assert len(backends) == 3  # the direct transport and one per proxy
    assert all(isinstance(b, DeadlineBackend) for b in backends)


def test_the_own_async_client_routes_proxies_through_its_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    client = AsyncPuretalk(api_key=CALLER_KEY, base_url="https://api.puretalk.ai/api")
    own = client._sender._client
    assert isinstance(own._transport, httpx.AsyncHTTPTransport)
    assert [type(t) for t in own._mounts.values()] == [httpx.AsyncHTTPTransport]


def test_httpx_aiohttp_keeps_the_cause_of_what_it_maps() -> None:
    import aiohttp
    from httpx_aiohttp import transport

    # Its mapping, which _httpx's own corrects by reading the cause.
    with pytest.raises(httpx.ConnectTimeout) as caught, transport.map_aiohttp_exceptions():
        raise aiohttp.ServerDisconnectedError()
    assert isinstance(caught.value.__cause__, aiohttp.ServerDisconnectedError)


def test_the_path_to_a_responses_http11_connection_still_exists() -> None:
    # _transport closes a connection holding bytes no request asked for, found through
    # response.stream -> httpx -> httpcore -> h11. If a release moves a hop, the stray-
    # bytes defence would silently stop: this fails first.
    import asyncio

    from puretalk_ai._transport import _CONNECTION_PATH
    from puretalk_ai.testing import FakePuretalk

    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=ID, api_key="old-key-123")

    def walk(response: httpx.Response) -> Any:
        node: Any = response.stream
        for name in _CONNECTION_PATH:
            node = getattr(node, name)
        return node._h11_state.trailing_data

    with fake.serve() as server:
        with Puretalk(api_key=CALLER_KEY, base_url=server.base_url) as client:
            raw = client.integrations.with_raw_response.update(ID, api_key="sk-new-key-00001")
            assert walk(raw.http_response) == (b"", False)

        async def run() -> Any:
            async with AsyncPuretalk(api_key=CALLER_KEY, base_url=server.base_url) as client:
                raw = await client.integrations.with_raw_response.update(
                    ID, api_key="sk-new-key-00002"
                )
                return walk(raw.http_response)

        assert asyncio.run(run()) == (b"", False)


def test_the_deadline_backend_makes_every_new_connection_direct_and_proxied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If httpcore bound the backend at pool construction (or stopped asking it for each
    connection), the sync client would silently lose its drip-proof deadline."""
    connected: list[tuple[str, int]] = []
    real = DeadlineBackend.connect_tcp

    def spy(self: DeadlineBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        connected.append((host, port))
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(DeadlineBackend, "connect_tcp", spy)
    # Direct: the fake on loopback (plain http, never proxied).
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=ID, api_key="old")
    with fake.serve() as server, Puretalk(api_key=CALLER_KEY, base_url=server.base_url) as c:
        c.integrations.update(ID, api_key="new-key-0123456789")
        port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    assert ("127.0.0.1", port) in connected, (
        "httpcore no longer connects through ConnectionPool._network_backend: the deadline "
        "backend (puretalk_ai._deadline) is bypassed on direct connections"
    )
    # Proxied: an https base URL through HTTPS_PROXY, a local listener that hangs up.
    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(4)
        proxy_port = proxy.getsockname()[1]
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        client = Puretalk(api_key=CALLER_KEY, base_url="https://api.puretalk.test/api")
        threading.Thread(target=lambda: proxy.accept()[0].close(), daemon=True).start()
        with client, pytest.raises(APIConnectionError):
            client.integrations.update(ID, api_key="new-key-0123456789", max_retries=0)
    assert ("127.0.0.1", proxy_port) in connected, (
        "httpcore no longer connects to a proxy through ConnectionPool._network_backend: "
        "the deadline backend (puretalk_ai._deadline) is bypassed on proxied connections"
    )


def test_the_stored_body_is_what_read_gives() -> None:
    """The senders store the decoded body in ``Response._content``, as httpx's own read()
    does; if httpx renamed it, users would get httpx.ResponseNotRead after the server
    applied the change."""
    content = b'{"err": false, "results": {}}'
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=content))
    with httpx.Client(transport=transport) as client:
        read = client.get("https://api.puretalk.test/")
        streamed = client.send(
            client.build_request("GET", "https://api.puretalk.test/"), stream=True
        )
    assert "_content" in vars(read), "httpx.Response no longer stores its body in _content"
    streamed._content = content  # what puretalk_ai._transport._complete does
    assert streamed.content == read.content == streamed.read() == content, (
        "httpx.Response._content no longer serves content/read(): _transport._complete "
        "must follow httpx"
    )
