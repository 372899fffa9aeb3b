"""What the CLI prints: escaped server text, results, the final report, progress."""

from __future__ import annotations

import argparse
import collections
import re
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from .. import _exceptions as errors
from .._bulk import UpdateResult
from .._redaction import redact_json
from ._exit import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    PROG,
)

# --- output ---------------------------------------------------------------------------------

# Every control character, line breaks and tabs included, and Unicode's line separators:
# a server's text printed by the CLI is always one line of one field.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Control characters escaped, so server text can neither repaint the screen nor
    forge a report line."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def integration_json(integration: Any, show_secrets: bool, secrets: Sequence[str]) -> Any:
    data = integration.to_dict()
    return data if show_secrets else redact_json(data, secrets)


def report(results: Sequence[UpdateResult], out: TextIO) -> int:
    """The report, one line per id in input order, then the summary line; the exit code."""
    counts = dict.fromkeys(("ok", "failed", "unknown", "not_sent"), 0)
    for result in results:
        counts[result.state] += 1
        line = f"{result.state:<8} {result.integration_id}"
        if result.error is not None:
            line += f"  {type(result.error).__name__}: {result.error}"
            if result.reason:  # the batch stopped before the retry it was due
                line += f" (not retried: {result.reason})"
        elif result.reason:
            line += f"  {result.reason}"
        print(printable(line), file=out)
    print(", ".join(f"{n} {state}" for state, n in counts.items()), file=out)
    out.flush()
    return EXIT_OK if counts["ok"] == len(results) else EXIT_SOME_FAILED


def stop_reason(results: Sequence[UpdateResult]) -> str | None:
    """Why the batch stopped early: the reason on the ids it kept from being sent, or from
    the retry they were due; None when it ran to its end."""
    reasons = [r.reason for r in results if r.state in ("not_sent", "failed") and r.reason]
    return reasons[0] if reasons else None


def doomed(results: Sequence[UpdateResult], base_url: str) -> tuple[BaseException, str] | None:
    """The error of a doomed batch and the one line that says why, or None: nothing
    succeeded, and every failure is a refused caller key or an unreachable server (one
    rule whatever the batch's size), or the batch stopped on a base URL answering 404."""
    if not results or any(r.ok for r in results):
        return None
    failures = [r.error for r in results if r.state == "failed" and r.error is not None]
    stopped = stop_reason(results)
    walls = (errors.AuthenticationError, errors.PermissionDeniedError, errors.APIConnectionError)
    if (failures and all(isinstance(e, walls) for e in failures)) or (
        stopped and failures and all(isinstance(e, errors.NotFoundError) for e in failures)
    ):
        error = failures[-1]
    else:
        return None
    why = stopped or f"{base_url}: every update failed"
    return error, f"stopped early: {why}; last error: {type(error).__name__}: {error}"


def _note(text: str) -> None:
    print(f"{PROG}: {printable(text)}", file=sys.stderr)


class Progress:
    """The progress line on stderr (a terminal only): done/total, rate, failures, ETA."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.done = self.failed = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def add(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= 0.1 or self.done == self.total):
            self._drawn = now
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            eta = f"{int(left // 60)}m{int(left % 60):02d}s"
            sys.stderr.write(
                f"\r{self.done}/{self.total} done, {rate:.0f}/s, {self.failed} failed, ETA {eta}   "
            )
            sys.stderr.flush()

    def end(self) -> None:
        if self.enabled and self.done:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _interrupted_note(
    args: argparse.Namespace, results: Sequence[UpdateResult], journal: str | None
) -> None:
    counts = collections.Counter(r.state for r in results)
    where = "above" if sys.stdout.isatty() else "on stdout"
    _note(
        f"interrupted: the report {where} is every id's state "
        f"({counts['unknown']} unknown, {counts['not_sent']} not_sent)"
    )
    if journal:
        _note(
            f"to go on: {PROG} integrations update-many {shlex.quote(args.file)} "
            f"--resume {shlex.quote(journal)}"
        )
    else:
        _note("to resume an interrupted run later, run with --journal FILE next time")
