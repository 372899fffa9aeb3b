"""What the CLI prints: escaped server text, results, the final report, progress."""

from __future__ import annotations

import argparse
import collections
import json
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


def report(
    results: Sequence[UpdateResult],
    out: TextIO,
    skipped: Sequence[str] = (),
    as_json: bool = False,
    elapsed: float | None = None,
) -> int:
    """The report, one line per id (those a resumed run skipped first, as ``skipped``),
    then the summary line; or, with `as_json`, one JSON object per id and then one for the
    summary (keys never in either: errors and reasons are redacted texts). The exit code."""
    counts = dict.fromkeys(("ok", "failed", "unknown", "not_sent"), 0)
    for integration_id in skipped:
        note = "already ok with this key in the journal; not sent again"
        if as_json:
            done = {"integration_id": integration_id, "state": "skipped", "reason": note}
            print(json.dumps(done), file=out)
        else:
            print(printable(f"{'skipped':<8} {integration_id}  {note}"), file=out)
    for result in results:
        counts[result.state] += 1
        if as_json:
            entry: dict[str, Any] = {"integration_id": result.integration_id, "state": result.state}
            if result.error is not None:
                entry["error"] = type(result.error).__name__
                entry["message"] = str(result.error)
                entry["may_have_been_applied"] = getattr(
                    result.error, "may_have_been_applied", None
                )
            if result.reason:
                entry["reason"] = result.reason
            print(json.dumps(entry), file=out)
            continue
        line = f"{result.state:<8} {result.integration_id}"
        if result.error is not None:
            line += f"  {type(result.error).__name__}: {result.error}"
            if result.reason:  # the batch stopped before the retry it was due
                line += f" (not retried: {result.reason})"
        elif result.reason:
            line += f"  {result.reason}"
        print(printable(line), file=out)
    rate_limited = sum(result.rate_limited for result in results)
    if as_json:
        totals: dict[str, Any] = {**counts, "skipped": len(skipped), "rate_limited": rate_limited}
        if elapsed is not None:
            totals["elapsed_seconds"] = round(elapsed, 3)
        print(json.dumps({"summary": totals}), file=out)
    else:
        # The counts stay first and fixed (scripts parse them); what is rarely there follows.
        summary = ", ".join(f"{n} {state}" for state, n in counts.items())
        summary += f", {len(skipped)} skipped" if skipped else ""
        summary += f"; {rate_limited} answers were 429 (rate limited)" if rate_limited else ""
        print(summary, file=out)
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


# Progress on stderr: redrawn in place on a terminal; elsewhere (CI, nohup, a pipe) one
# line every PROGRESS_EVERY seconds, so a long run is never silent.
PROGRESS_EVERY = 5.0
# An ETA is shown once it means something: this share of the run done, and this long in.
ETA_AFTER_SHARE = 0.02
ETA_AFTER_SECONDS = 3.0


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return (
        f"{whole // 3600}h{whole // 60 % 60:02d}m"
        if whole >= 3600
        else f"{whole // 60}m{whole % 60:02d}s"
    )


class Progress:
    """The progress of update-many on stderr: done/total, rate, failures, ETA; then one
    closing line with the elapsed time. ``mode``: "auto" (a terminal redraws, anything
    else gets a line every few seconds), "always", or "never"."""

    def __init__(self, total: int, mode: str, terminal: bool, skipped: int = 0) -> None:
        self.total, self.skipped = total, skipped
        self.enabled = mode != "never"
        self.terminal = terminal
        self.done = self.failed = self.rate_limited = 0
        self.started = time.monotonic()
        # Off a terminal, the first line comes PROGRESS_EVERY in: a short run stays quiet.
        self._drawn = 0.0 if terminal else self.started
        self.shown = False

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.done}/{self.total} done, {rate:.0f}/s, {self.failed} failed"
        text += f", {self.rate_limited} answers 429" if self.rate_limited else ""
        meaningful = self.done >= ETA_AFTER_SHARE * self.total and elapsed >= ETA_AFTER_SECONDS
        if self.done < self.total:
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            text += f", ETA {_clock(left)}" if meaningful and rate > 0 else ", ETA ..."
        return text

    def add(self, result: UpdateResult) -> None:
        self.done += 1
        self.failed += not result.ok
        self.rate_limited += result.rate_limited
        now = time.monotonic()
        if not self.enabled:
            return
        every = 0.1 if self.terminal else PROGRESS_EVERY
        if now - self._drawn < every and self.done != self.total:
            return
        self._drawn = now
        if self.terminal:
            sys.stderr.write(f"\r{self.line(now)}   ")
        elif self.done != self.total:
            sys.stderr.write(f"{PROG}: {self.line(now)}\n")
        else:
            return
        self.shown = True
        sys.stderr.flush()

    def end(self) -> None:
        """The closing line, after any progress was shown (a short quiet run adds none)."""
        if not (self.enabled and self.shown):
            return
        if self.terminal and self.done:
            sys.stderr.write("\n")
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        skipped = f"; {self.skipped} skipped (already done)" if self.skipped else ""
        sys.stderr.write(
            f"{PROG}: {self.done} of {self.total} updates ended in {_clock(elapsed)} "
            f"({elapsed:.1f} s, {rate:.0f}/s), {self.failed} not ok, "
            f"{self.rate_limited} answers 429{skipped}\n"
        )
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
