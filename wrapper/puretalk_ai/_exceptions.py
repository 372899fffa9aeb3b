"""The exceptions raised by puretalk_ai.

PuretalkError
 +-- APIConnectionError              the request did not get an HTTP response
 |    +-- APITimeoutError            ... because a timeout or total_timeout ran out
 +-- APIResponseError                an HTTP response arrived, and it is an error
 |    +-- APIStatusError             a non-2xx response (3xx included)
 |    |    +-- BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError,
 |    |        ConflictError, UnprocessableEntityError, RateLimitError, InternalServerError
 |    +-- APIResponseValidationError a 2xx response that is not a usable success
 |    +-- APIReportedError           a 2xx response whose body says "err": true
 +-- UnexpectedError                 an internal error: a bug, never a connection problem

Every error says whether the change it stood for may have been applied
(``may_have_been_applied``), so a caller always knows whether to check or resend. Bad
arguments are ``TypeError``/``ValueError`` naming the argument, before any request.

Messages never contain the caller's API key or the integration key being set: every text
taken from a response is redacted before it is stored (see _redaction.py).
"""

from __future__ import annotations

from typing import Any

from ._httpx import httpx

__all__ = [
    "APIConnectionError",
    "APIReportedError",
    "APIResponseError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PuretalkError",
    "RateLimitError",
    "UnexpectedError",
    "UnprocessableEntityError",
]


def _restore(cls: type[PuretalkError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class PuretalkError(Exception):
    """Base class of every error this SDK raises (besides ValueError/TypeError for bad input)."""

    message: str
    may_have_been_applied: bool
    """Whether the change this call stood for may have been applied (False: it was not)."""
    retries_taken: int = 0
    """How many times the call was retried before this error ended it (0: one attempt, or
    none when it failed before sending)."""

    def __init__(self, message: str, *, may_have_been_applied: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.may_have_been_applied = may_have_been_applied

    def __reduce__(self) -> Any:
        # Keyword-only constructors defeat Exception's default pickling; restore the state
        # as it is. It holds no key: requests and responses on errors are redacted copies.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


# --- no response ------------------------------------------------------------------------


class APIConnectionError(PuretalkError):
    """The request failed before an HTTP response arrived (DNS, refused, reset, ...).

    ``may_have_been_applied`` is False only when the request surely never reached the
    server (the connection was never made, or its certificate failed verification)."""

    request: httpx.Request | None
    """A redacted copy of the request that failed (``X-API-KEY`` masked)."""
    retryable: bool
    """Whether a retry may help (False for a certificate that failed verification)."""

    def __init__(
        self,
        message: str = "Connection error.",
        *,
        request: httpx.Request | None = None,
        may_have_been_applied: bool = True,
        retryable: bool = True,
    ) -> None:
        super().__init__(message, may_have_been_applied=may_have_been_applied)
        self.request = request
        self.retryable = retryable


class APITimeoutError(APIConnectionError):
    """A per-attempt timeout or the call's total_timeout ran out."""

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        request: httpx.Request | None = None,
        may_have_been_applied: bool = True,
    ) -> None:
        super().__init__(message, request=request, may_have_been_applied=may_have_been_applied)


# --- an unexpected error ------------------------------------------------------------------


class UnexpectedError(PuretalkError):
    """An internal error: an exception inside puretalk-ai, or inside the HTTP library or
    transport it called, that is not a known transport failure. Never retried, never
    called a connection error. ``__cause__`` is a redacted copy of the original, and its
    traceback, redacted, is in the notes. The change may have been applied."""

    def __init__(self, message: str) -> None:
        super().__init__(message, may_have_been_applied=True)


# --- a response that is an error ----------------------------------------------------------


class APIResponseError(PuretalkError):
    """An HTTP response arrived and the call failed: catch this for "anything that came
    with a response". ``response`` is a redacted copy."""

    status_code: int
    response: httpx.Response

    def __init__(
        self, message: str, *, response: httpx.Response, may_have_been_applied: bool
    ) -> None:
        super().__init__(message, may_have_been_applied=may_have_been_applied)
        self.status_code = response.status_code
        self.response = response

    @property
    def request(self) -> httpx.Request | None:
        """A redacted copy of the request this answered (``X-API-KEY`` masked)."""
        try:
            return self.response.request
        except RuntimeError:  # a response built without one
            return None

    @property
    def request_id(self) -> str | None:
        """The server's id for this request (``x-request-id``), to quote to support."""
        return request_id(self.response.headers)


class APIStatusError(APIResponseError):
    """The API answered with a non-2xx status; subclasses name the common ones.

    ``message`` is the API's ``msg`` (or a body snippet); ``str()`` adds the status. A
    status >= 500 may have come after the change was applied (``may_have_been_applied``);
    any other refused it.
    """

    body: Any
    retry_after: float | None
    """The wait the server asked for (``retry-after-ms`` or ``Retry-After``), in seconds."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any,
        retry_after: float | None = None,
        applied_before: bool = False,
    ) -> None:
        # A 5xx may have come after the change was applied; so may any answer to a call
        # whose earlier attempt may have applied it (``applied_before``).
        applied = response.status_code >= 500 or applied_before
        super().__init__(message, response=response, may_have_been_applied=applied)
        Exception.__init__(self, f"Error code: {response.status_code} - {message}")
        self.body = body
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """400 Bad Request."""


class AuthenticationError(APIStatusError):
    """401 Unauthorized: the X-API-KEY is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403 Forbidden."""


class NotFoundError(APIStatusError):
    """404 Not Found: no integration with that id."""


class ConflictError(APIStatusError):
    """409 Conflict (retried by default)."""


class UnprocessableEntityError(APIStatusError):
    """422 Unprocessable Entity: the body broke the API's rules."""


class RateLimitError(APIStatusError):
    """429 Too Many Requests (retried by default, honouring Retry-After up to 60 s)."""


class InternalServerError(APIStatusError):
    """Any status >= 500 (retried by default)."""


# --- a 2xx response that is not a success -------------------------------------------------


class APIResponseValidationError(APIResponseError):
    """A 2xx response that is not a usable success: not a JSON object, no ``results``
    object, a body over ``max_response_bytes``, a response about another integration, or
    (with ``strict_response_validation=True``) any field off the spec. Puretalk reported
    success, so the change may have been applied."""

    body_snippet: str
    body_incomplete: bool
    """True when the body could not be read whole (cut off, undecodable): the answer was
    lost on the way, so a retry may confirm the change (a PATCH sets a value: it is safe)."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body_snippet: str,
        body_incomplete: bool = False,
    ) -> None:
        super().__init__(message, response=response, may_have_been_applied=True)
        self.body_snippet = body_snippet
        self.body_incomplete = body_incomplete


class APIReportedError(APIResponseError):
    """A 2xx response whose body says ``"err": true``; ``message`` is the API's ``msg``.
    The API says the call failed, so the change was not applied."""

    body: Any

    def __init__(
        self, message: str, *, response: httpx.Response, body: Any, applied_before: bool = False
    ) -> None:
        super().__init__(message, response=response, may_have_been_applied=applied_before)
        Exception.__init__(
            self, f"The API reported an error (status {response.status_code}): {message}"
        )
        self.body = body


def request_id(headers: httpx.Headers) -> str | None:
    """The request id a response names (``x-request-id``, or ``request-id``), if any."""
    found: str | None = headers.get("x-request-id") or headers.get("request-id")
    return found


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The one mapping from an HTTP status to its exception class; the body plays no part."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)
