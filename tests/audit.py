"""Everything the suite saw that a user could see: log lines, reprs, exception texts.

Every pytest process (each xdist worker too) scans what it recorded when its session ends
(conftest.py), and test_secret_audit.py drives the surface itself and scans, so the audit
means something alone, with ``-k`` and in parallel runs alike.
"""

from __future__ import annotations

import logging
import pickle
import traceback
from urllib.parse import quote

from tests.secrets import ALL

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


def _spellings() -> list[tuple[int, str]]:
    """Every spelling of each secret: raw, \\u-escaped, percent-encoded."""
    return [
        (which, form)
        for which, secret in enumerate(ALL)
        for form in (
            secret,
            "".join(f"\\u{ord(c):04x}" for c in secret),
            quote(secret, safe=""),
        )
    ]


def leaks(texts: list[str] | None = None) -> list[tuple[int, int]]:
    """(secret number, text index) for each captured text holding a secret."""
    spellings = _spellings()
    seen = SEEN if texts is None else texts
    return [(which, i) for i, text in enumerate(seen) for which, s in spellings if s in text]


def describe(found: list[tuple[int, int]]) -> str:
    # Which secret and where, never the texts or values themselves.
    return f"{len(found)} captured texts hold a secret (secret#, index): {found[:10]}"
