"""AsyncPuretalk under trio, as httpx runs there (issue 16): update, call and update_many,
with the same deadline and cancellation guarantees; the aiohttp backend says it needs
asyncio."""

from __future__ import annotations

import time
from typing import Any, assert_type

import pytest
import trio

from puretalk_ai import APIConnectionError, APITimeoutError, AsyncPuretalk, PuretalkError
from puretalk_ai.testing import FakePuretalk
from puretalk_ai_openapi.api.integrations import update_integration
from puretalk_ai_openapi.models import (
    IntegrationResponse,
    UpdateIntegrationBody,
    UpdateIntegrationBodyData,
)
from tests import hostile
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

IDS = [f"6f1c2a9e-3b4d-4e5f-8a7b-{n:012d}" for n in range(12)]


def _fake(latency: float = 0.0) -> FakePuretalk:
    fake = FakePuretalk(api_key=CALLER_KEY, latency=latency)
    for integration_id in IDS:
        fake.add_integration(integration_id=integration_id, api_key="old-key-123")
    return fake


def test_update_call_and_update_many_run_under_trio() -> None:
    fake = _fake()
    with fake.serve() as server:

        async def main() -> Any:
            async with AsyncPuretalk(api_key=CALLER_KEY, base_url=server.base_url) as client:
                one = await client.integrations.update(IDS[0], api_key=NEW_KEY)
                body = UpdateIntegrationBody(data=UpdateIntegrationBodyData(api_key=NEW_KEY))
                called = await client.call(update_integration.asyncio_detailed, IDS[1], body=body)
                assert_type(called, IntegrationResponse)  # never Error: errors raise
                many = await client.integrations.update_many(
                    {i: f"{NEW_KEY}-{n}" for n, i in enumerate(IDS[2:])}, concurrency=4
                )
                return one, called, many

        one, called, many = trio.run(main)
    assert str(one.integration_id) == IDS[0]
    assert called.err is False
    assert [r.state for r in many] == ["ok"] * len(IDS[2:])
    assert fake.integrations[IDS[-1]].api_key == f"{NEW_KEY}-{len(IDS) - 3}"


def test_the_deadline_holds_under_trio_against_a_dripping_server() -> None:
    drip = hostile.HostileServer(hostile.drip(b"HTTP/1.1 200 OK\r\n" * 50, every=0.1))
    with drip as base_url:

        async def main() -> float:
            async with AsyncPuretalk(
                api_key=CALLER_KEY, base_url=base_url, max_retries=0, total_timeout=0.5
            ) as client:
                started = time.monotonic()
                with pytest.raises(APITimeoutError):
                    await client.integrations.update(IDS[0], api_key=NEW_KEY)
                return time.monotonic() - started

        elapsed = trio.run(main)
    assert elapsed < 4.0  # the drip alone would take 5 s and more; per-read timeouts never fire


def test_cancelling_update_many_under_trio_reports_every_id() -> None:
    fake = _fake(latency=0.2)
    seen: list[Any] = []
    with fake.serve() as server:

        async def main() -> None:
            async with AsyncPuretalk(api_key=CALLER_KEY, base_url=server.base_url) as client:
                with trio.move_on_after(0.5):
                    try:
                        await client.integrations.update_many(
                            {i: NEW_KEY for i in IDS}, concurrency=2
                        )
                    except trio.Cancelled as exc:
                        seen.extend(exc.update_results)  # type: ignore[attr-defined]
                        raise

        trio.run(main)
    assert [r.integration_id for r in seen] == IDS
    states = {r.state for r in seen}
    assert "not_sent" in states
    live = [i for i in IDS if fake.integrations[i].api_key == NEW_KEY]
    assert set(live) <= {r.integration_id for r in seen if r.state in ("ok", "unknown")}


def test_the_aiohttp_backend_under_trio_says_it_needs_asyncio() -> None:
    async def main() -> None:
        client = AsyncPuretalk(
            api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api", http_backend="aiohttp"
        )
        with pytest.raises(PuretalkError, match="runs on asyncio only"):
            await client.integrations.update(IDS[0], api_key=NEW_KEY)

    trio.run(main)


def test_one_client_in_a_second_event_loop_is_told_so() -> None:
    import asyncio

    # Nothing listens on port 9: the first call fails to connect, so no connection of the
    # first loop is left in the pool, yet the client belongs to that loop from then on.
    client = AsyncPuretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api", max_retries=0)
    with pytest.raises(APIConnectionError):
        asyncio.run(client.integrations.update(IDS[0], api_key=NEW_KEY))
    with pytest.raises(PuretalkError, match="first used in another event loop") as caught:
        asyncio.run(client.integrations.update(IDS[1], api_key=NEW_KEY))
    assert not isinstance(caught.value, APIConnectionError)  # not a network problem
    with pytest.raises(PuretalkError, match="first used in another event loop"):
        trio.run(lambda: client.integrations.update(IDS[1], api_key=NEW_KEY))
