"""Classify a response: the updated Integration, or the typed error. No I/O."""

from __future__ import annotations

import datetime
import typing
import uuid
from typing import Any

import attrs

from puretalk_ai_openapi.models import Integration

from ._conform import Mismatch, conform_model
from ._exceptions import (
    APIReportedError,
    APIResponseValidationError,
    APIStatusError,
    status_error_class,
)
from ._httpx import httpx
from ._logs import logger
from ._redaction import MAX_JSON_DEPTH, Secrets, loads_bounded, redacted_response, snippet
from ._retry import retry_after

__all__ = ["Parser", "RawResponse", "UpdateParser", "make_status_error", "success_body"]

_T = typing.TypeVar("_T")

_PARSE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
# Response extensions the senders set: the body went over the cap; or why the body could
# not be read whole (cut off, undecodable). The status still stands: a 404 stays a
# NotFoundError, a 2xx may have been applied.
TRUNCATED = "puretalk_ai.truncated"
BROKEN = "puretalk_ai.broken_body"
DRIFTED = "puretalk_ai.drifted_fields"  # response extension: fields left unset
# Response extension: a 2xx whose results do not name the integration (missing or null).
UNCONFIRMED = "puretalk_ai.unconfirmed"


def _body_snippet(response: httpx.Response, secrets: Secrets) -> str:
    return snippet(secrets.redact_body(response.content)) or "(empty body)"


def _api_message(body: Any) -> str | None:
    """The API's `msg` when the body matches the spec's Error schema."""
    if isinstance(body, dict) and isinstance(body.get("err"), bool):
        msg = body.get("msg")
        if isinstance(msg, str):
            return msg
    return None


def make_status_error(response: httpx.Response, secrets: Secrets) -> APIStatusError:
    """The exception for a non-2xx response, chosen by status alone."""
    body, ok = loads_bounded(response.content)
    shown = _body_snippet(response, secrets)
    msg = _api_message(body)
    message = secrets.redact(msg) if msg is not None else shown
    return status_error_class(response.status_code)(
        message,
        response=redacted_response(response, secrets),
        body=secrets.redact_json(body) if ok else shown,
        retry_after=retry_after(response.headers),
    )


def _invalid(
    response: httpx.Response, secrets: Secrets, why: str, *, incomplete: bool = False
) -> APIResponseValidationError:
    shown = _body_snippet(response, secrets)
    return APIResponseValidationError(
        f"Puretalk reported success (status {response.status_code}), so the change may have "
        f"been applied, but the response is not usable: {why}; body: {shown}",
        response=redacted_response(response, secrets),
        body_snippet=shown,
        body_incomplete=incomplete,
    )


def _same_id(returned: str, requested: str) -> bool:
    if returned == requested:
        return True
    try:
        return uuid.UUID(returned) == uuid.UUID(requested)
    except ValueError:
        return returned == requested


def success_body(
    response: httpx.Response, secrets: Secrets, *, empty_ok: bool = False
) -> tuple[Any, Exception | None]:
    """The parsed JSON of a 2xx that reports success, or the error the response stands for:
    a non-2xx status, a body over the cap, a body that is not bounded JSON (an empty one
    is ``None`` when `empty_ok`), or ``"err": true``. Shared by every parser."""
    if not 200 <= response.status_code < 300:
        return None, make_status_error(response, secrets)
    if response.extensions.get(TRUNCATED):
        return None, _invalid(response, secrets, "the body is larger than max_response_bytes")
    broken = response.extensions.get(BROKEN)
    if broken:
        why = f"the body could not be read whole ({secrets.redact(broken)})"
        return None, _invalid(response, secrets, why, incomplete=True)
    if empty_ok and not response.content:
        return None, None
    body, ok = loads_bounded(response.content)
    if not ok:
        why = f"not JSON, or nested deeper than {MAX_JSON_DEPTH} levels"
        return None, _invalid(response, secrets, why)
    if isinstance(body, dict) and body.get("err") is True:
        msg = body.get("msg")
        text = secrets.redact(msg) if isinstance(msg, str) else "the API reported an error"
        shown = redacted_response(response, secrets)
        return None, APIReportedError(text, response=shown, body=secrets.redact_json(body))
    return body, None


class Parser:
    """Turns a response into its result, or raises the typed error it stands for.

    Errors are built in ``_classify`` and raised in ``__call__``, whose only locals are
    masked or key-free: error trackers and ``--showlocals`` read the frames of a traceback.
    A result is never an exception, so an exception returned means: raise it.
    """

    __slots__ = ()

    def __call__(self, response: httpx.Response, secrets: Secrets) -> Any:
        outcome = self._classify(response, secrets)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _classify(self, response: httpx.Response, secrets: Secrets) -> Any:
        raise NotImplementedError


class UpdateParser(Parser):
    """Turns the response to an update of `integration_id` into the Integration, or raises.

    Success is success: a 2xx JSON object without ``"err": true`` and with a ``results``
    object is a completed update. Fields off the spec are left UNSET, their raw values kept
    in ``additional_properties``, and named in one WARNING; ``strict`` raises instead.
    """

    __slots__ = ("integration_id", "strict")

    def __init__(self, integration_id: str, strict: bool) -> None:
        self.integration_id = integration_id
        self.strict = strict

    def __call__(self, response: httpx.Response, secrets: Secrets) -> Integration:
        integration: Integration = super().__call__(response, secrets)
        return integration

    def _classify(self, response: httpx.Response, secrets: Secrets) -> Integration | Exception:
        body, error = success_body(response, secrets)
        if error is not None:
            return error
        if not isinstance(body, dict):
            return _invalid(response, secrets, f"expected an object, got {type(body).__name__}")
        results = body.get("results")
        if not isinstance(results, dict):
            return _invalid(response, secrets, "'results' is missing or not an object")
        returned = results.get("integration_id")
        if returned is None:
            # Success is success, but this answer cannot be tied to the request: reported
            # as drift, and update_many counts the id as unknown, not confirmed.
            if self.strict:
                return _invalid(response, secrets, "it does not name the integration")
            response.extensions[UNCONFIRMED] = True
        elif not (isinstance(returned, str) and _same_id(returned, self.integration_id)):
            # A misrouted answer (a proxy's cache, a shared connection): never a success.
            return _invalid(
                response, secrets, "it describes another integration than the one requested"
            )
        # A key echoed into any other field is of no use there, and would show in every
        # repr, log line and tracker event of the result: it is masked in the data itself.
        results = secrets.mask_echoes(results)
        try:
            integration = Integration.from_dict(results)
            conform_model(integration)
        except _PARSE_ERRORS as exc:
            if self.strict:
                where = f" at results.{exc.args[0]}" if isinstance(exc, Mismatch) else ""
                return _invalid(response, secrets, f"it does not match the spec{where}")
            integration, drifted = _lenient(results)
            response.extensions[DRIFTED] = drifted
            logger.warning(
                "%s %s: Puretalk reported success; field(s) off the spec left unset "
                "(raw values in additional_properties): %s",
                response.request.method,
                response.request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
                ", ".join(drifted),
            )
        if response.extensions.get(UNCONFIRMED):
            already: tuple[str, ...] = response.extensions.get(DRIFTED, ())
            if "integration_id" in already:  # null: the drift warning has named it
                return integration
            response.extensions[DRIFTED] = ("integration_id", *already)
            logger.warning(
                "%s %s: Puretalk reported success without naming the integration "
                "(results.integration_id is missing or null); not confirmed",
                response.request.method,
                response.request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
            )
        return integration


def _lenient(results: dict[str, Any]) -> tuple[Integration, tuple[str, ...]]:
    """The integration from the fields that fit the spec; the others by name."""
    good: dict[str, Any] = {}
    drifted: list[str] = []
    for name, value in results.items():
        try:
            conform_model(Integration.from_dict({name: value}))
        except _PARSE_ERRORS:
            drifted.append(name)
        else:
            good[name] = value
    integration = Integration.from_dict(good)
    conform_model(integration)
    for name in drifted:
        integration.additional_properties[name] = results[name]
    return integration, tuple(drifted)


@attrs.frozen(slots=True)
class RawResponse(typing.Generic[_T]):
    """The HTTP response of a successful call, with the parsed result behind ``parse()``."""

    http_response: httpx.Response = attrs.field(repr=False)
    _parsed: _T = attrs.field(repr=False, alias="parsed")

    @property
    def confirmed(self) -> bool:
        """False when a success does not name the integration it is about: the new key
        is probably live, but the answer cannot be tied to the request."""
        return not self.http_response.extensions.get(UNCONFIRMED, False)

    @property
    def drifted_fields(self) -> tuple[str, ...]:
        """Fields of a successful response that did not match the spec and were left unset."""
        drifted: tuple[str, ...] = self.http_response.extensions.get(DRIFTED, ())
        return drifted

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def elapsed(self) -> datetime.timedelta:
        return self.http_response.elapsed

    def parse(self) -> _T:
        """The same object the plain method returns."""
        return self._parsed

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}]>"
