"""Canaries for the private parts of other libraries the SDK touches (httpx 0.28 is frozen,
but a lock refresh or the move to httpx2 must fail here first, by name, not somewhere deep).

- httpx builds a client's transports through ``Client._init_transport`` and
  ``_init_proxy_transport`` (the SDK's own clients override both: the deadline-aware
  transport goes under httpx's own proxy routing);
- ``HTTPTransport._pool._network_backend`` is where the deadline-aware backend goes;
- httpx-aiohttp maps aiohttp's errors with ``raise ... from exc`` (failure_kind reads the
  cause to tell a dropped connection from a timeout).
"""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest

from puretalk_ai import AsyncPuretalk, Puretalk
from puretalk_ai._deadline import DeadlineBackend
from tests.secrets import CALLER_KEY


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

    # Its mapping, which failure_kind corrects by reading the cause.
    with pytest.raises(httpx.ConnectTimeout) as caught, transport.map_aiohttp_exceptions():
        raise aiohttp.ServerDisconnectedError()
    assert isinstance(caught.value.__cause__, aiohttp.ServerDisconnectedError)
