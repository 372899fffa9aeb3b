"""One flow: ``update``, ``update_many`` (concurrency 1 and 8) and ``call()`` keep the same
promises, because each is the same single-call flow. The same scripted outcome sequences
run through every path, sync and async, on the httpx and aiohttp backends, against a
loopback server, and every path must give the same error class, ``may_have_been_applied``,
number of attempts, elapsed-time bound and returned data.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections import deque
from typing import Any

import attrs
import pytest

import puretalk_ai
from puretalk_ai import AsyncPuretalk, Puretalk, RetryPolicy
from puretalk_ai._bulk import RATE_LIMITED_RETRIES
from puretalk_ai._transport import HttpBackend
from puretalk_ai_openapi.api.integrations import update_integration
from puretalk_ai_openapi.models import UpdateIntegrationBody, UpdateIntegrationBodyData
from tests.conftest import integration_json
from tests.helpers import JsonHandler, serving
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers and real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

TARGET = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
OTHERS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1, 12)]
POLICY = RetryPolicy(initial_delay=0.01, max_delay=0.02, jitter=0.0)


@attrs.frozen
class Step:
    """One scripted answer to the target id: a status (with headers and a body), or a
    dropped connection; after `delay` seconds."""

    status: int = 200
    headers: dict[str, str] = attrs.field(factory=dict)
    body: Any = None
    drop: bool = False
    delay: float = 0.0


class Script:
    """Answers the target id from its script (the last step repeats); every other id
    succeeds. Counts the target's requests."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = deque(steps)
        self.hits = 0
        self.lock = threading.Lock()

    def next(self) -> Step:
        with self.lock:
            self.hits += 1
            return self.steps.popleft() if len(self.steps) > 1 else self.steps[0]


def handler(script: Script) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_PATCH(self) -> None:
            self.read_body()
            integration_id = self.path.rsplit("/", 1)[-1]
            if integration_id != TARGET:
                self.send_json(200, integration_json(integration_id=integration_id))
                return
            step = script.next()
            if step.delay:
                time.sleep(step.delay)
            if step.drop:
                self.close_connection = True
                return
            body = step.body if step.body is not None else {"err": True, "msg": "no"}
            self.send_json(step.status, body, step.headers)

    return Handler


@attrs.frozen
class Seen:
    """What a path made of the script: the error class (None: success), whether the
    change may have been applied, the target's requests, and the returned app_name."""

    error: type[BaseException] | None
    applied: bool | None
    hits: int
    app_name: Any = None


PATHS = [
    "update/sync",
    "update/async",
    "update/aiohttp",
    "call/sync",
    "call/async",
    "many1/sync",
    "many1/async",
    "many1/aiohttp",
    "many8/sync",
    "many8/async",
    "many8/aiohttp",
]


def _body(key: Any) -> UpdateIntegrationBody:
    return UpdateIntegrationBody(data=UpdateIntegrationBodyData(api_key=key))


def run_path(path: str, base_url: str, options: dict[str, Any], key: Any = NEW_KEY) -> Any:
    """The result (or the exception) of one update of TARGET through `path`."""
    what, kind = path.split("/")
    options = {"api_key": CALLER_KEY, "base_url": base_url, "retry_policy": POLICY, **options}
    updates = [(TARGET, key)]
    if what == "many8":
        updates += [(i, f"sk-other-key-{n:04d}-abcdef") for n, i in enumerate(OTHERS)]

    def sync() -> Any:
        with Puretalk(**options) as client:
            if what == "update":
                return client.integrations.update(TARGET, api_key=key)
            if what == "call":
                return client.call(update_integration.sync_detailed, TARGET, body=_body(key))
            concurrency = 1 if what == "many1" else 8
            return client.integrations.update_many(updates, concurrency=concurrency)[0]

    async def asynchronous() -> Any:
        backend: HttpBackend = "aiohttp" if kind == "aiohttp" else "httpx"
        async with AsyncPuretalk(**options, http_backend=backend) as client:
            if what == "update":
                return await client.integrations.update(TARGET, api_key=key)
            if what == "call":
                op = update_integration.asyncio_detailed
                return await client.call(op, TARGET, body=_body(key))
            concurrency = 1 if what == "many1" else 8
            return (await client.integrations.update_many(updates, concurrency=concurrency))[0]

    try:
        return sync() if kind == "sync" else asyncio.run(asynchronous())
    except Exception as exc:
        return exc


def seen(outcome: Any, hits: int) -> Seen:
    if isinstance(outcome, puretalk_ai.UpdateOk):
        outcome = outcome.integration
    elif isinstance(outcome, puretalk_ai.UpdateNotOk):
        assert outcome.error is not None, outcome
        outcome = outcome.error
    if isinstance(outcome, BaseException):
        applied = getattr(outcome, "may_have_been_applied", None)
        return Seen(type(outcome), applied, hits)
    if isinstance(outcome, puretalk_ai.Integration):
        return Seen(None, None, hits, outcome.app_name)
    return Seen(None, None, hits, outcome.results.app_name)  # call(): the whole answer


def through(path: str, steps: list[Step], **options: Any) -> tuple[Seen, float]:
    script = Script(steps)
    with serving(handler(script)) as base_url:
        started = time.monotonic()
        outcome = run_path(path, base_url, options)
        elapsed = time.monotonic() - started
    return seen(outcome, script.hits), elapsed


MISROUTED = integration_json(integration_id="11111111-2222-4333-8444-555555555555")
ECHOED = integration_json(integration_id=TARGET, app_name=f"echo {NEW_KEY} echo")

# (name, the script, client options, what every path must see)
CASES: list[tuple[str, list[Step], dict[str, Any], Seen]] = [
    (
        "503, then 400",
        [Step(503), Step(400)],
        {},
        Seen(puretalk_ai.BadRequestError, True, 2),
    ),
    (
        "500, then 409s",
        [Step(500), Step(409)],
        {"max_retries": 2},
        Seen(puretalk_ai.ConflictError, True, 3),
    ),
    (
        "a dropped connection, then 404",
        [Step(drop=True), Step(404)],
        {},
        Seen(puretalk_ai.NotFoundError, True, 2),
    ),
    (
        "an answer about another integration",
        [Step(200, body=MISROUTED)],
        {},
        Seen(puretalk_ai.APIResponseValidationError, True, 1),
    ),
    (
        "the new key echoed into app_name",
        [Step(200, body=ECHOED)],
        {},
        Seen(None, None, 1, "echo *** echo"),
    ),
    (
        "429 with no pause, max_retries=0",
        [Step(429)],
        {"max_retries": 0},
        Seen(puretalk_ai.RateLimitError, False, 1),
    ),
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("name", "steps", "options", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_path_sees_the_same_outcome(
    path: str, name: str, steps: list[Step], options: dict[str, Any], expected: Seen
) -> None:
    got, _ = through(path, steps, **options)
    assert got == expected, f"{name} through {path}"


@pytest.mark.parametrize("path", PATHS)
def test_total_timeout_bounds_every_path(path: str) -> None:
    """Every attempt is a 503 after 0.15 s; total_timeout=0.3 and max_retries=8: each path
    gives up on time (0.5.0's batch sent 9 requests over 2.15 s)."""
    got, elapsed = through(path, [Step(503, delay=0.15)], total_timeout=0.3, max_retries=8)
    assert got.error is puretalk_ai.APITimeoutError
    assert got.applied is True
    assert got.hits <= 3
    assert elapsed < 1.5  # 0.3 s of budget; the margin is a loaded machine's, not a retry's


@pytest.mark.parametrize("path", PATHS)
def test_a_server_that_only_answers_429_with_a_tiny_pause_ends_on_every_path(path: str) -> None:
    """retry-after-ms: 1 on every answer and max_retries=0: a single call fails at once;
    a batch waits out the stated number of rate-limited answers for free, then fails the
    id with the 429 (0.5.0's batch never ended)."""
    got, elapsed = through(path, [Step(429, {"retry-after-ms": "1"})], max_retries=0)
    assert got.error is puretalk_ai.RateLimitError
    assert got.applied is False
    single = path.startswith(("update/", "call/"))
    assert got.hits == (1 if single else 1 + RATE_LIMITED_RETRIES)
    assert elapsed < 20


@pytest.mark.parametrize("path", [p for p in PATHS if p.startswith(("update/", "call/", "many"))])
@pytest.mark.parametrize("key", [123, None, b"sk-bytes-key-0123456789"])
def test_a_key_that_is_not_a_str_is_a_type_error_naming_api_key(path: str, key: Any) -> None:
    script = Script([Step(200, body=integration_json(integration_id=TARGET))])
    with serving(handler(script)) as base_url:
        outcome = run_path(path, base_url, {}, key=key)
    if isinstance(outcome, puretalk_ai.UpdateNotOk):  # update_many: that item alone
        assert outcome.state == "failed"
        outcome = outcome.error
        assert "updates[0]" in str(outcome)
    assert isinstance(outcome, TypeError), outcome
    assert "api_key" in str(outcome)
    assert script.hits == 0


def echoing_handler(seen_keys: list[str]) -> type[http.server.BaseHTTPRequestHandler]:
    """Answers each update with the key of the update before it in app_name (a server that
    mixes up its answers), and its own key in data.api_key."""

    class Handler(JsonHandler):
        def do_PATCH(self) -> None:
            body = json.loads(self.read_body())
            key = body["data"]["api_key"]
            previous = seen_keys[-1] if seen_keys else "nothing yet"
            seen_keys.append(key)
            integration_id = self.path.rsplit("/", 1)[-1]
            answer = integration_json(
                api_key=key, integration_id=integration_id, app_name=f"was {previous}"
            )
            self.send_json(200, answer)

    return Handler


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_batch_masks_every_key_of_the_run_in_every_items_data(kind: str) -> None:
    """Item B's success never shows item A's key (0.5.0 masked only B's own)."""
    keys = [f"sk-run-key-{n:04d}-0123456789" for n in range(6)]
    updates = list(zip(OTHERS[:6], keys, strict=True))
    seen_keys: list[str] = []
    with serving(echoing_handler(seen_keys)) as base_url:
        options: dict[str, Any] = {"api_key": CALLER_KEY, "base_url": base_url}
        if kind == "sync":
            with Puretalk(**options) as client:
                results = client.integrations.update_many(updates, concurrency=1)
        else:

            async def run() -> list[puretalk_ai.UpdateResult]:
                async with AsyncPuretalk(**options) as client:
                    return await client.integrations.update_many(updates, concurrency=1)

            results = asyncio.run(run())
    assert len(seen_keys) == 6
    shown = [r.integration.app_name for r in results if isinstance(r, puretalk_ai.UpdateOk)]
    assert shown == ["was nothing yet"] + ["was ***"] * 5
    for result, key in zip(results, keys, strict=True):
        assert isinstance(result, puretalk_ai.UpdateOk)
        data = result.integration.data
        assert isinstance(data, puretalk_ai.IntegrationData)
        assert data.api_key == key  # where the key belongs, it stays


def _error_of(outcome: Any) -> BaseException:
    if isinstance(outcome, puretalk_ai.UpdateNotOk):
        assert outcome.error is not None, outcome
        return outcome.error
    assert isinstance(outcome, BaseException), outcome
    return outcome


def _attempts(caplog: pytest.LogCaptureFixture) -> int:
    """The client's own count of the target's attempts: the flow logs every one it sends
    (a server may never see an attempt that timed out while it was being written)."""
    return sum(1 for r in caplog.records if r.name == "puretalk_ai" and TARGET in r.getMessage())


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("steps", "options", "retries"),
    [
        ([Step(400)], {}, 0),
        ([Step(503), Step(400)], {}, 1),
        ([Step(500), Step(409)], {"max_retries": 2}, 2),
        ([Step(drop=True), Step(503, {"retry-after-ms": "1"}), Step(404)], {}, 2),
    ],
    ids=["400", "503-400", "500-409-409", "drop-503-404"],
)
def test_every_error_says_how_many_retries_came_before_it(
    path: str,
    steps: list[Step],
    options: dict[str, Any],
    retries: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``retries_taken`` on the error that ends a call is its attempts less one, on every
    path (a batch's item error included)."""
    caplog.set_level("DEBUG", logger="puretalk_ai")
    script = Script(steps)
    with serving(handler(script)) as base_url:
        error = _error_of(run_path(path, base_url, options))
    assert isinstance(error, puretalk_ai.APIStatusError)
    assert error.retries_taken == retries == _attempts(caplog) - 1


@pytest.mark.parametrize("path", ["update/sync", "update/async", "many8/sync"])
def test_a_total_timeout_error_counts_its_retries(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="puretalk_ai")
    script = Script([Step(503, delay=0.15)])
    with serving(handler(script)) as base_url:
        error = _error_of(run_path(path, base_url, {"total_timeout": 0.3, "max_retries": 8}))
    assert isinstance(error, puretalk_ai.APITimeoutError)
    attempts = _attempts(caplog)
    assert attempts >= script.hits  # the server counts only what reached its handler
    assert error.retries_taken == attempts - 1
