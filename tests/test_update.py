"""integrations.update and with_raw_response.update: the request sent and the value returned."""

from __future__ import annotations

import datetime
import uuid
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from pytest_httpx import HTTPXMock

import puretalk_ai
from tests.conftest import BASE_URL, INTEGRATION_ID, UPDATE_URL, Api, integration_json, sent_json
from tests.helpers import spec_fields
from tests.secrets import CALLER_KEY, NEW_KEY


def test_update_returns_the_typed_integration(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="PATCH", url=UPDATE_URL, json=integration_json())
    integration = api.update()
    assert isinstance(integration, puretalk_ai.Integration)
    assert integration.integration_id == uuid.UUID(INTEGRATION_ID)
    # Every plain-string field the model has, read from the model (so a spec change that
    # removes one needs no edit here).
    sample = integration_json()["results"]
    strings = {n for n in spec_fields() if isinstance(sample.get(n), str)} - {
        "integration_id", "created_at", "updated_at",
    }  # fmt: skip
    assert "app_name" in strings
    for name in strings:
        assert getattr(integration, name) == sample[name], name
    assert isinstance(integration.data, puretalk_ai.IntegrationData)
    assert integration.data.api_key == NEW_KEY
    assert integration.tools == ["tts", "voices"]
    assert integration.is_custom_tool is False
    assert integration.created_at == datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert isinstance(integration.updated_at, datetime.datetime)
    assert integration.updated_at.utcoffset() == datetime.timedelta(hours=1)


def test_naive_timestamps_are_taken_as_utc(api: Api, httpx_mock: HTTPXMock) -> None:
    body = integration_json(created_at="2025-01-02T03:04:05", updated_at="2025-01-02T03:04:06")
    httpx_mock.add_response(json=body)
    integration = api.update()
    assert integration.created_at == datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert isinstance(integration.updated_at, datetime.datetime)
    assert integration.updated_at.tzinfo is datetime.UTC


def test_unknown_fields_are_kept_as_additional_properties(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=integration_json(region="eu-west"))
    assert api.update().additional_properties == {"region": "eu-west"}


def test_request_is_one_patch_with_the_key_only_in_x_api_key(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=integration_json())
    api.update()
    (request,) = httpx_mock.get_requests()
    assert request.method == "PATCH"
    assert str(request.url) == UPDATE_URL
    assert request.headers["X-API-KEY"] == CALLER_KEY
    assert "authorization" not in request.headers
    assert CALLER_KEY not in str(request.url)
    assert request.headers["content-type"] == "application/json"
    assert sent_json(request) == {"data": {"api_key": NEW_KEY}}
    assert CALLER_KEY not in request.content.decode()


def test_user_agent_names_sdk_python_and_httpx(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=integration_json())
    api.update()
    agent = httpx_mock.get_requests()[0].headers["user-agent"]
    assert agent.startswith(f"puretalk-ai/{puretalk_ai.__version__} Python/3.")
    assert f"httpx/{httpx.__version__}" in agent


def test_raw_response_exposes_status_headers_and_the_same_parse(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=integration_json(), headers={"x-request-id": "req-1"})
    raw = api.raw()
    assert raw.status_code == 200
    assert raw.headers["x-request-id"] == "req-1"
    parsed = raw.parse()
    assert isinstance(parsed, puretalk_ai.Integration)
    assert parsed.integration_id == uuid.UUID(INTEGRATION_ID)
    assert raw.parse() is parsed
    assert repr(raw) == "<RawResponse [200]>"


def test_extra_headers_are_sent(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=integration_json())
    api.update(extra_headers={"X-Trace": "t-1"})
    request = httpx_mock.get_requests()[0]
    assert request.headers["x-trace"] == "t-1"
    assert request.headers.get_list("x-api-key") == [CALLER_KEY]


def test_a_header_given_again_replaces_the_sdks_whatever_its_case(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=integration_json())
    api.update(
        client={"default_headers": {"accept": "application/vnd.puretalk+json"}},
        extra_headers={"User-Agent": "rotator/1.0"},
    )
    request = httpx_mock.get_requests()[0]
    assert request.headers.get_list("user-agent") == ["rotator/1.0"]
    assert request.headers.get_list("accept") == ["application/vnd.puretalk+json"]
    assert request.headers.get_list("x-api-key") == [CALLER_KEY]


def test_default_headers_are_sent_on_every_request(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=integration_json())
    api.update(client={"default_headers": {"X-Team": "voice"}})
    request = httpx_mock.get_requests()[0]
    assert request.headers["x-team"] == "voice"
    assert request.headers.get_list("x-api-key") == [CALLER_KEY]


def _headers_kwargs(where: str, headers: dict[str, Any]) -> dict[str, Any]:
    if where == "extra_headers":
        return {"extra_headers": headers}
    return {"client": {"default_headers": headers}}


RESERVED = ["X-API-KEY", "x-api-key", "Content-Length", "Host", "Transfer-Encoding"]
BAD_VALUES = ["a\r\nX-Evil: 1", "line\nbreak", "nul\x00", "caf\u00e9", 5, " padded"]


@pytest.mark.parametrize("name", RESERVED)
@pytest.mark.parametrize("where", ["extra_headers", "default_headers"])
def test_headers_the_sdk_owns_are_refused_before_sending(
    api: Api, httpx_mock: HTTPXMock, name: str, where: str
) -> None:
    with pytest.raises(ValueError, match=f"the {name} header is set by the SDK alone"):
        api.update(**_headers_kwargs(where, {name: "sk-would-be-secret"}))
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("where", ["extra_headers", "default_headers"])
def test_invalid_header_values_are_refused_unechoed_and_never_retried(
    api: Api, httpx_mock: HTTPXMock, value: Any, where: str
) -> None:
    with pytest.raises(ValueError, match="must be a str of visible ASCII") as caught:
        api.update(**_headers_kwargs(where, {"X-Trace": value}))
    assert "X-Trace" in str(caught.value)
    assert str(value) not in str(caught.value)
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize("name", ["Bad Name", "x:y", "", "\u00e9t\u00e9", "a\r\nb"])
def test_invalid_header_names_are_refused(api: Api, httpx_mock: HTTPXMock, name: str) -> None:
    with pytest.raises(ValueError, match="invalid header name"):
        api.update(extra_headers={name: "v"})
    assert httpx_mock.get_requests() == []


def test_per_call_timeout_reaches_the_request(api: Api, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=integration_json())
    api.update(timeout=1.5)
    timeout = httpx_mock.get_requests()[0].extensions["timeout"]
    assert timeout == {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5}


def test_default_timeout_is_30s_per_attempt_with_5s_connect(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=integration_json())
    api.update()
    timeout = httpx_mock.get_requests()[0].extensions["timeout"]
    assert timeout == {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}


# --- input checks: nothing is sent ---------------------------------------------------------


@pytest.mark.parametrize(
    ("integration_id", "error", "fragment"),
    [
        ("", ValueError, "integration_id"),
        ("   ", ValueError, "integration_id"),
        ("\t\n", ValueError, "integration_id"),
        (".", ValueError, "integration_id"),
        ("..", ValueError, "integration_id"),
        (None, TypeError, "integration_id"),
        (42, TypeError, "integration_id"),
        (uuid.UUID(INTEGRATION_ID), TypeError, "integration_id"),
    ],
)
def test_bad_integration_id_raises_before_sending(
    api: Api, httpx_mock: HTTPXMock, integration_id: Any, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        api.update(integration_id)
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    ("new_key", "error"),
    [("", ValueError), (None, TypeError), (123, TypeError), (b"bytes", TypeError)],
)
def test_bad_api_key_raises_before_sending(
    api: Api, httpx_mock: HTTPXMock, new_key: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="api_key"):
        api.update(api_key=new_key)
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    ("integration_id", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("../admin", "..%2Fadmin"),
        ("x?y=1", "x%3Fy%3D1"),
        ("x#y", "x%23y"),
        ("%2e%2e", "%252e%252e"),
        ("...", "..."),
        ("ä b", "%C3%A4%20b"),
    ],
)
def test_the_id_is_exactly_one_encoded_segment(
    api: Api, httpx_mock: HTTPXMock, integration_id: str, segment: str
) -> None:
    httpx_mock.add_response(json=integration_json(integration_id=integration_id))
    api.update(integration_id)
    request = httpx_mock.get_requests()[0]
    raw_path = request.url.raw_path.decode()
    assert raw_path == f"/api/ruth-connect/integrations/{segment}"
    assert request.url.query == b""
    assert request.url.fragment == ""
    assert unquote(raw_path.rsplit("/", 1)[1]) == integration_id
    assert str(request.url).startswith(BASE_URL)


def test_extra_query_and_extra_body_are_sent(api: Api, httpx_mock: HTTPXMock) -> None:
    """For what the spec does not describe yet: query parameters, and top-level body
    fields beside the operation's own, as openai-python's extra_query/extra_body."""
    httpx_mock.add_response(json=integration_json())
    api.update(extra_query={"dry_run": "false", "page": 2}, extra_body={"reason": "rotation"})
    request = httpx_mock.get_requests()[0]
    assert dict(request.url.params) == {"dry_run": "false", "page": "2"}
    assert sent_json(request) == {"data": {"api_key": NEW_KEY}, "reason": "rotation"}
    httpx_mock.add_response(json=integration_json())
    raw = api.raw(extra_body={"reason": "again"})
    assert sent_json(httpx_mock.get_requests()[1])["reason"] == "again"
    assert raw.status_code == 200


@pytest.mark.parametrize(
    ("extra", "error", "words"),
    [
        ({"extra_body": {"data": {"api_key": "other"}}}, ValueError, "own field(s) ['data']"),
        ({"extra_body": ["reason"]}, TypeError, "extra_body must be a mapping"),
        ({"extra_body": {1: "x"}}, TypeError, "extra_body must be a mapping"),
        ({"extra_query": "dry_run=1"}, TypeError, "extra_query must be a mapping"),
        ({"extra_body": {"client_secret": 1234}}, TypeError, "secret field"),
    ],
)
def test_bad_extras_are_refused_before_sending(
    api: Api, httpx_mock: HTTPXMock, extra: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as caught:
        api.update(**extra)
    assert words in str(caught.value)
    assert NEW_KEY not in str(caught.value)
    assert httpx_mock.get_requests() == []


def test_a_secret_in_extra_body_is_masked_where_the_server_echoes_it(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    secret = "whsec-extra-body-secret-9d8c7b"
    httpx_mock.add_response(status_code=400, json={"err": True, "msg": f"bad secret {secret}"})
    with pytest.raises(puretalk_ai.BadRequestError) as caught:
        api.update(extra_body={"webhook_secret": secret})
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.body)
    assert "bad secret ***" in str(caught.value)
