"""Retries, backoff, Retry-After, per-attempt and total timeouts, redirects."""

from __future__ import annotations

import email.utils
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from pytest_httpx import HTTPXMock

from puretalk_ai import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
)
from puretalk_ai._retry import is_retryable_status, retry_after
from tests.conftest import Api, integration_json
from tests.secrets import CALLER_KEY

RETRIED = [408, 409, 429, 500, 502, 503, 504, 599]
NOT_RETRIED = [400, 401, 403, 404, 405, 410, 418, 422]


@pytest.mark.parametrize("status", RETRIED)
def test_retried_statuses_then_success(api: Api, httpx_mock: HTTPXMock, status: int) -> None:
    httpx_mock.add_response(status_code=status, text="busy")
    httpx_mock.add_response(status_code=status, text="busy")
    httpx_mock.add_response(json=integration_json())
    assert api.update().app_name == "elevenlabs"
    assert len(httpx_mock.get_requests()) == 3


@pytest.mark.parametrize("status", RETRIED)
def test_default_is_two_retries_then_the_error(
    api: Api, httpx_mock: HTTPXMock, status: int
) -> None:
    httpx_mock.add_response(status_code=status, is_reusable=True)
    with pytest.raises(APIStatusError) as caught:
        api.update()
    assert caught.value.status_code == status
    assert len(httpx_mock.get_requests()) == 3


@pytest.mark.parametrize("status", NOT_RETRIED)
def test_other_4xx_are_never_retried(api: Api, httpx_mock: HTTPXMock, status: int) -> None:
    httpx_mock.add_response(status_code=status, is_reusable=True)
    with pytest.raises(APIStatusError):
        api.update(max_retries=5)
    assert len(httpx_mock.get_requests()) == 1


def test_max_retries_zero_disables_retrying(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503, is_reusable=True)
    with pytest.raises(InternalServerError):
        api.update(client={"max_retries": 0})
    assert len(httpx_mock.get_requests()) == 1


def test_per_call_max_retries_overrides_the_client(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503, is_reusable=True)
    with pytest.raises(InternalServerError):
        api.update(client={"max_retries": 0}, max_retries=4)
    assert len(httpx_mock.get_requests()) == 5


def test_connection_errors_are_retried(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_exception(httpx.RemoteProtocolError("reset mid-response"))
    httpx_mock.add_response(json=integration_json())
    assert api.update().app_name == "elevenlabs"
    assert len(httpx_mock.get_requests()) == 3


def test_connection_error_after_the_retries(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), is_reusable=True)
    with pytest.raises(APIConnectionError) as caught:
        api.update()
    assert type(caught.value) is APIConnectionError
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(httpx_mock.get_requests()) == 3


def test_timeouts_are_retried_and_end_as_api_timeout_error(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), is_reusable=True)
    with pytest.raises(APITimeoutError):
        api.update(max_retries=1)
    assert len(httpx_mock.get_requests()) == 2


@pytest.mark.parametrize(
    "headers",
    [{"retry-after-ms": "150"}, {"retry-after": "0.15"}],
    ids=["retry-after-ms", "retry-after-seconds"],
)
def test_retry_after_is_honoured(api: Api, httpx_mock: HTTPXMock, headers: dict[str, str]) -> None:
    httpx_mock.add_response(status_code=429, headers=headers)
    httpx_mock.add_response(json=integration_json())
    started = time.monotonic()
    api.update()
    assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize(
    ("headers", "asked"),
    [({"retry-after": "3600"}, 3600.0), ({"retry-after-ms": "61000"}, 61.0)],
)
def test_retry_after_beyond_the_cap_means_no_retry(
    api: Api, httpx_mock: HTTPXMock, headers: dict[str, str], asked: float
) -> None:
    httpx_mock.add_response(status_code=429, headers=headers)
    with pytest.raises(RateLimitError) as caught:
        api.update()
    assert caught.value.retry_after == asked
    assert len(httpx_mock.get_requests()) == 1  # the server was not hammered


def test_retry_after_within_the_cap_is_exposed_and_honoured(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(status_code=503, headers={"retry-after-ms": "5"}, is_reusable=True)
    with pytest.raises(InternalServerError) as caught:
        api.update(max_retries=1)
    assert caught.value.retry_after == 0.005
    assert len(httpx_mock.get_requests()) == 2


def test_status_errors_without_an_ask_have_no_retry_after(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=404, json={"err": True, "msg": "nope"})
    with pytest.raises(APIStatusError) as caught:
        api.update()
    assert caught.value.retry_after is None


# --- the I/O-free pieces ------------------------------------------------------------------


def test_retryable_statuses() -> None:
    assert [s for s in range(100, 600) if is_retryable_status(s)] == [
        408,
        409,
        429,
        *range(500, 600),
    ]


def test_retry_after_parses_ms_seconds_and_http_date() -> None:
    now = 1_700_000_000.0
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry_after({"retry-after": "7"}) == 7.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after({"retry-after": date}, now=lambda: now) == pytest.approx(30.0)
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({"retry-after-ms": "nan", "retry-after": "2"}) == 2.0
    assert retry_after({}) is None


def test_retry_delay_backoff_formula() -> None:
    policy = RetryPolicy()
    assert [policy.backoff(n, rng=lambda: 0.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert policy.backoff(0, rng=lambda: 1.0) == 0.375  # jitter takes off at most 25 %
    assert policy.backoff(10_000, rng=lambda: 0.0) == 8.0  # no overflow however many


# --- against a real loopback server -------------------------------------------------------


@contextmanager
def stalling_server(stall: float) -> Iterator[tuple[str, list[float]]]:
    """A server that answers every PATCH only after `stall` seconds (or never, if closed)."""
    hits: list[float] = []
    done = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PATCH(self) -> None:
            hits.append(time.monotonic())
            done.wait(stall)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        done.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_total_timeout_bounds_the_whole_call(api: Api) -> None:
    with stalling_server(stall=10) as (base_url, hits):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            api.update(
                client={"base_url": base_url, "timeout": 0.3, "total_timeout": 0.8},
                max_retries=10,
            )
        elapsed = time.monotonic() - started
    # The deadline's logic is tested on an injected clock (test_retry_policy); this checks
    # the wiring, with bounds a loaded machine cannot break without a real defect: without
    # total_timeout the 11 attempts would take 3.3 s and more.
    assert 0.75 <= elapsed < 2.5
    assert 2 <= len(hits) <= 4  # some retries ran, but none started after the deadline
    # The server's thread notes each arrival; on a loaded machine it may run late.
    assert hits[-1] - started < 0.8 + 0.6


def test_without_total_timeout_each_attempt_gets_its_full_timeout(api: Api) -> None:
    with stalling_server(stall=10) as (base_url, hits):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            api.update(client={"base_url": base_url, "timeout": 0.2}, max_retries=2)
        elapsed = time.monotonic() - started
    assert len(hits) == 3
    assert elapsed >= 0.6


def test_redirects_are_not_followed(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        status_code=307, headers={"location": "https://evil.test/steal"}, is_reusable=True
    )
    with pytest.raises(APIStatusError) as caught:
        api.update()
    assert caught.value.status_code == 307
    requests = httpx_mock.get_requests()
    assert len(requests) == 1
    assert all(r.url.host == "api.puretalk.test" for r in requests)


def test_a_users_client_that_follows_redirects_still_does_not(httpx_mock: HTTPXMock) -> None:
    import puretalk_ai

    httpx_mock.add_response(status_code=302, headers={"location": "https://evil.test/x"})
    user_client = httpx.Client(follow_redirects=True)
    with (
        puretalk_ai.Puretalk(
            api_key=CALLER_KEY, base_url="https://api.puretalk.test/api", http_client=user_client
        ) as client,
        pytest.raises(APIStatusError),
    ):
        client.integrations.update("abc", api_key="k")
    assert [r.url.host for r in httpx_mock.get_requests()] == ["api.puretalk.test"]
    user_client.close()


def test_not_found_is_raised_not_returned(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=404, json={"err": True, "msg": "No such integration"})
    with pytest.raises(NotFoundError, match="No such integration"):
        api.update()


def test_rate_limit_error_after_retries_keeps_headers(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"retry-after-ms": "1"}, is_reusable=True)
    with pytest.raises(RateLimitError) as caught:
        api.update()
    assert caught.value.response.headers["retry-after-ms"] == "1"
