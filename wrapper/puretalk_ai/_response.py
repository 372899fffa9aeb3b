"""Classify a response: the parsed result, or the typed error it stands for. No I/O.

One parse path serves every operation (``integrations.update``, ``call()`` and every item
of ``update_many``): the success body (``success_body``), every secret the call or its run
sent masked wherever the server echoed it, the operation's own result checks where it has
some (``IntegrationChecks`` for the update: a misrouted answer, drift), then the model.
"""

from __future__ import annotations

import datetime
import typing
import uuid
from collections.abc import Callable
from typing import Any

import attrs

from puretalk_ai_openapi.models import Integration, IntegrationResponse

from ._conform import Mismatch, conform_model
from ._exceptions import (
    APIReportedError,
    APIResponseValidationError,
    APIStatusError,
    request_id,
    status_error_class,
)
from ._httpx import httpx
from ._logs import logger
from ._redaction import MAX_JSON_DEPTH, Secrets, loads_bounded, redacted_response, snippet
from ._retry import retry_after

__all__ = [
    "IntegrationChecks",
    "Parsed",
    "Parser",
    "RawResponse",
    "Received",
    "make_status_error",
    "success_body",
]

_T = typing.TypeVar("_T")

_PARSE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


class Received:
    """What a sender hands the flow for one attempt that got an HTTP response: the complete
    response (decoded body, at most ``max_response_bytes``), and whether the body went over
    the cap (``truncated``) or could not be read whole (``broken``: why). The status still
    stands either way: a 404 stays a NotFoundError, a 2xx may have been applied."""

    __slots__ = ("broken", "response", "truncated")

    def __init__(
        self, response: httpx.Response, *, truncated: bool = False, broken: str | None = None
    ) -> None:
        self.response = response
        self.truncated = truncated
        self.broken = broken

    def __repr__(self) -> str:
        return f"<Received [{self.response.status_code}]>"


class Parsed(typing.Generic[_T]):
    """A parser's result: the value, the fields of a success that did not match the spec
    (left unset), and whether the success named what it is about (``confirmed``)."""

    __slots__ = ("confirmed", "drifted", "value")

    def __init__(self, value: _T, drifted: tuple[str, ...] = (), confirmed: bool = True) -> None:
        self.value = value
        self.drifted = drifted
        self.confirmed = confirmed


def _body_snippet(response: httpx.Response, secrets: Secrets) -> str:
    return snippet(secrets.redact_body(response.content)) or "(empty body)"


def _api_message(body: Any) -> str | None:
    """The API's `msg` when the body matches the spec's Error schema."""
    if isinstance(body, dict) and isinstance(body.get("err"), bool):
        msg = body.get("msg")
        if isinstance(msg, str):
            return msg
    return None


def make_status_error(
    response: httpx.Response, secrets: Secrets, applied_before: bool = False
) -> APIStatusError:
    """The exception for a non-2xx response, chosen by status alone; ``applied_before``:
    an earlier attempt of the call may have applied the change."""
    body, ok = loads_bounded(response.content)
    shown = _body_snippet(response, secrets)
    msg = _api_message(body)
    message = secrets.redact(msg) if msg is not None else shown
    return status_error_class(response.status_code)(
        message,
        response=redacted_response(response, secrets),
        body=secrets.redact_json(body) if ok else shown,
        retry_after=retry_after(response.headers),
        applied_before=applied_before,
    )


def invalid(
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
    received: Received, secrets: Secrets, *, empty_ok: bool = False, applied_before: bool = False
) -> tuple[Any, Exception | None]:
    """The parsed JSON of a 2xx that reports success, or the error the response stands for:
    a non-2xx status, a body over the cap, a body that is not bounded JSON (an empty one
    is ``None`` when `empty_ok`), or ``"err": true``."""
    response = received.response
    if not 200 <= response.status_code < 300:
        return None, make_status_error(response, secrets, applied_before)
    if received.truncated:
        return None, invalid(response, secrets, "the body is larger than max_response_bytes")
    if received.broken:
        why = f"the body could not be read whole ({secrets.redact(received.broken)})"
        return None, invalid(response, secrets, why, incomplete=True)
    if empty_ok and not response.content:
        return None, None
    body, ok = loads_bounded(response.content)
    if not ok:
        why = f"not JSON, or nested deeper than {MAX_JSON_DEPTH} levels"
        return None, invalid(response, secrets, why)
    if isinstance(body, dict) and body.get("err") is True:
        msg = body.get("msg")
        text = secrets.redact(msg) if isinstance(msg, str) else "the API reported an error"
        shown = redacted_response(response, secrets)
        body = secrets.redact_json(body)
        error = APIReportedError(text, response=shown, body=body, applied_before=applied_before)
        return None, error
    return body, None


class _Strict:
    """What a generated ``_parse_response`` reads from its client."""

    raise_on_unexpected_status = True


def _path(response: httpx.Response) -> str:
    return response.request.url.raw_path.split(b"?", 1)[0].decode("ascii")


class IntegrationChecks:
    """The result checks of an operation that answers with one integration in ``results``
    (the update): success is success, so a 2xx JSON object without ``"err": true`` and
    with a ``results`` object is a completed update. An answer about another integration
    is an error; one that names none is a success, not confirmed. Fields off the spec are
    left UNSET, their raw values kept in ``additional_properties``, and named in one
    WARNING; ``strict`` raises instead."""

    __slots__ = ("integration_id", "strict")

    def __init__(self, integration_id: str, strict: bool) -> None:
        self.integration_id = integration_id
        self.strict = strict

    def check(
        self, body: Any, received: Received, secrets: Secrets
    ) -> Parsed[Integration] | Exception:
        response = received.response
        if not isinstance(body, dict):
            return invalid(response, secrets, f"expected an object, got {type(body).__name__}")
        results = body.get("results")
        if not isinstance(results, dict):
            return invalid(response, secrets, "'results' is missing or not an object")
        returned = results.get("integration_id")
        confirmed = returned is not None
        if not confirmed and self.strict:
            return invalid(response, secrets, "it does not name the integration")
        ours = isinstance(returned, str) and _same_id(returned, self.integration_id)
        if confirmed and not ours:
            # A misrouted answer (a proxy's cache, a shared connection): never a success.
            return invalid(
                response, secrets, "it describes another integration than the one requested"
            )
        drifted: tuple[str, ...] = ()
        try:
            integration = Integration.from_dict(results)
            conform_model(integration)
        except _PARSE_ERRORS as exc:
            if self.strict:
                where = f" at results.{exc.args[0]}" if isinstance(exc, Mismatch) else ""
                return invalid(response, secrets, f"it does not match the spec{where}")
            integration, drifted = _lenient(results)
            logger.warning(
                "%s %s: Puretalk reported success; field(s) off the spec left unset "
                "(raw values in additional_properties): %s",
                response.request.method,
                _path(response),
                ", ".join(drifted),
            )
        # Success is success, but an answer that names no integration cannot be tied to
        # the request: reported as drift (unless the drift warning named it: null), and
        # update_many counts the id as unknown, not confirmed.
        if not confirmed and "integration_id" not in drifted:
            drifted = ("integration_id", *drifted)
            logger.warning(
                "%s %s: Puretalk reported success without naming the integration "
                "(results.integration_id is missing or null); not confirmed",
                response.request.method,
                _path(response),
            )
        return Parsed(integration, drifted, confirmed)

    @staticmethod
    def model(body: dict[str, Any], integration: Integration) -> IntegrationResponse:
        """The whole answer as the generated model, around the checked integration."""
        whole = IntegrationResponse.from_dict({k: v for k, v in body.items() if k != "results"})
        whole.results = integration
        return whole


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


class Parser:
    """Turns an attempt's response into its ``Parsed`` result, or raises the typed error.

    The one parse path of every operation: the success body; every secret the call (or its
    batch) sent masked wherever the server echoed it (a key is of no use in a returned
    field, and would show in every repr, log line and tracker event); the operation's
    result checks, when it has some; the generated model. ``results_only`` returns the
    checked integration itself (``integrations.update``) rather than the whole answer
    (``call()``).

    Errors are built in ``_classify`` and raised in ``__call__``, whose only locals are
    masked or key-free: error trackers and ``--showlocals`` read the frames of a traceback.
    """

    __slots__ = ("checks", "parse_response", "results_only")

    def __init__(
        self,
        parse_response: Callable[..., Any],
        checks: IntegrationChecks | None = None,
        *,
        results_only: bool = False,
    ) -> None:
        self.parse_response = parse_response
        self.checks = checks
        self.results_only = results_only

    def __call__(
        self, received: Received, secrets: Secrets, applied_before: bool = False
    ) -> Parsed[Any]:
        """The result, or raise the error (``applied_before``: an earlier attempt of the
        call may have applied the change, so the error says so when it is built)."""
        outcome = self._classify(received, secrets, applied_before)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _classify(
        self, received: Received, secrets: Secrets, applied_before: bool
    ) -> Parsed[Any] | Exception:
        response = received.response
        empty_ok = self.checks is None
        body, error = success_body(
            received, secrets, empty_ok=empty_ok, applied_before=applied_before
        )
        if error is not None:
            return error
        masked = secrets.mask_echoes(body)
        if self.checks is not None:
            checked = self.checks.check(masked, received, secrets)
            if isinstance(checked, Exception) or self.results_only:
                return checked
            return Parsed(self.checks.model(masked, checked.value), checked.drifted)
        if masked is not body:  # the generated parser reads the masked answer
            response = httpx.Response(response.status_code, json=masked, request=response.request)
        try:
            return Parsed(self.parse_response(client=_Strict(), response=response))
        except Exception as exc:  # the generated parser's KeyError, TypeError, UnexpectedStatus
            why = f"the generated parser refused it ({type(exc).__name__})"
            return invalid(received.response, secrets, why)


@attrs.frozen(slots=True)
class RawResponse(typing.Generic[_T]):
    """The HTTP response of a successful call, with the parsed result behind ``parse()``."""

    http_response: httpx.Response = attrs.field(repr=False)
    _parsed: _T = attrs.field(repr=False, alias="parsed")
    drifted_fields: tuple[str, ...] = attrs.field(default=(), repr=False)
    """Fields of a successful response that did not match the spec and were left unset."""
    confirmed: bool = attrs.field(default=True, repr=False)
    """False when a success does not name the integration it is about: the new key is
    probably live, but the answer cannot be tied to the request."""
    retries_taken: int = attrs.field(default=0, repr=False)
    """How many times the call was retried before this response."""

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def request_id(self) -> str | None:
        """The server's id for this request (``x-request-id``), to quote to support."""
        return request_id(self.http_response.headers)

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
