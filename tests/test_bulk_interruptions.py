"""update_many never loses an id's state: interruptions, callbacks that raise, rate limits."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

import puretalk_ai
from puretalk_ai import RateLimitError, UpdateResult
from puretalk_ai.testing import FakePuretalk
from tests import audit
from tests.helpers import fake_with
from tests.secrets import CALLER_KEY

IDS = [str(uuid.UUID(int=1000 + i)) for i in range(40)]
BASE: dict[str, Any] = {"api_key": CALLER_KEY, "base_url": "https://api.puretalk.test/api"}


def new_keys(ids: list[str]) -> dict[str, str]:
    return {i: f"new-key-{n:06d}" for n, i in enumerate(ids)}


def applied(fake: FakePuretalk) -> set[str]:
    return {i for i, stored in fake.integrations.items() if stored.api_key.startswith("new-key")}


def check_states(results: list[UpdateResult], fake: FakePuretalk, ids: list[str]) -> Counter[str]:
    """Every id has a state, in input order, and the states agree with what the fake saw."""
    assert [r.integration_id for r in results] == ids
    sent = {r.path.rsplit("/", 1)[1] for r in fake.requests}
    for result in results:
        audit.record_object(result)
        if result.state == "ok":
            assert result.integration_id in applied(fake)
        if result.state == "not_sent":
            assert result.integration_id not in sent
            assert result.reason
    # Every key the fake applied is reported ok or unknown: nothing live is unaccounted for.
    by_id = {r.integration_id: r.state for r in results}
    assert {by_id[i] for i in applied(fake)} <= {"ok", "unknown"}
    return Counter(r.state for r in results)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_raising_on_result_stops_new_updates_and_keeps_every_state(kind: str) -> None:
    fake = fake_with(IDS, latency=0.01)
    calls: list[str] = []

    def on_result(result: UpdateResult) -> None:
        calls.append(result.integration_id)
        if len(calls) == 4:
            raise RuntimeError("the user's callback failed")

    with pytest.raises(RuntimeError, match="callback failed") as caught:
        run(kind, fake, new_keys(IDS), concurrency=4, on_result=on_result)
    results: list[UpdateResult] = caught.value.update_results  # type: ignore[attr-defined]
    states = check_states(results, fake, IDS)
    assert states["not_sent"] > 0  # nothing new started after the callback raised
    assert states["unknown"] == 0  # in-flight updates were allowed to finish
    # on_result saw every update that finished, and those a worker had started (on_start
    # called) that the stop then kept from being sent: at most one per worker.
    finished = {r.integration_id for r in results if r.state in ("ok", "failed")}
    assert finished <= set(calls)
    assert len(calls) == len(set(calls))
    assert len(calls) - len(finished) <= 4
    sent_after = len(fake.requests)
    time.sleep(0.1)
    assert len(fake.requests) == sent_after  # and nothing keeps going in the background


def test_ctrl_c_during_sync_update_many_reports_every_state() -> None:
    fake = fake_with(IDS, latency=0.05)  # 34 updates left take ~0.4 s: the signal lands first
    seen: list[str] = []

    def on_result(result: UpdateResult) -> None:
        seen.append(result.integration_id)
        if len(seen) == 6:
            # A real SIGINT, as Ctrl-C sends: it wakes the main thread's wait at once
            # (_thread.interrupt_main only sets a flag the main thread polls).
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            run("sync", fake, new_keys(IDS), concurrency=4, on_result=on_result)
    finally:
        signal.signal(signal.SIGINT, previous)
    results = caught.value.update_results  # type: ignore[attr-defined]
    states = check_states(results, fake, IDS)
    assert states["ok"] >= 6
    assert states["not_sent"] > 0
    assert any("update_many:" in note for note in caught.value.__notes__)


def test_cancelling_async_update_many_marks_in_flight_unknown() -> None:
    fake = fake_with(IDS, latency=0.5)

    async def go() -> list[UpdateResult]:
        async with puretalk_ai.AsyncPuretalk(
            **BASE, http_client=httpx.AsyncClient(transport=fake.async_transport())
        ) as client:
            task = asyncio.ensure_future(
                client.integrations.update_many(new_keys(IDS), concurrency=4)
            )
            # Cancel while a request is surely in flight (the fake answers after 0.5 s),
            # whatever the pacing or the machine's load.
            deadline = time.monotonic() + 30
            while not fake.requests:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.005)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError as exc:
                return exc.update_results  # type: ignore[attr-defined, no-any-return]
            raise AssertionError("not cancelled")

    results = asyncio.run(go())
    states = check_states(results, fake, IDS)
    assert states["unknown"] >= 1
    assert states["not_sent"] > 0


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_same_uuid_in_another_case_is_a_duplicate(kind: str) -> None:
    fake = fake_with(IDS[:2])
    updates = [(IDS[0], "new-key-1"), (IDS[0].upper(), "new-key-2")]
    with pytest.raises(ValueError, match="duplicate integration_id at positions 0 and 1"):
        run(kind, fake, updates)
    assert fake.requests == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_429_pauses_every_worker(kind: str) -> None:
    fake = fake_with(IDS, latency=0.01)
    fake.fail_next(1, status=429, retry_after_ms=300)
    results = run(kind, fake, new_keys(IDS), concurrency=4)
    assert all(r.ok for r in results)
    first = fake.requests[0]
    assert first.status == 429
    # Requests sent alongside the first arrive within a few ms of it; after that, none is
    # sent until the 300 ms pause is over (without a shared pause the other workers would
    # have gone on: 40 updates at 4 x 10 ms take ~100 ms).
    late = [r for r in fake.requests[1:] if r.at - first.at > 0.02]
    assert len(late) > 30
    assert min(r.at for r in late) - first.at >= 0.29


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_ask_beyond_the_cap_stops_the_batch_with_not_sent(kind: str) -> None:
    fake = fake_with(IDS[:10])
    fake.fail_next(1, status=429, retry_after=3600)
    results = run(kind, fake, new_keys(IDS[:10]), concurrency=1)
    assert results[0].state == "failed"
    assert isinstance(results[0].error, RateLimitError)
    assert results[0].error.retry_after == 3600
    assert {r.state for r in results[1:]} == {"not_sent"}
    assert "3600 s" in (results[1].reason or "")
    assert len(fake.requests) == 1


def test_a_request_the_rate_limit_turns_away_keeps_the_queued_fault() -> None:
    fake = fake_with(IDS[:3], rate_limit=1.0)  # a bucket of one request
    fake.fail_next(1, status=500)
    client = fake.client(max_retries=0)
    with pytest.raises(puretalk_ai.InternalServerError):
        client.integrations.update(IDS[0], api_key="new-key-000001")
    with pytest.raises(RateLimitError):
        client.integrations.update(IDS[1], api_key="new-key-000002")
    fake.fail_next(1, status=503)
    with pytest.raises(RateLimitError):
        client.integrations.update(IDS[2], api_key="new-key-000003")
    assert [r.status for r in fake.requests] == [500, 429, 429]
    time.sleep(1.05)  # a token again: the 503 queued earlier is still there
    with pytest.raises(puretalk_ai.InternalServerError):
        client.integrations.update(IDS[2], api_key="new-key-000003")
    assert fake.requests[-1].status == 503


def run(kind: str, fake: FakePuretalk, updates: Any, **kwargs: Any) -> list[UpdateResult]:
    if kind == "sync":
        http = httpx.Client(transport=fake.transport())
        with puretalk_ai.Puretalk(**BASE, http_client=http) as client:
            return client.integrations.update_many(updates, **kwargs)

    async def go() -> list[UpdateResult]:
        http = httpx.AsyncClient(transport=fake.async_transport())
        async with puretalk_ai.AsyncPuretalk(**BASE, http_client=http) as client:
            return await client.integrations.update_many(updates, **kwargs)

    return asyncio.run(go())


def _starts_then(monkeypatch: pytest.MonkeyPatch, allowed: int, exc: BaseException) -> None:
    """threading.Thread.start works `allowed` times for bulk workers, then raises `exc`
    (a Ctrl-C landing while update_many starts its workers, or the OS refusing a thread)."""
    import threading

    real = threading.Thread.start
    count = [0]

    def start(self: threading.Thread) -> None:
        if self.name.startswith("puretalk-bulk-"):
            count[0] += 1
            if count[0] > allowed:
                raise exc
        real(self)

    monkeypatch.setattr(threading.Thread, "start", start)


def test_ctrl_c_while_workers_start_stops_the_started_ones_and_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_with(IDS, latency=0.05)
    _starts_then(monkeypatch, 3, KeyboardInterrupt())
    client = fake.client()
    with pytest.raises(KeyboardInterrupt) as caught:
        client.integrations.update_many(new_keys(IDS), concurrency=16)
    results = caught.value.update_results  # type: ignore[attr-defined]
    counts = check_states(results, fake, IDS)
    assert counts["not_sent"] > 0
    sent = len(fake.requests)
    time.sleep(0.5)  # the workers that had started were told to stop: nothing more goes out
    assert len(fake.requests) == sent


def test_no_worker_thread_is_a_typed_error_with_every_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_with(IDS)
    _starts_then(monkeypatch, 0, RuntimeError("can't start new thread"))
    client = fake.client()
    with pytest.raises(puretalk_ai.PuretalkError, match="could not start a worker thread") as e:
        client.integrations.update_many(new_keys(IDS), concurrency=4)
    results = e.value.update_results  # type: ignore[attr-defined]
    assert Counter(r.state for r in results) == {"not_sent": len(IDS)}
    assert fake.requests == []


def test_fewer_worker_threads_than_asked_still_finish_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_with(IDS)
    _starts_then(monkeypatch, 2, RuntimeError("can't start new thread"))
    client = fake.client()
    results = client.integrations.update_many(new_keys(IDS), concurrency=8)
    assert [r.state for r in results] == ["ok"] * len(IDS)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ctrl_c_while_the_batch_is_planned_carries_every_planned_id(kind: str) -> None:
    """Planning (the input read, each id checked) is inside the safety net: Ctrl-C there
    carries .update_results, every id read so far not_sent (0.5.0 raised a bare
    KeyboardInterrupt 1 s into a 150,000-id batch)."""
    fake = fake_with(IDS)

    def updates() -> Any:
        for n, integration_id in enumerate(IDS):
            if n == 25:
                raise KeyboardInterrupt
            yield integration_id, f"new-key-{n:06d}"

    with pytest.raises(KeyboardInterrupt) as caught:
        run(kind, fake, updates())
    results = caught.value.update_results  # type: ignore[attr-defined]
    assert [r.integration_id for r in results] == IDS[:25]
    assert {r.state for r in results} == {"not_sent"}
    assert fake.requests == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_bad_key_type_fails_that_item_alone_naming_its_position(kind: str) -> None:
    fake = fake_with(IDS[:4])
    updates: list[Any] = [(IDS[0], "new-key-000000"), (IDS[1], 123), (IDS[2], None), (IDS[3], "")]
    results = run(kind, fake, updates)
    assert [r.state for r in results] == ["ok", "failed", "failed", "failed"]
    assert isinstance(results[1].error, TypeError)
    assert "updates[1]: api_key must be a str, not int" in str(results[1].error)
    assert "updates[2]: api_key must be a str, not NoneType" in str(results[2].error)
    assert isinstance(results[3].error, ValueError)
    assert "updates[3]: api_key must not be empty" in str(results[3].error)
    assert len(fake.requests) == 1
