"""No key slips past redaction: a key echoed in any spelling in returned data, errors and
log lines; the caller key never ages out; a body cut at the cap inside a key; a log call
whose arguments cannot be shown."""

from __future__ import annotations

import html
import json
import logging
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from puretalk_ai import APIResponseValidationError, Puretalk, RedactingFilter
from puretalk_ai_openapi.api.integrations import update_integration
from puretalk_ai_openapi.models import UpdateIntegrationBody, UpdateIntegrationBodyData
from tests.conftest import BASE_URL, INTEGRATION_ID, integration_json
from tests.secrets import CALLER_KEY, NEW_KEY

SPECIAL_KEY = 'sk-new<key>&"more"-0123456789'  # HTML and JSON escape it differently
UNICODE_KEY = "clé-secrète-0123456789"


def client_answering(body: bytes, **options: Any) -> Puretalk:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    return Puretalk(api_key=CALLER_KEY, base_url=BASE_URL, http_client=http, **options)


def _body(app_name: str, extra: dict[str, Any] | None = None) -> bytes:
    answer = integration_json(app_name=app_name)
    answer["results"].update(extra or {})
    return json.dumps(answer).encode()


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda k: k, id="raw"),
        pytest.param(lambda k: html.escape(k), id="html-escaped"),
        pytest.param(lambda k: quote(k, safe=""), id="percent-encoded"),
        pytest.param(lambda k: json.dumps(k)[1:-1], id="json-escaped-as-text"),
        pytest.param(lambda k: repr(k.encode()), id="bytes-repr"),
    ],
)
@pytest.mark.parametrize("key", [SPECIAL_KEY, UNICODE_KEY, NEW_KEY])
def test_an_echoed_key_is_masked_in_every_spelling_on_update_and_call(spell: Any, key: str) -> None:
    echo = f"was {spell(key)} here"
    with client_answering(_body(echo)) as client:
        updated = client.integrations.update(INTEGRATION_ID, api_key=key)
        body = UpdateIntegrationBody(data=UpdateIntegrationBodyData(api_key=key))
        whole = client.call(update_integration.sync_detailed, INTEGRATION_ID, body=body)
    for shown in (updated.app_name, whole.results.app_name):  # type: ignore[union-attr]
        assert isinstance(shown, str)
        assert "***" in shown, shown
        assert spell(key) not in shown


def test_a_key_echoed_as_a_json_object_key_is_masked_and_field_names_are_not() -> None:
    body = _body("elevenlabs", {"extras": {NEW_KEY: 1, "plain": 2}})
    with client_answering(body) as client:
        raw = client.integrations.with_raw_response.update(INTEGRATION_ID, api_key=NEW_KEY)
    extras = raw.parse().additional_properties["extras"]
    assert extras == {"***": 1, "plain": 2}
    # A key that happens to spell a field name does not rename the field.
    with client_answering(_body("elevenlabs")) as client:
        named = client.integrations.update(INTEGRATION_ID, api_key="app_name")
    assert named.app_name == "elevenlabs"
    assert named.friendly_app_name == "ElevenLabs"


def test_a_key_cut_at_the_body_cap_is_masked_in_the_error() -> None:
    filler = b'{"msg": "' + b"x" * 200
    body = filler + NEW_KEY.encode() + b'"}'
    cap = len(filler) + len(NEW_KEY) - 1  # all of the key but its last character
    with (
        client_answering(body, max_response_bytes=cap) as client,
        pytest.raises(APIResponseValidationError) as caught,
    ):
        client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
    shown = caught.value.response.content.decode() + str(caught.value)
    assert NEW_KEY[:-1] not in shown
    assert NEW_KEY[:10] not in shown
    assert "***" in shown


def test_the_caller_key_never_ages_out_of_a_clients_log_filter() -> None:
    client = Puretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api")
    for n in range(1100):  # more keys than the client's ring holds
        client._keys.add(f"sk-rotated-key-{n:06d}-abcdef")
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "401 Invalid X-API-KEY %s", (CALLER_KEY,), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "401 Invalid X-API-KEY ***"
    client.close()


def test_a_unicode_key_in_httpcores_bytes_repr_is_masked() -> None:
    client = Puretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api")
    client._keys.add(UNICODE_KEY)
    headers = [(b"X-Echo", UNICODE_KEY.encode())]
    record = logging.LogRecord(
        "httpcore.http11", logging.DEBUG, __file__, 1, "headers=%r", (headers,), None
    )
    RedactingFilter().filter(record)
    assert repr(UNICODE_KEY.encode())[2:-1] not in record.getMessage()
    assert "***" in record.getMessage()
    client.close()


class Unshowable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_the_filter_never_raises_into_the_logging_call() -> None:
    client = Puretalk(api_key=CALLER_KEY, base_url="http://127.0.0.1:9/api")
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("somebody.unshowable")
    logger.addHandler(handler)
    try:
        logger.error("%s", Unshowable())
        logger.error(Unshowable())
    finally:
        logger.removeHandler(handler)
    assert len(lines) == 2
    assert "cannot be shown" in lines[0]
    client.close()
