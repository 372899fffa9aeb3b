"""Every non-success response becomes one typed PuretalkError, chosen by status alone."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

import puretalk_ai
from puretalk_ai import (
    UNSET,
    APIReportedError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PuretalkError,
    RateLimitError,
    UnprocessableEntityError,
)
from tests.conftest import INTEGRATION_ID, Api, integration_json
from tests.helpers import optional_text_field
from tests.secrets import CALLER_KEY, NEW_KEY

STATUS_CLASSES: list[tuple[int, type[APIStatusError]]] = [
    (301, APIStatusError),
    (302, APIStatusError),
    (304, APIStatusError),
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (405, APIStatusError),
    (409, ConflictError),
    (418, APIStatusError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (599, InternalServerError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
@pytest.mark.parametrize(
    "body",
    [
        {"err": True, "msg": "Integration not found"},
        {"type": "https://stoplight.io/prism/errors#NOT_FOUND", "title": "Route not resolved"},
        "<html><body>Bad gateway</body></html>",
        "",
    ],
    ids=["error-schema", "problem-json", "html", "empty"],
)
def test_status_picks_the_class_whatever_the_body(
    api: Api, httpx_mock: HTTPXMock, status: int, cls: type[APIStatusError], body: Any
) -> None:
    if isinstance(body, dict):
        httpx_mock.add_response(status_code=status, json=body, is_reusable=True)
    else:
        httpx_mock.add_response(status_code=status, text=body, is_reusable=True)
    with pytest.raises(APIStatusError) as caught:
        api.update(max_retries=0)
    error = caught.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.response.status_code == status
    if isinstance(body, dict) and "msg" in body:
        assert error.message == "Integration not found"
        assert str(error) == f"Error code: {status} - Integration not found"
        assert error.body == body
    elif isinstance(body, dict):
        assert "Route not resolved" in error.message
        assert error.body == body
    elif body:
        assert "Bad gateway" in error.message
    else:
        assert "(empty body)" in error.message
    assert len(httpx_mock.get_requests()) == 1


def test_every_class_is_a_puretalk_error() -> None:
    for _, cls in STATUS_CLASSES:
        assert issubclass(cls, PuretalkError)
    assert issubclass(puretalk_ai.APITimeoutError, puretalk_ai.APIConnectionError)
    assert issubclass(APIResponseValidationError, PuretalkError)
    assert issubclass(APIReportedError, PuretalkError)


def test_long_bodies_are_cut_to_a_short_snippet(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=400, text="x" * 10_000)
    with pytest.raises(BadRequestError) as caught:
        api.update()
    assert len(caught.value.message) < 260
    assert caught.value.message.endswith("\u2026")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"<html>maintenance</html>", "not JSON"),
        (b"", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"null", "expected an object"),
        (b"[1, 2]", "expected an object"),
        (b'"results"', "expected an object"),
        (b'{"msg": "ok", "err": false}', "'results' is missing"),
        (b'{"msg": "ok", "err": false, "results": null}', "'results' is missing"),
        (b'{"msg": "ok", "err": false, "results": []}', "'results' is missing"),
    ],
)
def test_a_2xx_body_off_the_spec_is_a_validation_error(
    api: Api, httpx_mock: HTTPXMock, content: bytes, why: str
) -> None:
    httpx_mock.add_response(status_code=200, content=content)
    with pytest.raises(APIResponseValidationError) as caught:
        api.update()
    assert why in caught.value.message
    assert caught.value.status_code == 200
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("created_at", "yesterday", ""),
        ("updated_at", 1700000000, ""),
        ("app_name", 5, " at results.app_name"),
        ("tools", "tts", " at results.tools"),
        ("tools", ["tts", 3], " at results.tools[1]"),
        ("is_custom_tool", "no", " at results.is_custom_tool"),
        ("data", "key", ""),
        ("data", {"api_key": 7}, " at results.data.api_key"),
    ],
)
def test_wrong_field_types_are_validation_errors_when_strict(
    api: Api, httpx_mock: HTTPXMock, field: str, value: Any, where: str
) -> None:
    httpx_mock.add_response(json=integration_json(**{field: value}))
    with pytest.raises(APIResponseValidationError) as caught:
        api.update(client={"strict_response_validation": True})
    assert f"does not match the spec{where};" in caught.value.message
    assert "Puretalk reported success (status 200), so the change may have been applied" in (
        caught.value.message
    )
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None  # no parser internals chained to it


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (optional_text_field(), None),
        ("created_at", "yesterday"),
        ("updated_at", 1700000000),
        ("app_name", 5),
        ("tools", ["tts", 3]),
        ("is_custom_tool", "no"),
        ("data", {"api_key": 7}),
        ("integration_id", None),
    ],
)
def test_success_is_success_fields_off_the_spec_are_reported_not_raised(
    api: Api,
    httpx_mock: HTTPXMock,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: Any,
) -> None:
    httpx_mock.add_response(json=integration_json(**{field: value}))
    with caplog.at_level(logging.WARNING, logger="puretalk_ai"):
        raw = api.raw()
    integration = raw.parse()
    assert raw.drifted_fields == (field,)
    assert getattr(integration, field) is UNSET
    assert integration.additional_properties[field] == value
    assert integration.app_name == ("elevenlabs" if field != "app_name" else UNSET)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert field in warnings[0].getMessage()
    assert repr(value) not in warnings[0].getMessage().split(":", 2)[-1].replace(field, "")


def test_a_clean_response_reports_no_drift(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=integration_json())
    assert api.raw().drifted_fields == ()


@pytest.mark.parametrize("returned", ["not-a-uuid", 12, "00000000-0000-4000-8000-000000000000"])
@pytest.mark.parametrize("strict", [False, True])
def test_a_response_about_another_integration_is_never_a_success(
    api: Api, httpx_mock: HTTPXMock, returned: Any, strict: bool
) -> None:
    httpx_mock.add_response(json=integration_json(integration_id=returned))
    with pytest.raises(APIResponseValidationError) as caught:
        api.update(client={"strict_response_validation": strict})
    assert "another integration than the one requested" in caught.value.message


def test_the_same_uuid_in_another_form_is_the_same_integration(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=integration_json(integration_id=INTEGRATION_ID.upper()))
    assert str(api.update().integration_id) == INTEGRATION_ID


def test_err_true_on_a_200_is_an_error_carrying_msg(api: Api, httpx_mock: HTTPXMock) -> None:
    body = {"err": True, "msg": "Integration is locked", "results": integration_json()["results"]}
    httpx_mock.add_response(status_code=200, json=body)
    with pytest.raises(APIReportedError) as caught:
        api.update()
    assert caught.value.message == "Integration is locked"
    assert str(caught.value) == "The API reported an error (status 200): Integration is locked"
    assert caught.value.status_code == 200


def test_status_error_echoing_the_keys_is_redacted(api: Api, httpx_mock: HTTPXMock) -> None:
    body = {"err": True, "msg": f"key {NEW_KEY} rejected for caller {CALLER_KEY}"}
    httpx_mock.add_response(status_code=422, json=body)
    with pytest.raises(UnprocessableEntityError) as caught:
        api.update()
    error = caught.value
    for text in (str(error), repr(error), error.message, json.dumps(error.body)):
        assert NEW_KEY not in text
        assert CALLER_KEY not in text
    assert error.message == "key *** rejected for caller ***"
    assert str(error) == "Error code: 422 - key *** rejected for caller ***"


def test_a_plain_text_echo_is_redacted_before_it_is_cut(api: Api, httpx_mock: HTTPXMock) -> None:
    # The key straddles the snippet limit: cutting first would leak its first half.
    text = "x" * 190 + NEW_KEY + "y" * 100
    httpx_mock.add_response(status_code=500, text=text)
    with pytest.raises(InternalServerError) as caught:
        api.update(max_retries=0)
    assert NEW_KEY[:8] not in caught.value.message


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_bug_after_the_response_arrived_is_an_unexpected_error_not_a_connection_error(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from puretalk_ai import APIConnectionError, UnexpectedError
    from puretalk_ai import _transport as transport
    from puretalk_ai.testing import FakePuretalk

    def broken_complete(*args: Any) -> Any:
        raise AttributeError("a bug in the SDK after the response arrived")

    monkeypatch.setattr(transport, "_complete", broken_complete)
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=INTEGRATION_ID, api_key="old")

    def update() -> None:
        if kind == "sync":
            fake.client().integrations.update(INTEGRATION_ID, api_key=NEW_KEY)
            return

        async def run() -> None:
            async with fake.async_client() as client:
                await client.integrations.update(INTEGRATION_ID, api_key=NEW_KEY)

        asyncio.run(run())

    with pytest.raises(UnexpectedError) as caught:
        update()
    error = caught.value
    assert not isinstance(error, APIConnectionError)
    assert error.may_have_been_applied is True
    assert fake.integrations[INTEGRATION_ID].api_key == NEW_KEY  # the server applied it
    assert len(fake.requests) == 1  # never retried
    notes = "".join(error.__notes__)
    assert "broken_complete" in notes  # the original traceback, as text
    assert "a bug in the SDK after the response arrived" in notes
    shown = "".join(traceback.format_exception(error))
    assert CALLER_KEY not in shown
    assert NEW_KEY not in shown


@pytest.mark.parametrize(
    ("status", "body", "cls", "applied"),
    [
        (400, {"err": True, "msg": "bad"}, puretalk_ai.BadRequestError, False),
        (404, {"err": True, "msg": "no"}, puretalk_ai.NotFoundError, False),
        (429, {"err": True, "msg": "slow"}, puretalk_ai.RateLimitError, False),
        (500, {"err": True, "msg": "oops"}, puretalk_ai.InternalServerError, True),
        (503, {"err": True, "msg": "down"}, puretalk_ai.InternalServerError, True),
        (200, {"err": True, "msg": "failed"}, puretalk_ai.APIReportedError, False),
        (200, {"err": False, "results": []}, puretalk_ai.APIResponseValidationError, True),
    ],
)
def test_every_error_with_a_response_says_whether_the_change_may_have_been_applied(
    api: Api, httpx_mock: HTTPXMock, status: int, body: Any, cls: type[Any], applied: bool
) -> None:
    httpx_mock.add_response(status_code=status, json=body, is_reusable=True)
    with pytest.raises(puretalk_ai.APIResponseError) as caught:
        api.update(max_retries=0)
    assert type(caught.value) is cls
    assert caught.value.may_have_been_applied is applied
    assert caught.value.status_code == status


def test_an_earlier_attempt_that_may_have_applied_the_change_is_not_forgotten(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    import httpx

    httpx_mock.add_exception(httpx.ReadTimeout("the answer never came"))
    httpx_mock.add_response(status_code=409, json={"err": True, "msg": "busy"})
    httpx_mock.add_response(status_code=404, json={"err": True, "msg": "gone"})
    with pytest.raises(puretalk_ai.NotFoundError) as caught:
        api.update(max_retries=2)
    # The 404 alone would say "not applied", but the first attempt may have applied it.
    assert caught.value.may_have_been_applied is True
