"""One retry policy: every outcome through the single-call flow, alone and as an item of a
batch (the same flow behind a batch's gate), gives the same decision (retry or not, and
after how long), and the table says what it is."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from puretalk_ai import (
    APIConnectionError,
    PuretalkError,
    RetryPolicy,
    UnexpectedError,
)
from puretalk_ai._bulk import RATE_LIMITED_RETRIES, Batch, BulkItem
from puretalk_ai._call import CallOptions, Gate, Send, Sleep, run_flow
from puretalk_ai._redaction import MaskedKey, Secrets
from puretalk_ai._request import RequestParts
from puretalk_ai._response import IntegrationChecks, Parser, Received
from tests.conftest import INTEGRATION_ID, UPDATE_URL, integration_json

# No jitter, so both paths' waits can be compared exactly.
POLICY = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.0, max_retry_after=60.0)
PAST = "Wed, 21 Oct 2015 07:28:00 GMT"


def _response(status: int, headers: dict[str, str] | None = None, **body: Any) -> Any:
    def make(request: httpx.Request) -> Received:
        json = body or {"err": True, "msg": "no"}
        return Received(httpx.Response(status, headers=headers, json=json, request=request))

    return make


def _broken_body(request: httpx.Request) -> Received:
    response = httpx.Response(200, content=b'{"results": {', request=request)
    return Received(response, broken="the connection closed mid-body")


def _raise(exc: Exception) -> Any:
    def make(request: httpx.Request) -> Exception:
        return exc

    return make


def _certificate() -> Exception:
    exc = httpx.ConnectError("certificate verify failed")
    exc.__cause__ = ssl.SSLCertVerificationError(1, "self-signed certificate")
    return exc


# (name, outcome, expected: None for no retry, else the wait in seconds)
OUTCOMES: list[tuple[str, Any, float | None]] = [
    ("301", _response(301), None),
    ("400", _response(400), None),
    ("401", _response(401), None),
    ("404", _response(404), None),
    ("408", _response(408), 0.5),
    ("409", _response(409), 0.5),
    ("422", _response(422), None),
    ("429 no ask", _response(429), 0.5),
    ("429 ask in the past", _response(429, {"retry-after": PAST}), 0.5),
    ("429 ask zero", _response(429, {"retry-after": "0"}), 0.5),
    ("429 ask 3 s", _response(429, {"retry-after": "3"}), 3.0),
    ("429 ask 250 ms", _response(429, {"retry-after-ms": "250"}), 0.25),
    ("429 ask at the cap", _response(429, {"retry-after": "60"}), 60.0),
    ("429 ask beyond the cap", _response(429, {"retry-after": "61"}), None),
    ("500", _response(500), 0.5),
    ("503 ask 2 s", _response(503, {"retry-after": "2"}), 2.0),
    ("503 ask in the past", _response(503, {"retry-after": PAST}), 0.5),
    ("503 ask beyond the cap", _response(503, {"retry-after": "3600"}), None),
    ("2xx err true", _response(200, err=True, msg="failed"), None),
    ("2xx not usable", _response(200, results="nope"), None),
    ("2xx body lost on the way", _broken_body, 0.5),
    ("connect error", _raise(httpx.ConnectError("refused")), 0.5),
    ("connect timeout", _raise(httpx.ConnectTimeout("slow")), 0.5),
    ("read timeout", _raise(httpx.ReadTimeout("slow")), 0.5),
    ("pool timeout", _raise(httpx.PoolTimeout("busy")), 0.5),
    ("read error", _raise(httpx.ReadError("reset")), 0.5),
    ("remote protocol error", _raise(httpx.RemoteProtocolError("garbage")), 0.5),
    ("write error", _raise(httpx.WriteError("broken pipe")), 0.5),
    ("OS error from a custom transport", _raise(ConnectionResetError("reset")), 0.5),
    ("certificate", _raise(_certificate()), None),
    ("unexpected (a bug)", _raise(AttributeError("'NoneType' has no attribute 'x'")), None),
]


def _request(send: Send) -> httpx.Request:
    return httpx.Request(send.parts.method, send.parts.url, headers=send.parts.headers)


class Clock:
    """Virtual time: the flow's sleeps advance it."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _options(
    method: str, max_retries: int, gate: Gate | None = None, clock: Clock | None = None
) -> CallOptions[Any]:
    parts = RequestParts(method, httpx.URL(UPDATE_URL), httpx.Headers(), b"{}")
    return CallOptions(
        parts=parts,
        parse=Parser(lambda **_: None, IntegrationChecks(INTEGRATION_ID, False)),
        secrets=Secrets(()),
        timeout=httpx.Timeout(5.0),
        max_retries=max_retries,
        total_timeout=None,
        policy=POLICY,
        idempotent=method != "POST",
        gate=gate,
        clock=clock or Clock(),
    )


def flow_decision(outcome: Any, method: str = "PATCH") -> tuple[float | None, Any]:
    """(the wait before the retry, or None) and the error, through the single-call flow."""
    flow = run_flow(_options(method, max_retries=2))
    send = next(flow)
    assert isinstance(send, Send)
    try:
        step = flow.send(outcome(_request(send)))
    except PuretalkError as exc:
        return None, exc
    assert isinstance(step, Sleep)
    return step.seconds, None


def batch(max_items: int = 1) -> tuple[Batch, list[BulkItem]]:
    items = [BulkItem(n, INTEGRATION_ID, MaskedKey("k" * 20)) for n in range(max_items)]
    made = Batch(items, 1, policy=POLICY)
    made.pacer.rate = None  # unpaced: the decision alone is measured
    return made, items


def bulk_decision(outcome: Any) -> float | None:
    """The wait before the retry, or None, through the same flow as an item of a batch:
    every wait it takes between the answer and the retry's send (its own, and the gate's
    shared pause), on virtual time."""
    made, items = batch()
    made.succeeded = 1  # past the doomed-batch check, which is the batch's own rule
    clock = Clock()
    flow = run_flow(_options("PATCH", 2, made.gate(items[0]), clock))
    send = next(flow)
    assert isinstance(send, Send)
    try:
        step = flow.send(outcome(_request(send)))
    except PuretalkError:
        return None
    waited = 0.0
    while isinstance(step, Sleep):
        waited += step.seconds
        clock.now += step.seconds
        step = flow.send(None)
    assert isinstance(step, Send)
    return waited


def error_of(outcome: Any) -> PuretalkError:
    flow = run_flow(_options("PATCH", max_retries=0))
    send = next(flow)
    assert isinstance(send, Send)
    with pytest.raises(PuretalkError) as caught:
        flow.send(outcome(_request(send)))
    return caught.value


@pytest.mark.parametrize(("name", "outcome", "expected"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_both_paths_make_the_same_decision(name: str, outcome: Any, expected: float | None) -> None:
    flow_wait, _ = flow_decision(outcome)
    error = error_of(outcome)
    assert (flow_wait, bulk_decision(outcome)) == (expected, expected), name
    decision = POLICY.decide(error, 0, 2)
    assert decision.retry is (expected is not None)


@pytest.mark.parametrize(("name", "outcome", "expected"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_a_non_idempotent_request_is_never_retried(
    name: str, outcome: Any, expected: float | None
) -> None:
    wait, error = flow_decision(outcome, method="POST")
    assert wait is None
    assert isinstance(error, PuretalkError)


def test_a_server_named_429_pause_is_free_in_a_batch_but_a_single_call_still_ends() -> None:
    error = error_of(_response(429, {"retry-after": "1"}))
    decision = POLICY.decide(error, retries_taken=2, max_retries=2)
    assert (decision.retry, decision.charged) == (True, False)
    # The single call: three attempts, then the 429 itself.
    flow = run_flow(_options("PATCH", max_retries=2))
    step = next(flow)
    sleeps = 0

    def drive() -> None:
        nonlocal step, sleeps
        while True:
            assert isinstance(step, Send)
            step = flow.send(_response(429, {"retry-after": "1"})(_request(step)))
            assert isinstance(step, Sleep)
            sleeps += 1
            step = flow.send(None)

    with pytest.raises(PuretalkError) as caught:
        drive()
    assert sleeps == 2
    assert caught.value.status_code == 429  # type: ignore[attr-defined]
    # In a batch, the same flow waits it out RATE_LIMITED_RETRIES times before charging
    # it: with max_retries=0, six attempts, then the 429 itself.
    made, items = batch()
    made.succeeded = 1
    clock = Clock()
    flow = run_flow(_options("PATCH", 0, made.gate(items[0]), clock))
    step = next(flow)
    sends = 0

    def drive_batch() -> None:
        nonlocal step, sends
        while True:
            if isinstance(step, Send):
                sends += 1
                step = flow.send(_response(429, {"retry-after": "1"})(_request(step)))
            else:
                clock.now += step.seconds
                step = flow.send(None)

    with pytest.raises(PuretalkError) as caught:
        drive_batch()
    assert sends == 1 + RATE_LIMITED_RETRIES
    assert caught.value.status_code == 429  # type: ignore[attr-defined]


def test_a_connection_error_and_the_unexpected_are_told_apart() -> None:
    _, refused = flow_decision(_raise(httpx.ConnectError("refused")), method="POST")
    assert isinstance(refused, APIConnectionError)
    assert refused.may_have_been_applied is False  # never connected: surely not applied
    _, reset = flow_decision(_raise(httpx.ReadError("reset")), method="POST")
    assert isinstance(reset, APIConnectionError)
    assert reset.may_have_been_applied is True
    try:
        raise KeyError("results")
    except KeyError as exc:
        raised = exc
    _, bug = flow_decision(_raise(raised), method="POST")
    assert isinstance(bug, UnexpectedError)
    assert not isinstance(bug, APIConnectionError)
    assert bug.may_have_been_applied is True
    assert "KeyError" in str(bug)
    notes = "".join(getattr(bug, "__notes__", []))
    assert "Traceback" in notes
    assert "KeyError: 'results'" in notes


def test_the_policy_refuses_bad_settings_naming_them() -> None:
    with pytest.raises(ValueError, match="initial_delay"):
        RetryPolicy(initial_delay=-1)
    with pytest.raises(TypeError, match="max_delay"):
        RetryPolicy(max_delay="8")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ValueError, match="max_retry_after"):
        RetryPolicy(max_retry_after=float("inf"))


def test_clients_take_the_policy_and_copies_keep_it() -> None:
    from puretalk_ai import Puretalk

    client = Puretalk(api_key="caller-key-0123456789", retry_policy=POLICY)
    assert client.retry_policy is POLICY
    assert client.with_options(max_retries=1).retry_policy is POLICY
    other = RetryPolicy(initial_delay=0.1)
    assert client.with_options(retry_policy=other).retry_policy is other
    assert integration_json()["err"] is False


@pytest.mark.parametrize("gated", [False, True])
def test_total_timeout_on_an_injected_clock_never_starts_an_attempt_past_the_deadline(
    gated: bool,
) -> None:
    """Every attempt times out after 0.1 s of virtual time; total_timeout=0.8 and ten
    retries: each attempt's wall is cut to what is left, no attempt starts at or past the
    deadline, and the call ends with APITimeoutError at the deadline (alone, and as an
    item of a batch)."""
    clock = Clock(0.0)
    made, items = batch()
    options = _options("PATCH", 10, made.gate(items[0]) if gated else None, clock)
    options.total_timeout = 0.8
    flow = run_flow(options)
    step = next(flow)
    starts: list[float] = []

    def drive() -> None:
        nonlocal step
        while True:
            if isinstance(step, Send):
                starts.append(clock.now)
                assert step.wall is not None
                assert clock.now + step.wall <= 0.8 + 1e-9
                clock.now += min(0.1, step.wall)
                step = flow.send(httpx.ReadTimeout("slow"))
            else:
                clock.now += step.seconds
                step = flow.send(None)

    with pytest.raises(PuretalkError) as caught:
        drive()
    assert type(caught.value).__name__ == "APITimeoutError"
    assert "total_timeout of 0.8 s ran out" in str(caught.value)
    assert all(start < 0.8 for start in starts)
    assert len(starts) >= 2
    assert clock.now <= 0.8 + 1e-9
