"""update_many: one result per id, in input order, bounded concurrency, never half-way."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import httpx
import pytest

import puretalk_ai
from puretalk_ai import UpdateResult
from puretalk_ai.testing import FakePuretalk
from tests import audit
from tests.secrets import CALLER_KEY

IDS = [str(uuid.UUID(int=i + 1)) for i in range(12)]


def seeded() -> FakePuretalk:
    fake = FakePuretalk(api_key=CALLER_KEY)
    for integration_id in IDS:
        fake.add_integration(integration_id=integration_id, api_key="old")
    return fake


class InFlight(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps the fake's transports; counts requests in flight and slows them a little."""

    def __init__(self, fake: FakePuretalk) -> None:
        self.sync, self.async_ = fake.transport(), fake.async_transport()
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def _enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def _leave(self) -> None:
        with self.lock:
            self.now -= 1

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._enter()
        try:
            time.sleep(0.01)
            return self.sync.handle_request(request)
        finally:
            self._leave()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._enter()
        try:
            await asyncio.sleep(0.01)
            return await self.async_.handle_async_request(request)
        finally:
            self._leave()


def run_many(kind: str, fake: FakePuretalk, updates: Any, **kwargs: Any) -> list[UpdateResult]:
    transport = InFlight(fake)
    base: dict[str, Any] = {"api_key": CALLER_KEY, "base_url": "https://api.puretalk.test/api"}
    if kind == "sync":
        with puretalk_ai.Puretalk(**base, http_client=httpx.Client(transport=transport)) as c:
            results = c.integrations.update_many(updates, **kwargs)
    else:

        async def go() -> list[UpdateResult]:
            client = httpx.AsyncClient(transport=transport)
            async with puretalk_ai.AsyncPuretalk(**base, http_client=client) as c:
                return await c.integrations.update_many(updates, **kwargs)

        results = asyncio.run(go())
    run_many.peak = transport.peak  # type: ignore[attr-defined]
    for result in results:
        audit.record_object(result)
    return results


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_mapping_updates_every_id_in_input_order(kind: str) -> None:
    fake = seeded()
    updates = {integration_id: f"new-{n}" for n, integration_id in enumerate(reversed(IDS))}
    results = run_many(kind, fake, updates, concurrency=4)
    assert [r.integration_id for r in results] == list(updates)
    assert all(r.ok for r in results)
    for integration_id, key in updates.items():
        assert fake.integrations[integration_id].api_key == key
    assert [str(r.unwrap().integration_id) for r in results] == list(updates)


def test_concurrency_is_bounded(kind: str) -> None:
    # Enough updates for the pacer's start-up ramp (10/s, doubling every 0.1 s) to pass
    # what 3 requests in flight can carry; concurrency is then what bounds the batch.
    ids = [str(uuid.UUID(int=i + 1)) for i in range(200)]
    fake = FakePuretalk(api_key=CALLER_KEY)
    for integration_id in ids:
        fake.add_integration(integration_id=integration_id, api_key="old")
    run_many(kind, fake, [(i, "k") for i in ids], concurrency=3)
    assert run_many.peak == 3  # type: ignore[attr-defined]
    run_many(kind, fake, [(i, "k") for i in IDS], concurrency=1)
    assert run_many.peak == 1  # type: ignore[attr-defined]


def test_failures_are_results_and_never_stop_the_rest(kind: str) -> None:
    fake = seeded()
    missing = str(uuid.UUID(int=999))
    fake.fail_next(3, status=400)  # the first three requests fail, not retried
    pairs: list[tuple[Any, Any]] = [(i, "new") for i in IDS]
    pairs.insert(5, (missing, "new"))
    pairs.insert(7, ("..", "new"))
    pairs.insert(9, (IDS[0] + "-x", ""))
    results = run_many(kind, fake, pairs, concurrency=1)
    assert [r.integration_id for r in results] == [p[0] for p in pairs]
    errors = {r.integration_id: type(r.error) for r in results if r.error is not None}
    assert errors[missing] is puretalk_ai.NotFoundError
    assert errors[".."] is ValueError
    assert errors[IDS[0] + "-x"] is ValueError
    assert list(errors.values()).count(puretalk_ai.BadRequestError) == 3
    assert sum(r.ok for r in results) == len(IDS) - 3
    with pytest.raises(puretalk_ai.NotFoundError):
        results[5].unwrap()


def test_duplicate_ids_are_refused_before_sending(kind: str) -> None:
    fake = seeded()
    with pytest.raises(ValueError, match="duplicate"):
        run_many(kind, fake, [(IDS[0], "a"), (IDS[1], "b"), (IDS[0], "c")])
    assert fake.requests == []


@pytest.mark.parametrize("updates", ["abc", 42, [("only-one",)], [IDS[0]]])
def test_malformed_updates_are_type_errors(kind: str, updates: Any) -> None:
    with pytest.raises(TypeError):
        run_many(kind, seeded(), updates)


def test_bad_concurrency(kind: str) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        run_many(kind, seeded(), {IDS[0]: "k"}, concurrency=0)


def test_on_result_sees_every_result(kind: str) -> None:
    seen: list[str] = []
    results = run_many(
        kind, seeded(), {i: "k" for i in IDS}, on_result=lambda r: seen.append(r.integration_id)
    )
    assert sorted(seen) == sorted(IDS)
    assert len(results) == len(IDS)


def test_empty_input_gives_empty_results(kind: str) -> None:
    assert run_many(kind, seeded(), {}) == []


def test_an_error_quoting_another_items_key_masks_it_everywhere(kind: str) -> None:
    # A 409 for the second id quotes the first id's new key: redacting with the failing
    # item's own keys alone would leave it in every text of the error.
    import json
    import pickle

    first, second = "sk-first-item-key-0001", "sk-second-item-key-0002"
    fake = seeded()
    body = json.dumps({"err": True, "msg": f"key already used by another integration: {first}"})
    fake.delay_next(1, seconds=0)  # the first id goes through
    fake.fail_next(1, status=409, body=body.encode())
    updates = {IDS[0]: first, IDS[1]: second}
    results = run_many(kind, fake, updates, concurrency=1, max_retries=0)  # 409 is retried
    assert results[0].ok
    error = results[1].error
    assert isinstance(error, puretalk_ai.ConflictError)
    texts = [str(error), repr(error), json.dumps(error.body), repr(results)]
    texts.append(pickle.dumps(error).decode("latin-1"))
    for text in texts:
        assert first not in text
        assert second not in text
    assert "key already used by another integration: ***" in str(error)


def test_results_repr_hides_keys(kind: str) -> None:
    fake = seeded()
    fake.fail_next(1, status=422, body=b'{"err": true, "msg": "bad key sk-echo-secret-1"}')
    results = run_many(
        kind, fake, {IDS[0]: "sk-echo-secret-1", IDS[1]: "sk-echo-secret-2"}, concurrency=1
    )
    text = repr(results)
    assert "sk-echo-secret" not in text
    assert "UnprocessableEntityError" in text


@pytest.mark.parametrize("returned", ["missing", "null"])
def test_a_success_that_names_no_integration_is_not_confirmed(kind: str, returned: str) -> None:
    import json

    results_body: dict[str, Any] = {"app_name": "elevenlabs", "data": {"api_key": "***"}}
    if returned == "null":
        results_body["integration_id"] = None
    fake = seeded()
    body = json.dumps({"err": False, "msg": "ok", "results": results_body}).encode()
    fake.fail_next(1, status=200, body=body)
    results = run_many(kind, fake, {IDS[0]: "sk-new-key-0001", IDS[1]: "sk-new-key-0002"},
                       concurrency=1)  # fmt: skip
    assert results[0].state == "unknown"
    assert results[0].reason is not None
    assert "cannot be tied" in results[0].reason
    assert results[1].state == "ok"


def test_a_single_update_that_names_no_integration_reports_drift() -> None:
    import json

    fake = seeded()
    body = {"err": False, "msg": "ok", "results": {"app_name": "x", "integration_id": None}}
    fake.fail_next(1, status=200, body=json.dumps(body).encode())
    raw = fake.client().integrations.with_raw_response.update(IDS[0], api_key="sk-new-key-0001")
    assert raw.confirmed is False
    assert "integration_id" in raw.drifted_fields
    fake.fail_next(1, status=200, body=json.dumps(body).encode())
    with pytest.raises(puretalk_ai.APIResponseValidationError, match="does not name"):
        fake.client(strict_response_validation=True).integrations.update(
            IDS[0], api_key="sk-new-key-0001"
        )
    assert (
        fake.client()
        .integrations.with_raw_response.update(IDS[0], api_key="sk-new-key-0001")
        .confirmed
    )


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_each_result_counts_the_429s_its_attempts_met(kind: str) -> None:
    """``rate_limited`` on every result adds up to exactly the 429s the server sent."""
    ids = [str(uuid.UUID(int=n + 7000)) for n in range(12)]
    fake = FakePuretalk(api_key=CALLER_KEY, rate_limit=5)
    for integration_id in ids:
        fake.add_integration(integration_id=integration_id, api_key="old-key")
    updates = [(i, f"sk-counted-key-{n:04d}-abcdef") for n, i in enumerate(ids)]
    if kind == "sync":
        with fake.client() as client:
            results = client.integrations.update_many(updates, concurrency=8)
    else:

        async def run() -> list[UpdateResult]:
            async with fake.async_client() as client:
                return await client.integrations.update_many(updates, concurrency=8)

        results = asyncio.run(run())
    assert all(r.ok for r in results)
    answered_429 = sum(r.status == 429 for r in fake.requests)
    assert answered_429 > 0  # slow start passes 5/s within a few round trips
    assert sum(r.rate_limited for r in results) == answered_429
