"""Everything the suite saw that a user could see: log lines, reprs, exception texts.

test_secret_audit.py, which runs last, asserts no secret value is in any of it.
"""

from __future__ import annotations

import logging
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


class RecordingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        SEEN.append(self.format(record))
