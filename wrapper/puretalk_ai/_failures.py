"""What a failed send was, the same on every backend, and the SDK error it stands for.

The senders hand back the exception a send ended in; these plain functions (no I/O) tell a
timeout, a certificate that failed verification and a lost connection apart, and whether
the request may have reached the server. Anything else is not a transport failure but an
internal error (``UnexpectedError``), which keeps its traceback as redacted text.
"""

from __future__ import annotations

import ssl
import traceback
from collections.abc import Iterator
from typing import Literal

from ._exceptions import APIConnectionError, APITimeoutError, PuretalkError, UnexpectedError
from ._httpx import httpx
from ._redaction import Secrets, redacted_request

__all__ = [
    "FailureKind",
    "certificate_problem",
    "failure_kind",
    "may_have_arrived",
    "transport_error",
]

FailureKind = Literal["timeout", "certificate", "connection", "other"]


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 16:  # a cycle or a runaway chain ends here
        yield current
        seen += 1
        current = current.__cause__ or current.__context__


def failure_kind(exc: Exception) -> FailureKind:
    """What a send that raised ``exc`` ran into, the same on every backend (the aiohttp
    transport's errors arrive mapped to httpx's classes, see ``_httpx``):

    - a certificate that failed verification (it will not verify on a retry either);
    - a timeout;
    - a connection problem: any other httpx transport error, an OS or TLS error;
    - "other": anything else is not a transport failure but an internal error (a bug).
    """
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(exc)):
        return "certificate"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.TransportError | OSError):
        return "connection"
    return "other"


# Failures that surely happened before the request reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, ConnectionRefusedError)


def may_have_arrived(exc: Exception) -> bool:
    """Whether the request may have reached the server before ``exc``, a timeout or a
    connection failure, ended the attempt (a certificate failure never lets it through)."""
    return not any(isinstance(cause, _NOT_SENT) for cause in _causes(exc))


def certificate_problem(exc: Exception) -> str:
    """The verifier's own words (``self-signed certificate``), or a plain fallback."""
    for error in _causes(exc):
        if isinstance(error, ssl.SSLCertVerificationError):
            why = getattr(error, "verify_message", None) or getattr(error, "reason", None)
            if why:
                return str(why)
    return "unknown reason"


def transport_error(
    exc: Exception, request: httpx.Request, secrets: Secrets, applied_before: bool = False
) -> PuretalkError:
    """The SDK error for an exception a send ended in: the transport failures it knows
    (httpx's, aiohttp's mapped to them, OS and TLS errors) by kind; anything else is an
    internal error that keeps its traceback, redacted, and is never called a connection
    error. ``applied_before``: an earlier attempt of the call may have applied it."""
    shown = redacted_request(request, secrets)
    kind = failure_kind(exc)
    if kind == "timeout":
        message = f"Request timed out ({type(exc).__name__})."
        applied = applied_before or may_have_arrived(exc)
        return APITimeoutError(message, request=shown, may_have_been_applied=applied)
    if kind == "certificate":
        # A certificate that failed verification fails again: never retried.
        why = secrets.redact(certificate_problem(exc))
        message = f"Connection error: certificate verification failed ({why})."
        return APIConnectionError(
            message, request=shown, may_have_been_applied=applied_before, retryable=False
        )
    if kind == "connection":
        message = f"Connection error ({type(exc).__name__})."
        applied = applied_before or may_have_arrived(exc)
        return APIConnectionError(message, request=shown, may_have_been_applied=applied)
    error = UnexpectedError(
        f"Unexpected error inside the SDK or its HTTP transport ({type(exc).__name__}); "
        "not a connection problem, and the change may have been applied. Please report it."
    )
    # The original's frames hold the request (key and all) in their locals: the traceback
    # travels as redacted text, and the cause as a redacted copy without frames.
    text = "".join(traceback.format_exception(exc))
    error.add_note("The original traceback (redacted):\n" + secrets.redact(text))
    return error
