"""Everything the suite saw that a user could see: log lines, reprs, exception texts.

test_secret_audit.py, which runs last, asserts no secret value is in any of it.
"""

from __future__ import annotations

import logging
import pickle
import traceback

SEEN: list[str] = []


def record_object(obj: object) -> None:
    SEEN.append(repr(obj))
    SEEN.append(str(obj))


def record_exception(exc: BaseException) -> None:
    record_object(exc)
    SEEN.append("".join(traceback.format_exception(exc)))
    for name in ("body", "message", "body_snippet"):
        if hasattr(exc, name):
            SEEN.append(repr(getattr(exc, name)))
    # What travels with an exception: its redacted request and response, and its pickle.
    response = getattr(exc, "response", None)
    request = getattr(exc, "request", None) or getattr(response, "request", None)
    if response is not None:
        SEEN.extend([repr(response.headers), response.content.decode("utf-8", "replace")])
    if request is not None:
        SEEN.extend([repr(request.headers), request.content.decode("utf-8", "replace")])
    try:
        SEEN.append(pickle.dumps(exc).decode("latin-1"))
    except (pickle.PicklingError, TypeError, AttributeError):
        SEEN.append(f"<{type(exc).__name__} cannot be pickled>")


class RecordingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        SEEN.append(self.format(record))
