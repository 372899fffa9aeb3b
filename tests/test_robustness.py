"""Nothing escapes: bad options, closed clients, fork, proxies (issue: hostile servers)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from puretalk_ai import APITimeoutError, AsyncPuretalk, Puretalk, PuretalkError
from puretalk_ai._transport import HttpBackend
from puretalk_ai.testing import FakePuretalk
from tests import hostile
from tests.conftest import BASE_URL, INTEGRATION_ID, Api
from tests.helpers import ROOT
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

NON_FINITE = [math.nan, math.inf, -math.inf, -1.0, 0.0]


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("cls", [Puretalk, AsyncPuretalk])
def test_non_finite_or_negative_timeouts_are_refused_at_construction(
    cls: type[Any], value: float
) -> None:
    with pytest.raises(ValueError, match=r"timeout must be a finite number > 0"):
        cls(api_key=CALLER_KEY, timeout=value)
    with pytest.raises(ValueError, match=r"timeout\.read must be a finite number > 0"):
        cls(api_key=CALLER_KEY, timeout=httpx.Timeout(5.0, read=value))
    with pytest.raises(ValueError, match=r"total_timeout must be a finite number > 0"):
        cls(api_key=CALLER_KEY, total_timeout=value)


@pytest.mark.parametrize("value", NON_FINITE)
def test_non_finite_per_call_timeouts_are_refused_before_sending(
    api: Api, httpx_mock: HTTPXMock, value: float
) -> None:
    with pytest.raises(ValueError, match="timeout"):
        api.update(timeout=value)
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    "integration_id", ["a" * 1_000_000, "x" * 257, "\ud800", "ok\udfffid"], ids=len
)
def test_ids_too_long_or_not_unicode_are_value_errors(
    api: Api, httpx_mock: HTTPXMock, integration_id: str
) -> None:
    with pytest.raises(ValueError, match="integration_id"):
        api.update(integration_id)
    assert httpx_mock.get_requests() == []


def test_a_new_key_utf8_cannot_carry_is_a_value_error_without_the_value(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    with pytest.raises(ValueError, match="api_key cannot be encoded as UTF-8") as caught:
        api.update(api_key="sk-live-\udc80-secret")
    assert "secret" not in str(caught.value)
    assert httpx_mock.get_requests() == []


def test_a_closed_client_raises_a_puretalk_error_and_sends_nothing(
    httpx_mock: HTTPXMock,
) -> None:
    client = Puretalk(api_key=CALLER_KEY, base_url=BASE_URL)
    client.close()
    with pytest.raises(PuretalkError, match="client is closed"):
        client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
    user_http = httpx.Client()
    borrowed = Puretalk(api_key=CALLER_KEY, base_url=BASE_URL, http_client=user_http)
    user_http.close()
    with pytest.raises(PuretalkError, match="client is closed"):
        borrowed.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
    assert httpx_mock.get_requests() == []


def test_a_closed_async_client_raises_a_puretalk_error(httpx_mock: HTTPXMock) -> None:
    async def run() -> None:
        client = AsyncPuretalk(api_key=CALLER_KEY, base_url=BASE_URL)
        await client.aclose()
        with pytest.raises(PuretalkError, match="client is closed"):
            await client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)

    asyncio.run(run())
    assert httpx_mock.get_requests() == []


# --- proxies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async", "aiohttp"])
def test_plain_http_loopback_never_goes_through_an_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    proxy = hostile.HostileServer(hostile.serve_bytes(b"HTTP/1.1 502 Proxy\r\n", b""))
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=INTEGRATION_ID, api_key="old-key-123")
    with proxy as proxy_url, fake.serve() as server:
        address = proxy_url.removesuffix("/api")
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, address)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        if kind == "sync":
            with Puretalk(api_key=CALLER_KEY, base_url=server.base_url) as client:
                integration = client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
        else:
            backend: HttpBackend = "aiohttp" if kind == "aiohttp" else "httpx"

            async def run() -> Any:
                async with AsyncPuretalk(
                    api_key=CALLER_KEY, base_url=server.base_url, http_backend=backend
                ) as c:
                    return await c.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)

            integration = asyncio.run(run())
    assert str(integration.integration_id) == INTEGRATION_ID
    assert proxy.connections == 0  # the key never reached the proxy
    assert fake.integrations[INTEGRATION_ID].api_key == NEW_KEY


# (NO_PROXY, URL): every form of NO_PROXY httpx accepts, on hosts that match and not.
PROXY_CASES = [
    ("", "https://api.puretalk.ai/api"),
    ("api.puretalk.ai", "https://api.puretalk.ai/api"),
    ("puretalk.ai", "https://api.puretalk.ai/api"),
    (".puretalk.ai", "https://api.puretalk.ai/api"),
    ("other.ai", "https://api.puretalk.ai/api"),
    ("api.puretalk.ai:443", "https://api.puretalk.ai/api"),
    ("api.puretalk.ai:8443", "https://api.puretalk.ai:8443/api"),
    ("api.puretalk.ai:8443", "https://api.puretalk.ai/api"),
    ("*", "https://api.puretalk.ai/api"),
    ("10.1.2.3", "https://10.1.2.3/api"),
    ("10.1.2.4", "https://10.1.2.3/api"),
    ("::1", "https://[::1]:8443/api"),
    ("localhost", "https://localhost:8443/api"),
    ("https://api.puretalk.ai", "https://api.puretalk.ai/api"),
    ("http://api.puretalk.ai", "https://api.puretalk.ai/api"),
    (" api.puretalk.ai , other.ai ", "https://api.puretalk.ai/api"),
    ("PURETALK.AI", "https://api.puretalk.ai/api"),
]


def _proxy_chosen(client: httpx.Client | httpx.AsyncClient, url: str) -> str | None:
    """The proxy httpx's routing sends this URL through, or None (direct)."""
    transport = client._transport_for_url(httpx.URL(url))
    proxy = getattr(getattr(transport, "_pool", None), "_proxy_url", None)
    return None if proxy is None else f"{proxy.host.decode()}:{proxy.port}"


@pytest.mark.parametrize(("no_proxy", "url"), PROXY_CASES)
@pytest.mark.parametrize("proxy_variable", ["HTTPS_PROXY", "ALL_PROXY"])
def test_the_own_transport_decides_proxies_as_httpx_does(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, url: str, proxy_variable: str
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv(proxy_variable, "http://proxy.corp.test:3128")
    if no_proxy:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    with httpx.Client() as plain:
        expected = _proxy_chosen(plain, url)
    with Puretalk(api_key=CALLER_KEY, base_url=url) as client:
        assert _proxy_chosen(client._sender._client, url) == expected
    async_client = AsyncPuretalk(api_key=CALLER_KEY, base_url=url)
    assert _proxy_chosen(async_client._sender._client, url) == expected


def test_the_proxy_table_has_both_outcomes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The parity test above proves nothing if httpx proxied every case, or none.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.test:3128")
    outcomes = set()
    for no_proxy, url in PROXY_CASES:
        monkeypatch.setenv("NO_PROXY", no_proxy)
        with httpx.Client() as plain:
            outcomes.add(_proxy_chosen(plain, url))
    assert outcomes == {None, "proxy.corp.test:3128"}


def test_a_proxied_own_transport_keeps_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # The proxy transports httpx builds from the environment are the SDK's deadline-aware
    # ones: a proxy that accepts and then drips cannot stretch the call.
    drip = hostile.HostileServer(hostile.drip(b"HTTP/1.1 200 OK\r\n" * 20, every=0.2))
    with drip as proxy_url:
        monkeypatch.setenv("HTTPS_PROXY", proxy_url.removesuffix("/api"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with Puretalk(
            api_key=CALLER_KEY,
            base_url="https://api.puretalk.ai/api",
            max_retries=0,
            timeout=1.0,
            total_timeout=1.0,
        ) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
            assert time.monotonic() - started < 10  # per-read timeouts alone: unbounded
        assert drip.connections == 1


# --- fork ---------------------------------------------------------------------------------------

FORK_CHECK = textwrap.dedent(
    """
    import json, os, sys
    from puretalk_ai import Puretalk
    base_url, ids_file = sys.argv[1], sys.argv[2]
    ids = json.load(open(ids_file))
    client = Puretalk(api_key="fork-caller-key-123", base_url=base_url, max_retries=0)
    client.integrations.update(ids[0], api_key="warm-up-key-000")  # a warm pooled socket
    pid = os.fork()
    mine = ids[1:301] if pid == 0 else ids[301:601]
    bad = 0
    for number, integration_id in enumerate(mine):
        try:
            got = client.integrations.update(integration_id, api_key=f"key-{number:08d}")
            bad += str(got.integration_id) != integration_id
        except Exception as exc:
            bad += 1
    if pid == 0:
        os._exit(min(bad, 100))
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"parent_bad": bad, "child_bad": os.waitstatus_to_exitcode(status)}))
    """
)


def test_after_fork_parent_and_child_never_share_connections(tmp_path: Path) -> None:
    ids = [str(uuid.uuid4()) for _ in range(601)]
    (tmp_path / "ids.json").write_text(json.dumps(ids))
    fake = FakePuretalk(api_key="fork-caller-key-123")
    for integration_id in ids:
        fake.add_integration(integration_id=integration_id, api_key="old-key-0000")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'wrapper'}:{ROOT / 'generated'}"}
    with fake.serve() as server:
        for _ in range(5):
            run = subprocess.run(
                [sys.executable, "-c", FORK_CHECK, server.base_url, str(tmp_path / "ids.json")],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
                check=False,
            )
            assert run.returncode == 0, run.stderr[-2000:]
            assert json.loads(run.stdout) == {"parent_bad": 0, "child_bad": 0}


def test_a_borrowed_http_client_is_refused_in_a_forked_child(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, httpx
        from puretalk_ai import Puretalk, PuretalkError
        client = Puretalk(api_key="fork-caller-key-123", base_url="http://127.0.0.1:9/api",
                          http_client=httpx.Client())
        pid = os.fork()
        if pid == 0:
            try:
                client.integrations.update("6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", api_key="k" * 9)
            except PuretalkError as exc:
                os._exit(0 if "os.fork()" in str(exc) else 1)
            os._exit(2)
        _, status = os.waitpid(pid, 0)
        raise SystemExit(os.waitstatus_to_exitcode(status))
        """
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'wrapper'}:{ROOT / 'generated'}"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize(
    ("proxy", "says"),
    [
        ("socks5://user:proxy-secret-99@127.0.0.1:1", 'pip install "httpx[socks]"'),
        ("ftp://user:proxy-secret-99@127.0.0.1:1", "a scheme httpx does not support"),
    ],
)
def test_an_unsupported_environment_proxy_is_one_typed_line(
    monkeypatch: pytest.MonkeyPatch, proxy: str, says: str
) -> None:
    monkeypatch.setenv("ALL_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    for cls in (Puretalk, AsyncPuretalk):
        with pytest.raises(PuretalkError, match=re.escape(says)) as caught:
            cls(api_key=CALLER_KEY, base_url="https://api.puretalk.ai/api")
        assert "proxy-secret-99" not in str(caught.value)  # the proxy's credentials
    env = {**os.environ, "ALL_PROXY": proxy, "PURETALK_API_KEY": CALLER_KEY}
    run = subprocess.run(
        [sys.executable, "-m", "puretalk_ai", "integrations", "update", INTEGRATION_ID,
         "--base-url", "https://api.puretalk.ai/api"],
        input=NEW_KEY, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert run.returncode == 3
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert says in run.stderr
    assert "proxy-secret-99" not in run.stderr
