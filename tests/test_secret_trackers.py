"""Secrets stay secret wherever a key can travel: error trackers, frame locals, escaped or
encoded echoes, short and overlapping keys, pickles, other libraries' loggers."""

from __future__ import annotations

import copy
import gc
import json
import logging
import pickle
import subprocess
import sys
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pytest_httpx import HTTPXMock

import puretalk_ai
from puretalk_ai import (
    APIConnectionError,
    APIReportedError,
    APIResponseValidationError,
    APIStatusError,
    Puretalk,
    PuretalkError,
    RedactingFilter,
)
from puretalk_ai._cli import integration_json as cli_json
from puretalk_ai._client import MAX_CLIENT_KEYS
from puretalk_ai._redaction import KeyRing, MaskedKey, Secrets
from puretalk_ai.resources.integrations import _update_endpoint as update_endpoint
from puretalk_ai.testing import FakePuretalk
from tests.conftest import INTEGRATION_ID as ID
from tests.conftest import Api, integration_json
from tests.helpers import ROOT
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e


def test_error_tracker_events_and_frame_locals_carry_no_key() -> None:
    run = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-m", "tests.tracker_probe"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    outcome = json.loads(run.stdout)
    assert outcome["found"] == []
    assert outcome["checked_sdk_frames"]  # the SDK's own frames were in the events


# --- redaction by meaning --------------------------------------------------------------------


def _escaped_forms(key: str) -> list[str]:
    return [
        key.replace("/", "\\/"),
        "".join(f"\\u{ord(c):04x}" for c in key),
        quote(key, safe=""),
        quote(key, safe="").lower(),
    ]


SLASHED_KEY = "sk-live/abc+def/ghi"


@pytest.mark.parametrize("form", range(4))
def test_escaped_and_encoded_echoes_are_redacted(
    api: Api, httpx_mock: HTTPXMock, form: int
) -> None:
    echoed = _escaped_forms(SLASHED_KEY)[form]
    body = '{"err": true, "msg": "key ' + echoed + ' rejected"}'
    httpx_mock.add_response(status_code=400, content=body.encode())
    with pytest.raises(APIStatusError) as caught:
        api.update(api_key=SLASHED_KEY)
    exc = caught.value
    for text in (str(exc), repr(exc.body), exc.message, exc.response.text):
        assert SLASHED_KEY not in text
        assert echoed not in text
        assert "***" in text


def test_escaped_echoes_in_a_non_json_body_are_redacted(api: Api, httpx_mock: HTTPXMock) -> None:
    body = " ".join(_escaped_forms(SLASHED_KEY)) + " " + SLASHED_KEY
    httpx_mock.add_response(status_code=502, content=body.encode())
    with pytest.raises(APIStatusError) as caught:
        api.update(api_key=SLASHED_KEY, max_retries=0)
    for form in [SLASHED_KEY, *_escaped_forms(SLASHED_KEY)]:
        assert form not in str(caught.value)


def test_overlapping_keys_are_masked_longest_first() -> None:
    secrets = Secrets(("live-4f9a2c", "live-4f9a2c-rotated-77e1"))
    assert secrets.redact("key live-4f9a2c-rotated-77e1 rejected") == "key *** rejected"


def test_short_keys_are_masked_only_in_secret_named_fields() -> None:
    secrets = Secrets(("k", "elevenlabs"[:7]))
    assert secrets.redact("integration_id elevenlabs") == "integration_id elevenlabs"
    assert secrets.redact_json({"api_key": "k", "name": "k"}) == {"api_key": "***", "name": "k"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    caller=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64),
    new=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64),
)
# Drawn on a CI run of 0.5.0: a key that spells a field name masked the field's name.
@example(caller="0", new="app_name")
@example(caller="friendly_app_name", new="integration_id")
def test_cli_json_parses_and_only_secret_values_differ(caller: str, new: str) -> None:
    integration = puretalk_ai.Integration.from_dict(integration_json(api_key=new)["results"])
    shown = json.loads(json.dumps(cli_json(integration, False, (caller, new))))
    plain = json.loads(json.dumps(cli_json(integration, True, (caller, new))))
    assert set(shown) == set(plain)  # object keys are never touched
    long_keys = [k for k in (caller, new) if len(k) >= 8]
    for name, value in plain.items():
        if name == "data":
            assert shown["data"] == {"api_key": "***"}
        elif shown[name] != value:
            assert any(k in json.dumps(value) for k in long_keys), name


# --- keys checked where they enter -------------------------------------------------------------


@pytest.mark.parametrize(
    "caller_key", [CALLER_KEY + "\u2019", "pt key", "pt-\tkey", "pt-key\n", "pt-\u00e9", "\x7f"]
)
def test_a_caller_key_that_cannot_be_a_header_is_refused_unechoed(caller_key: str) -> None:
    with pytest.raises(ValueError, match="visible ASCII") as caught:
        Puretalk(api_key=caller_key)
    assert caller_key not in str(caught.value)
    assert CALLER_KEY not in str(caught.value)


# --- exceptions carry redacted requests and pickle cleanly ---------------------------------------


def _errors(api: Api, httpx_mock: HTTPXMock) -> list[PuretalkError]:
    echo = json.dumps({"err": True, "msg": f"{NEW_KEY} {CALLER_KEY}", "api_key": NEW_KEY})
    httpx_mock.add_response(status_code=404, content=echo.encode())
    httpx_mock.add_response(status_code=200, content=echo.encode())
    httpx_mock.add_response(status_code=200, content=f"<html>{NEW_KEY}".encode())
    httpx_mock.add_exception(httpx.ConnectError(f"refused {CALLER_KEY}"))
    out: list[PuretalkError] = []
    for _ in range(4):
        try:
            api.update(max_retries=0)
        except PuretalkError as exc:
            out.append(exc)
    return out


def test_errors_carry_redacted_requests_and_pickle_without_keys(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    errors = _errors(api, httpx_mock)
    assert [type(e) for e in errors] == [
        puretalk_ai.NotFoundError,
        APIReportedError,
        APIResponseValidationError,
        APIConnectionError,
    ]
    for exc in errors:
        request = exc.request if isinstance(exc, APIConnectionError) else exc.response.request  # type: ignore[attr-defined]
        assert request is not None
        assert request.headers["x-api-key"] == "***"
        assert CALLER_KEY not in repr(request.headers)
        assert NEW_KEY not in request.content.decode()
        blob = pickle.dumps(exc)
        assert CALLER_KEY.encode() not in blob
        assert NEW_KEY.encode() not in blob
        for twin in (pickle.loads(blob), copy.copy(exc), copy.deepcopy(exc)):  # noqa: S301
            assert type(twin) is type(exc)
            assert str(twin) == str(exc)
            assert twin.message == exc.message


# --- base URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.puretalk.ai/api#",
        "https://api.puretalk.ai/api?",
        "https://api.puretalk.ai/api?x=1",
        "https://api.puretalk.ai/api#frag",
        "https://user:pw@api.puretalk.ai/api",
    ],
)
def test_base_urls_with_a_query_or_fragment_are_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="must not carry a query, a fragment"):
        Puretalk(api_key=CALLER_KEY, base_url=base_url)


def test_the_fake_never_sees_a_request_routed_into_a_fragment() -> None:
    fake = FakePuretalk(api_key=CALLER_KEY)
    with fake.serve() as server, pytest.raises(ValueError, match="base_url"):
        Puretalk(api_key=CALLER_KEY, base_url=server.base_url + "#")
    assert fake.requests == []


# --- the log filter ------------------------------------------------------------------------------


class FilteredLines(logging.Handler):
    """Keeps each formatted line, behind a RedactingFilter."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_redacting_filter_masks_handled_keys_in_any_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Puretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api")
    client._options(update_endpoint(client, ID, MaskedKey(NEW_KEY), None))  # as update
    handler = FilteredLines()
    handler_records = handler.lines
    other = logging.getLogger("httpcore.http11")
    other.addHandler(handler)
    try:
        other.warning("receive_response_headers.complete return_value=%r", [(b"x", NEW_KEY)])
        try:
            raise ValueError(f"boom {CALLER_KEY}")
        except ValueError:
            other.exception("failed for %s", CALLER_KEY)
    finally:
        other.removeHandler(handler)
    text = "\n".join(handler_records)
    assert NEW_KEY not in text
    assert CALLER_KEY not in text
    assert text.count("***") >= 3
    client.close()


def test_each_client_masks_its_own_keys_and_a_gone_client_takes_them_along() -> None:
    first = Puretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api")
    second = Puretalk(api_key="pt-second-caller-key-77", base_url="http://127.0.0.1:9/api")
    assert first._keys.redact(f"a {CALLER_KEY} b") == "a *** b"
    assert second._keys.redact(f"a {CALLER_KEY} b") == f"a {CALLER_KEY} b"  # not its key
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "k=%s", (CALLER_KEY,), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "k=***"  # the filter covers every live client
    del first
    gc.collect()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "k=%s", (CALLER_KEY,), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == f"k={CALLER_KEY}"
    second.close()


def test_a_run_holds_every_key_until_it_ends_and_the_client_ring_is_bounded() -> None:
    keys = [f"sk-run-key-{n:06d}-abcdef" for n in range(MAX_CLIENT_KEYS + 200)]
    client = Puretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api")
    for key in keys:
        client._options(update_endpoint(client, ID, MaskedKey(key), None))
    assert client._keys.redact(keys[0]) == keys[0]  # the client ring keeps the latest only
    assert client._keys.redact(keys[-1]) == "***"
    # ... and never lets the caller key age out (it is pinned): a 401 that quotes it, logged
    # by httpx after 1024 rotations through one client, is still masked.
    assert client._keys.redact(f"401 Invalid X-API-KEY {CALLER_KEY}") == "401 Invalid X-API-KEY ***"
    run = KeyRing(keys)  # as update_many holds its keys
    assert run.redact(f"{keys[0]} {keys[-1]}") == "*** ***"
    escaped = "".join(f"\\u{ord(c):04x}" for c in keys[5])
    assert keys[5] not in run.redact(f"x {escaped} y").encode().decode("unicode_escape")
    run.close()
    assert run.redact(keys[0]) == keys[0]
    client.close()


def test_puretalk_log_handler_uses_the_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    script = (
        "import logging, puretalk_ai\n"
        f"client = puretalk_ai.Puretalk(api_key={NEW_KEY!r}, base_url='http://127.0.0.1:9')\n"
        f"logging.getLogger('puretalk_ai').info('echo {NEW_KEY}')\n"
    )
    env = {"PURETALK_LOG": "info", "PYTHONPATH": f"{ROOT / 'wrapper'}:{ROOT / 'generated'}"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert "echo ***" in run.stderr
    assert NEW_KEY not in run.stderr


def test_a_record_whose_arguments_do_not_fit_its_format_is_still_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = Puretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api")
    handler = FilteredLines()
    lines = handler.lines
    other = logging.getLogger("somebody.else")
    other.addHandler(handler)
    try:
        other.warning("broken %d", CALLER_KEY)  # %d for a str: logging cannot format it
    finally:
        other.removeHandler(handler)
    assert lines == ["broken %d (arguments that do not fit it: ('***',))"]
    assert CALLER_KEY not in capsys.readouterr().err  # logging's error path never ran
    client.close()
