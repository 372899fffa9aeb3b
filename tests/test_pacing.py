"""Pacing and early stops of bulk rotation: the I/O-free runner and pacer on an injected
clock, the whole grid of the benchmark simulated on virtual time, and the wiring checked
against the fake."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import puretalk_ai
from puretalk_ai import APIConnectionError, AuthenticationError, UpdateResult
from puretalk_ai._bulk import RATE_LIMITED_RETRIES, STALL_SECONDS, Batch, BulkItem
from puretalk_ai._pacing import (
    BETA,
    CUBIC_K,
    DOUBLING,
    POLICY_FLOOR,
    START_RATE,
    UNPACED,
    Pacer,
    policy_rate,
)
from puretalk_ai.testing import FakePuretalk
from puretalk_ai.testing._limits import FixedWindow, TokenBucket
from scripts import bench_bulk
from tests import bulk_sim
from tests.bulk_sim import Answer
from tests.secrets import CALLER_KEY

IDS = [str(uuid.UUID(int=n + 1)) for n in range(200)]
OK = puretalk_ai.Integration()


# --- the pacer ------------------------------------------------------------------------------


def test_the_start_up_rate_doubles_every_doubling_time_until_the_first_429() -> None:
    pacer = Pacer()
    pacer.take(0.0)
    assert pacer.wait(0.0) == pytest.approx(1 / START_RATE)
    now = 0.0
    sent = []
    while now < 0.5:  # deliveries keep pace: the ramp is not capped by them
        if pacer.wait(now) <= 1e-9:
            pacer.take(now)
            pacer.delivered(now)
            sent.append(now)
        now += 0.001
    first = sum(1 for t in sent if t < 0.25)
    assert sum(1 for t in sent if 0.25 <= t < 0.5) > 3 * first  # it grew, fast


def _drive(pacer: Pacer, server: Any, start: float, seconds: float) -> float:
    """Send whenever the pacer lets, to `server` (a limiter; None: no limit), no latency."""
    now = start
    while now < start + seconds:
        if pacer.wait(now) <= 1e-9:
            pacer.take(now)
            wait = None if server is None else server.admit(now)
            if wait is None:
                pacer.delivered(now)
            else:
                pacer.throttled(now, now, wait)
        now += 0.0005
    return now


def test_a_429_decreases_once_per_event_and_cubic_climbs_back() -> None:
    pacer = Pacer()
    now = _drive(pacer, TokenBucket(100.0, 0.0), 0.0, 4.0)
    assert pacer.decreases >= 1
    assert pacer.rate is not None
    assert 80 <= pacer.rate <= 115
    rate = pacer.rate
    assert not pacer.throttled(now, pacer.decreased_at - 0.01, 0.01)  # the same event
    assert pacer.rate == rate
    assert pacer.throttled(now, now, 0.01)  # a new one
    decreased, estimate = pacer.rate, pacer.rate / BETA
    # No 429 for CUBIC_K seconds: back at the estimate; later, probing above it.
    now = _drive(pacer, None, now, CUBIC_K)
    assert pacer.rate == pytest.approx(estimate, rel=0.05)
    assert decreased < pacer.rate
    _drive(pacer, None, now, 3.0)
    assert pacer.rate > 1.1 * estimate


def test_429s_that_come_whatever_the_rate_do_not_ratchet_it_to_nothing() -> None:
    """Every tenth request refused, at any rate (a per-key rule, a fault): the estimate
    never drops below what the server has shown it delivers (without that floor this run
    ends near 6/s, having sent about 450)."""
    pacer = Pacer()
    now, sent = 0.0, 0
    while now < 60.0:
        if pacer.wait(now) <= 1e-9:
            pacer.take(now)
            sent += 1
            if sent % 10 == 3:
                pacer.throttled(now + 0.01, now, 0.001)
            else:
                pacer.delivered(now + 0.01)
        now += 0.001
    assert pacer.rate is not None
    assert pacer.rate > 12
    assert sent > 900


def test_the_rate_never_runs_ahead_of_twice_what_is_delivered() -> None:
    """Latency, not the server, limits this batch: 4 deliveries a second, no 429. CUBIC
    alone would climb without end; the cap holds it at twice the delivery rate."""
    pacer = Pacer()
    pacer.take(0.0)
    pacer.throttled(0.5, 0.4, 0.01)  # the start-up ends
    for step in range(1, 80):  # quarter seconds: exact in binary floating point
        pacer.delivered(0.5 + step * 0.25)
    assert pacer.rate == 2 * 4


def test_policy_headers_cap_the_rate() -> None:
    assert policy_rate({"ratelimit-policy": "100;w=60"}) == pytest.approx(100 / 60)
    assert policy_rate({"ratelimit-policy": '"default";q=100;w=60'}) == pytest.approx(100 / 60)
    assert policy_rate({"x-ratelimit-limit": "50", "x-ratelimit-window": "10"}) == 5.0
    assert policy_rate({"x-ratelimit-limit": "50"}) is None  # no window: not guessed
    assert policy_rate({"ratelimit-policy": "nonsense"}) is None
    batch = _batch(50)
    bulk_sim.run_batch(batch, _always(Answer(200, {"ratelimit-policy": "2;w=1"})), until=1000.5)
    assert batch.pacer.rate == 2.0
    assert 1 <= batch.sent <= 3  # half a second at two a second


# --- the batch: N single-call flows sharing one gate, on virtual time -------------------------


def _batch(n: int, concurrency: int = 8) -> Batch:
    return Batch(bulk_sim.items(n), concurrency, target="http://127.0.0.1:9/api")


def _always(answer: Answer) -> Any:
    return lambda item, now: answer


def test_429s_with_a_pause_are_waited_out_without_using_up_max_retries() -> None:
    batch = _batch(3)
    seen: Counter[int] = Counter()

    def respond(item: BulkItem, now: float) -> Answer:
        seen[item.index] += 1
        return Answer(200) if seen[item.index] > 3 else Answer(429, {"retry-after": "0.2"})

    results, _ = bulk_sim.run_batch(batch, respond, max_retries=0)
    assert [r.state for r in results] == ["ok", "ok", "ok"]
    assert batch.rate_limited == 9


def test_a_server_that_answers_only_429_ends_the_batch_within_the_stated_bound() -> None:
    """retry-after-ms: 1 on every answer and max_retries=0: each id waits out
    RATE_LIMITED_RETRIES of them free, then fails with the 429 itself."""
    batch = _batch(5, concurrency=2)
    results, end = bulk_sim.run_batch(
        batch, _always(Answer(429, {"retry-after-ms": "1"})), max_retries=0
    )
    assert [r.state for r in results] == ["failed"] * 5
    assert all(isinstance(r.error, puretalk_ai.RateLimitError) for r in results)
    assert batch.sent == 5 * (1 + RATE_LIMITED_RETRIES)
    assert end - 1000.0 < 60


def test_a_batch_that_sees_only_429s_for_the_stall_limit_stops_and_reports_every_id() -> None:
    batch = _batch(100_000, concurrency=8)
    results, end = bulk_sim.run_batch(
        batch, _always(Answer(429, {"retry-after": "30"})), max_retries=2
    )
    assert "nothing but 429" in (batch.stop_reason or "")
    assert end - 1000.0 <= STALL_SECONDS + 2 * 30 + 1
    states = Counter(r.state for r in results)
    assert states["not_sent"] > 99_000
    assert states["unknown"] == 0
    assert sum(states.values()) == 100_000


def test_a_429_without_a_pause_counts_against_max_retries() -> None:
    batch = _batch(1)
    results, _ = bulk_sim.run_batch(batch, _always(Answer(429)), max_retries=1)
    assert results[0].state == "failed"
    assert batch.sent == 2


def test_an_ask_beyond_the_cap_stops_the_batch() -> None:
    batch = _batch(5, concurrency=1)
    results, _ = bulk_sim.run_batch(batch, _always(Answer(429, {"retry-after": "3600"})))
    assert Counter(r.state for r in results) == {"failed": 1, "not_sent": 4}
    assert "asked to wait 3600 s" in (batch.stop_reason or "")


@pytest.mark.parametrize(
    "headers",
    [
        {"ratelimit-policy": "1;w=3600"},
        {"x-ratelimit-limit": "100", "x-ratelimit-window": "60000"},  # a window in ms
        {"ratelimit-policy": "1e-200;w=1e200"},  # the rate underflows to 0
        {"ratelimit-policy": "1;w=1e300"},
    ],
)
def test_a_policy_slower_than_the_retry_cap_stops_the_batch(headers: dict[str, str]) -> None:
    batch = _batch(3, concurrency=1)
    results, end = bulk_sim.run_batch(batch, _always(Answer(200, headers)))
    assert [r.state for r in results] == ["ok", "not_sent", "not_sent"]
    assert "rate-limit policy" in (batch.stop_reason or "")
    assert end - 1000.0 < 1


def test_a_generous_policy_does_not_pin_the_batch_at_the_start_up_rate() -> None:
    batch = _batch(60)
    _, end = bulk_sim.run_batch(batch, _always(Answer(200, {"ratelimit-policy": "1000;w=1"})))
    assert end - 1000.0 < 1.5  # 60 updates: slow start runs on under the 1000/s cap


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_caller_key_before_any_success_stops_the_batch(status: int) -> None:
    batch = _batch(100, concurrency=1)
    results, _ = bulk_sim.run_batch(batch, _always(Answer(status)))
    assert Counter(r.state for r in results) == {"failed": 1, "not_sent": 99}
    assert "caller key" in (results[1].reason or "")
    assert isinstance(results[0].error, puretalk_ai.APIStatusError)
    assert results[0].error.status_code == status


def test_a_401_after_a_success_is_one_items_failure() -> None:
    batch = _batch(3, concurrency=1)
    answers = iter([Answer(200), Answer(401), Answer(200)])
    results, _ = bulk_sim.run_batch(batch, lambda item, now: next(answers))
    assert [r.state for r in results] == ["ok", "failed", "ok"]
    assert batch.stop_reason is None


def test_ten_connection_failures_in_a_row_and_no_success_stop_the_batch() -> None:
    batch = _batch(100)
    refused = Answer(error=httpx.ConnectError("refused"))
    results, _ = bulk_sim.run_batch(batch, _always(refused))
    assert "http://127.0.0.1:9/api could not be reached" in (batch.stop_reason or "")
    assert "10 connection failures" in (batch.stop_reason or "")
    states = Counter(r.state for r in results)
    assert states["not_sent"] >= 90
    assert states["unknown"] == 0
    failed = [r.error for r in results if r.state == "failed"]
    assert failed
    assert all(isinstance(e, APIConnectionError) for e in failed)
    assert not any(e.may_have_been_applied for e in failed)  # type: ignore[union-attr]


def test_five_unreachable_ids_stop_as_five_hundred_do_and_none_is_unknown() -> None:
    batch = _batch(5)
    refused = Answer(error=httpx.ConnectError("refused"))
    results, _ = bulk_sim.run_batch(batch, _always(refused), max_retries=2)
    assert batch.stop_reason is not None
    assert {r.state for r in results} == {"failed"}
    assert all(r.error.may_have_been_applied is False for r in results)  # type: ignore[union-attr]
    assert any(r.reason == batch.stop_reason for r in results)  # not retried: why


def test_a_base_url_that_answers_404_to_the_first_ten_stops_the_batch() -> None:
    batch = _batch(3000, concurrency=8)
    results, _ = bulk_sim.run_batch(batch, _always(Answer(404)))
    assert "answered 404 to the first 10 updates" in (batch.stop_reason or "")
    assert batch.sent < 20
    assert Counter(r.state for r in results)["not_sent"] > 2900


def test_a_withdrawn_item_is_not_sent() -> None:
    batch = _batch(2)
    item = batch.take()
    assert item is not None
    batch.callback_raised(OSError("disk full"))
    batch.withdraw(item)
    assert batch.take() is None
    assert batch.sent == 0
    assert [r.state for r in batch.results()] == ["not_sent", "not_sent"]


_HEADER_VALUES = st.one_of(
    st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e308", "1e-300", "1e400", "", "x"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(
    policy=st.one_of(st.none(), st.tuples(_HEADER_VALUES, _HEADER_VALUES)),
    limit=st.one_of(st.none(), st.tuples(_HEADER_VALUES, _HEADER_VALUES)),
    retry_after=st.one_of(st.none(), _HEADER_VALUES),
    retry_after_ms=st.one_of(st.none(), _HEADER_VALUES),
    status=st.sampled_from([200, 429, 503]),
)
def test_no_header_value_raises_stalls_or_sets_a_rate_out_of_bounds(
    policy: tuple[str, str] | None,
    limit: tuple[str, str] | None,
    retry_after: str | None,
    retry_after_ms: str | None,
    status: int,
) -> None:
    headers: dict[str, str] = {}
    if policy is not None:
        headers["ratelimit-policy"] = f"{policy[0]};w={policy[1]}"
    if limit is not None:
        headers["x-ratelimit-limit"], headers["x-ratelimit-window"] = limit
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    batch = _batch(4, concurrency=2)
    answers = iter([Answer(status, headers)] * 3)
    waits: list[float] = []
    admit = batch.admit

    def watched(item: BulkItem, now: float) -> float | str | None:
        answer = admit(item, now)
        if isinstance(answer, float):
            waits.append(answer)
        return answer

    batch.admit = watched  # type: ignore[method-assign]
    results, end = bulk_sim.run_batch(
        batch, lambda item, now: next(answers, Answer(200)), max_retries=1
    )
    assert len(results) == 4
    assert all(0 <= w <= batch.policy.max_retry_after + 1e-6 for w in waits)
    rate = batch.pacer.rate
    assert rate is None or POLICY_FLOOR <= rate <= UNPACED
    # Every send waited at most the cap (above): the batch's time is bounded by its sends.
    assert end - 1000.0 <= (batch.sent + 1) * (batch.policy.max_retry_after + 1)


# --- the limiters and the simulated grid -----------------------------------------------------


def test_the_fakes_limiters() -> None:
    bucket = TokenBucket(10.0, 0.0)  # holds one request (a tenth of a second's worth)
    assert bucket.admit(0.0) is None
    assert bucket.admit(0.0) == pytest.approx(0.1)
    assert bucket.admit(0.1) is None
    window = FixedWindow(3.0, 1.0)
    assert [window.admit(5.2) for _ in range(3)] == [None, None, None]
    assert window.admit(5.5) == pytest.approx(0.5)  # until the window ends
    assert window.admit(6.0) is None


def test_the_simulated_grid_loses_nothing_and_stays_polite() -> None:
    """Every cell of the benchmark's grid, on virtual time. Bounds as docs/guide/bulk.md states."""
    worst: dict[str, float] = {"throughput": 9.0, "share_fast": 0.0, "share_slow": 0.0}
    for rate, latency, concurrency, limiter in bench_bulk.GRID:
        rows = bulk_sim.rows_for(rate, latency, concurrency)
        for start in (1000.3, 1000.95):  # early and late in the server's window
            result = bulk_sim.simulate(
                rate,
                latency,
                concurrency,
                limiter,
                rows,
                start=start,
            )
            assert result.failed == 0
            assert result.ok == rows
            worst["throughput"] = min(worst["throughput"], result.throughput_vs_ceiling)
            key = "share_slow" if latency >= 0.1 else "share_fast"
            worst[key] = max(worst[key], result.share_429)
    assert worst["throughput"] >= 0.75
    assert worst["share_fast"] <= 0.05
    assert worst["share_slow"] <= 0.20


def test_without_pacing_the_same_grid_cell_is_rude() -> None:
    """The simulation can fail: the old behaviour (no pacer) breaks the 429 bound."""

    class Unpaced(Pacer):
        def take(self, now: float) -> None:
            self.rate = None

        def throttled(self, now: float, sent_at: float, asked: float | None) -> bool:
            return False

    result = bulk_sim.simulate(100.0, 0.0, 8, "token-bucket", 400, pacer=Unpaced())
    assert result.share_429 > 0.3


# --- the wiring, against the fake -------------------------------------------------------------


def _fake(n: int, **options: Any) -> FakePuretalk:
    fake = FakePuretalk(api_key=CALLER_KEY, **options)
    for integration_id in IDS[:n]:
        fake.add_integration(integration_id=integration_id, api_key="old")
    return fake


def _run(kind: str, client: Any, updates: Any, **kwargs: Any) -> list[UpdateResult]:
    if kind == "sync":
        with client:
            result: list[UpdateResult] = client.integrations.update_many(updates, **kwargs)
            return result

    async def go() -> list[UpdateResult]:
        async with client:
            result: list[UpdateResult] = await client.integrations.update_many(updates, **kwargs)
            return result

    return asyncio.run(go())


def _client(kind: str, fake: FakePuretalk, **options: Any) -> Any:
    return fake.client(**options) if kind == "sync" else fake.async_client(**options)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_tight_rate_limit_fails_nothing_with_no_retries_against_the_fake(kind: str) -> None:
    fake = _fake(40, rate_limit=40.0, rate_limiter="fixed-window", rate_window=0.5)
    updates = [(i, f"new-key-{n:06d}") for n, i in enumerate(IDS[:40])]
    results = _run(kind, _client(kind, fake, max_retries=0), updates, concurrency=8)
    assert [r.state for r in results] == ["ok"] * 40
    assert all(fake.integrations[i].api_key == k for i, k in updates)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_wrong_caller_key_sends_one_request_not_all(kind: str) -> None:
    fake = _fake(50)
    client = _client(kind, fake, api_key="wrong-caller-key-0001")
    results = _run(kind, client, [(i, "new-key-000001") for i in IDS[:50]], concurrency=1)
    assert len(fake.requests) == 1
    assert isinstance(results[0].error, AuthenticationError)
    assert Counter(r.state for r in results) == {"failed": 1, "not_sent": 49}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_on_start_raising_stops_its_own_update(kind: str) -> None:
    fake = _fake(5)
    calls: list[str] = []

    def on_start(integration_id: str) -> None:
        calls.append(integration_id)
        raise OSError("journal: no space left on device")

    with pytest.raises(OSError, match="no space left") as raised:
        _run(kind, _client(kind, fake), [(i, "new-key-000001") for i in IDS[:5]], on_start=on_start)
    assert fake.requests == []
    states = Counter(r.state for r in raised.value.update_results)  # type: ignore[attr-defined]
    assert states == {"not_sent": 5}
    assert calls


def test_async_on_start_may_return_an_awaitable_awaited_before_the_send() -> None:
    fake = _fake(6)
    order: list[str] = []

    async def commit(integration_id: str) -> None:
        await asyncio.sleep(0.001)
        order.append(f"durable {integration_id}")

    def on_start(integration_id: str) -> Any:
        return commit(integration_id)

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            order.append(f"sent {request.url.path.rsplit('/', 1)[1]}")
            return await fake.async_transport().handle_async_request(request)

    async def go() -> list[UpdateResult]:
        client = puretalk_ai.AsyncPuretalk(
            api_key=CALLER_KEY,
            base_url="https://api.puretalk.test/api",
            http_client=httpx.AsyncClient(transport=Recording()),
        )
        async with client:
            return await client.integrations.update_many(
                [(i, "new-key-000001") for i in IDS[:6]], on_start=on_start
            )

    results = asyncio.run(go())
    assert all(r.ok for r in results)
    for integration_id in IDS[:6]:
        assert order.index(f"durable {integration_id}") < order.index(f"sent {integration_id}")


def test_doubling_constant_is_what_the_docs_say() -> None:
    assert (START_RATE, DOUBLING) == (10.0, 0.1)


@pytest.mark.parametrize("cap", [5.0, 0.2, 300.0])
def test_max_rate_caps_the_batch_below_what_the_server_allows(cap: float) -> None:
    """An operator sharing a quota: no server limit, a generous policy, and the batch
    still never runs faster than max_rate."""
    batch = Batch(bulk_sim.items(40), 8, pacer=Pacer(cap))
    generous = Answer(200, {"ratelimit-policy": "1000;w=1"})
    _, end = bulk_sim.run_batch(batch, _always(generous), rtt=0.001)
    assert batch.sent == 40
    assert 40 / (end - 1000.0) <= cap * 1.05 + 1  # a token's worth of start-up burst


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_max_rate_is_checked(kind: str) -> None:
    fake = _fake(1)
    for bad in (0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="max_rate"):
            _run(kind, _client(kind, fake), [(IDS[0], "new-key-000001")], max_rate=bad)
    assert fake.requests == []
