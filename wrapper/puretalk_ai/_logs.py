"""The ``puretalk_ai`` logger: method, path, status and timings; never headers or bodies.

DEBUG: one line per attempt. INFO: one line per retry and per give-up. WARNING: a
successful response with fields off the spec.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

logger = logging.getLogger("puretalk_ai")

LOG_ENV = "PURETALK_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def log_handler(stream: TextIO | None = None) -> logging.Handler:
    """The handler PURETALK_LOG adds: formatted lines on `stream` (stderr), keys masked."""
    from ._redaction import RedactingFilter

    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    return handler


def setup_logging_from_env() -> None:
    """PURETALK_LOG=debug|info adds a stderr handler, once."""
    asked = os.environ.get(LOG_ENV, "").strip().lower()
    level = _LEVELS.get(asked)
    if asked and level is None:
        import warnings  # rare: only for a value that is not a level

        warnings.warn(
            f"{LOG_ENV}={asked[:20]!r} is not a level (debug or info); no log handler added",
            RuntimeWarning,
            stacklevel=2,
        )
    if level is None or any(getattr(h, "_puretalk", False) for h in logger.handlers):
        return
    handler = log_handler()
    handler._puretalk = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
