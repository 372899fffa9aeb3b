"""What the generated client alone does wrong, side by side with what the wrapper does.

Each test first shows the generated behaviour (so a generator upgrade that fixes it is
noticed), then the wrapper's.
"""

from __future__ import annotations

import json

import httpx
import pytest
from pytest_httpx import HTTPXMock

from puretalk_ai import (
    DEFAULT_TIMEOUT,
    APIResponseValidationError,
    InternalServerError,
    NotFoundError,
    Puretalk,
)
from puretalk_ai_openapi import AuthenticatedClient, Client
from puretalk_ai_openapi.api.integrations import update_integration
from puretalk_ai_openapi.models import Error, UpdateIntegrationBody, UpdateIntegrationBodyData
from tests.conftest import BASE_URL, Api
from tests.secrets import CALLER_KEY, NEW_KEY

BODY = UpdateIntegrationBody(data=UpdateIntegrationBodyData(api_key=NEW_KEY))


def generated_client() -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=BASE_URL, token=CALLER_KEY, prefix="", auth_header_name="X-API-KEY"
    )


def test_404_is_returned_by_generated_but_raised_by_wrapper(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(status_code=404, json={"err": True, "msg": "nope"}, is_reusable=True)
    parsed = update_integration.sync("abc", client=generated_client(), body=BODY)
    assert isinstance(parsed, Error)
    with pytest.raises(NotFoundError):
        api.update("abc")


def test_problem_json_404_is_a_keyerror_in_generated_but_typed_in_wrapper(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    problem = {"type": "about:blank", "title": "Not Found", "status": 404}
    httpx_mock.add_response(
        status_code=404, json=problem, headers={"content-type": "application/problem+json"},
        is_reusable=True,
    )  # fmt: skip
    with pytest.raises(KeyError):
        update_integration.sync("abc", client=generated_client(), body=BODY)
    with pytest.raises(NotFoundError, match="Not Found") as caught:
        api.update("abc")
    assert caught.value.body == problem


def test_non_json_is_a_jsondecodeerror_in_generated_but_typed_in_wrapper(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(status_code=200, text="<html>oops</html>", is_reusable=True)
    with pytest.raises(json.JSONDecodeError):
        update_integration.sync("abc", client=generated_client(), body=BODY)
    with pytest.raises(APIResponseValidationError, match="not JSON"):
        api.update("abc")


def test_status_599_is_a_valueerror_in_generated_but_typed_in_wrapper(
    api: Api, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(status_code=599, is_reusable=True)
    with pytest.raises(ValueError, match="599"):
        update_integration.sync_detailed("abc", client=generated_client(), body=BODY)
    with pytest.raises(InternalServerError):
        api.update("abc", max_retries=0)


def test_generated_has_no_default_timeout_but_wrapper_has() -> None:
    assert Client(base_url=BASE_URL).get_httpx_client().timeout == httpx.Timeout(None)
    wrapper = Puretalk(api_key=CALLER_KEY)
    assert wrapper.timeout == DEFAULT_TIMEOUT == httpx.Timeout(30.0, connect=5.0)


def test_generated_client_repr_prints_the_token_but_wrapper_does_not() -> None:
    assert CALLER_KEY in repr(generated_client())
    assert CALLER_KEY not in repr(Puretalk(api_key=CALLER_KEY))


@pytest.mark.parametrize("dots", [".", ".."])
def test_dot_ids_escape_the_path_in_generated_but_are_refused_by_wrapper(
    api: Api, httpx_mock: HTTPXMock, dots: str
) -> None:
    httpx_mock.add_response(status_code=404, json={"err": True, "msg": "x"})
    update_integration.sync(dots, client=generated_client(), body=BODY)
    sent = httpx_mock.get_requests()[0].url.path
    assert sent != f"/api/ruth-connect/integrations/{dots}"  # normalised to another resource
    assert not sent.startswith("/api/ruth-connect/integrations/")
    with pytest.raises(ValueError, match="integration_id"):
        api.update(dots)
    assert len(httpx_mock.get_requests()) == 1
