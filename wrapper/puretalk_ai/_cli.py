"""The ``puretalk-ai`` command. Standard library only: it adds no dependency.

Secrets never reach argv (so never ``ps`` or shell history) and never reach the output
unless ``--show-secrets`` is given. Every failure is one line on stderr, never a
traceback; text that came from a server has its terminal control characters escaped.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import csv
import difflib
import functools
import getpass
import io
import json
import math
import os
import re
import shlex
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import attrs

from . import _exceptions as errors
from ._bulk import UpdateResult
from ._client import AsyncPuretalk, ClientOptions, Puretalk
from ._config import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._httpx import has_aiohttp
from ._journal import Journal, JournalError, fingerprint, ids_digest, read_journal
from ._redaction import redact_json
from ._transport import HttpBackend
from ._version import __version__

PROG = "puretalk-ai"

# One exit code per error class; the most specific class wins.
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2  # bad arguments or input (argparse uses 2 as well)
EXIT_CODES: dict[type[BaseException], int] = {
    ValueError: EXIT_USAGE,
    TypeError: EXIT_USAGE,
    errors.PuretalkError: 3,
    errors.APIConnectionError: 4,
    errors.APITimeoutError: 5,
    errors.APIStatusError: 10,
    errors.BadRequestError: 11,
    errors.AuthenticationError: 12,
    errors.PermissionDeniedError: 13,
    errors.NotFoundError: 14,
    errors.ConflictError: 15,
    errors.UnprocessableEntityError: 16,
    errors.RateLimitError: 17,
    errors.InternalServerError: 18,
    errors.APIResponseValidationError: 20,
    errors.APIReportedError: 21,
    errors.UnexpectedError: EXIT_UNEXPECTED,
}
EXIT_SOME_FAILED = 25  # update-many: at least one update did not end ok
EXIT_JOURNAL = 26  # update-many: the journal could not be written; the batch stopped
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (as a SIGPIPE'd tool)

# Input files are read whole, so they are capped; keys (JWTs included) fit well within a line.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LINE_CHARS = 16 * 1024  # checked per line before parsing: csv's own limit is left alone


class CliError(Exception):
    """A problem to report in one line, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return EXIT_UNEXPECTED


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


# --- reading keys and files -----------------------------------------------------------------


def key_problem(api_key: str) -> str | None:
    """Why a new key read from a file, stdin or the environment is refused (never echoed)."""
    if not api_key:
        return "is empty"
    if api_key != api_key.strip():
        return "has leading or trailing whitespace"
    if "\n" in api_key or "\r" in api_key:
        return "contains a line break"
    return None


def _drop_one_newline(text: str) -> str:
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


def read_new_key(env_var: str | None, stdin: TextIO) -> str:
    """The new key from $VAR, or stdin (one trailing newline dropped), checked."""
    if env_var:
        if not _ENV_NAME.fullmatch(env_var):
            raise CliError("--api-key-env takes the NAME of an environment variable")
        api_key = os.environ.get(env_var, "")
        where = f"environment variable {env_var}"
        if not api_key:
            raise CliError(f"{where} is not set or empty")
    else:
        where = "the new API key on stdin"
        try:
            if stdin.isatty():
                api_key = getpass.getpass("New integration API key: ")
            else:
                api_key = _drop_one_newline(stdin.read(MAX_LINE_CHARS + 2))
        except EOFError:
            api_key = ""
        if not api_key:
            raise CliError("no new API key on stdin (or pass --api-key-env VAR)")
    problem = key_problem(api_key)
    if problem is not None:
        raise CliError(f"{where} {problem}; it was not sent")
    return api_key


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class Row:
    line: int
    integration_id: str
    api_key: str = attrs.field(repr=False)


def _looks_like_jsonl(path: Path, text: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    return text.lstrip().startswith("{")


def read_input(name: str) -> str:
    """The whole update file (or stdin for "-"), capped at MAX_FILE_BYTES, as UTF-8
    (a BOM, as Excel writes, is dropped)."""
    try:
        if name == "-":
            data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with open(name, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CliError(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CliError(f"{name}: line {line}: not UTF-8") from None


def parse_rows(path: Path, text: str) -> tuple[list[Row], list[str]]:
    """Rows and the problems found, each problem naming its line. Values never shown."""
    rows: list[Row] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE_CHARS:
            return [], [f"line {number}: longer than {MAX_LINE_CHARS} characters"]
    if _looks_like_jsonl(path, text):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except (ValueError, RecursionError):
                problems.append(f"line {number}: not valid JSON")
                continue
            if not isinstance(item, dict):
                problems.append(f"line {number}: expected an object")
                continue
            rows.append(_row(number, item.get("integration_id"), item.get("api_key"), problems))
    else:
        reader = csv.reader(io.StringIO(text), strict=True)
        try:
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != ["integration_id", "api_key"]:
                problems.append("line 1: the CSV header must be exactly: integration_id,api_key")
                return [], problems
            for fields in reader:
                number = reader.line_num
                if not fields or not any(f.strip() for f in fields):
                    continue
                if len(fields) != 2:
                    problems.append(f"line {number}: expected 2 fields, got {len(fields)}")
                    continue
                rows.append(_row(number, fields[0], fields[1], problems))
        except csv.Error:
            problems.append(f"line {reader.line_num}: malformed CSV (a stray or unbalanced quote?)")
    rows = [r for r in rows if r.integration_id and r.api_key]
    seen: dict[str, int] = {}
    for row in rows:
        if row.integration_id in seen:
            first = seen[row.integration_id]
            problems.append(f"line {row.line}: duplicate integration_id (first on line {first})")
        else:
            seen[row.integration_id] = row.line
    if not rows and not problems:
        problems.append("the file holds no updates")
    return rows, problems


def _row(number: int, integration_id: Any, api_key: Any, problems: list[str]) -> Row:
    """One checked row. Puretalk's integration ids are UUIDs, so anything else is refused
    by line number, without echoing the cell (swapped columns would print a key)."""
    canonical = ""
    if not isinstance(integration_id, str) or not integration_id.strip():
        problems.append(f"line {number}: integration_id is missing or empty")
    else:
        try:
            canonical = str(uuid.UUID(integration_id.strip()))
        except ValueError:
            problems.append(f"line {number}: integration_id is not a UUID (value not shown)")
    if not isinstance(api_key, str) or not api_key:
        problems.append(f"line {number}: api_key is missing or empty")
        api_key = ""
    elif (problem := key_problem(api_key)) is not None:
        problems.append(f"line {number}: api_key {problem}")
        api_key = ""
    return Row(number, canonical, api_key)


# --- commands -------------------------------------------------------------------------------


def _client_options(args: argparse.Namespace) -> ClientOptions:
    """The connection options shared by every command's client."""
    return {
        "base_url": args.base_url,
        "timeout": args.timeout if args.timeout is not None else DEFAULT_TIMEOUT,
        "max_retries": args.max_retries if args.max_retries is not None else DEFAULT_MAX_RETRIES,
    }


def _client(args: argparse.Namespace) -> Puretalk:
    return Puretalk(**_client_options(args))


def cmd_update(args: argparse.Namespace, out: TextIO) -> int:
    try:  # Puretalk's integration ids are UUIDs; anything else may be a pasted key
        uuid.UUID(args.integration_id)
    except ValueError:
        raise CliError("integration_id is not a UUID (value not shown); nothing was sent") from None
    api_key = read_new_key(args.api_key_env, sys.stdin)
    with _client(args) as client:
        integration = client.integrations.update(args.integration_id, api_key=api_key)
        shown = integration_json(integration, args.show_secrets, (client._config.api_key, api_key))
    json.dump(shown, out, indent=2)
    out.write("\n")
    return EXIT_OK


def report(results: Sequence[UpdateResult], out: TextIO) -> int:
    """The report, one line per id in input order, then the summary line; the exit code."""
    counts = dict.fromkeys(("ok", "failed", "unknown", "not_sent"), 0)
    for result in results:
        counts[result.state] += 1
        line = f"{result.state:<8} {result.integration_id}"
        if result.error is not None:
            line += f"  {type(result.error).__name__}: {result.error}"
        elif result.reason:
            line += f"  {result.reason}"
        print(printable(line), file=out)
    print(", ".join(f"{n} {state}" for state, n in counts.items()), file=out)
    out.flush()
    return EXIT_OK if counts["ok"] == len(results) else EXIT_SOME_FAILED


def _doomed_error(results: Sequence[UpdateResult]) -> BaseException | None:
    """The error that stopped a doomed batch (the caller key refused, the server down):
    nothing succeeded, the rest was not sent, and the failures are all of that kind."""
    if any(r.ok for r in results) or not any(r.state == "not_sent" for r in results):
        return None
    doomed = (errors.AuthenticationError, errors.PermissionDeniedError, errors.APIConnectionError)
    failures = [r.error for r in results if r.state == "failed"]
    if failures and all(isinstance(e, doomed) for e in failures):
        return failures[-1]
    return None


def _note(text: str) -> None:
    print(f"{PROG}: {printable(text)}", file=sys.stderr)


def _resume_plan(
    args: argparse.Namespace, rows: list[Row], input_ids: str
) -> tuple[list[Row], bytes | None, bool]:
    """The rows still to send after ``--resume``; the journal's salt; whether it ends cut."""
    try:
        journal = read_journal(args.resume)
    except JournalError as exc:
        raise CliError(str(exc)) from None
    if journal.ids is not None and journal.ids != input_ids:
        _note(
            f"resume: {args.resume} was written for another input file; only the ids it marks "
            "ok with the same key are skipped"
        )
    same, other_key, unverified, in_flight, todo = 0, 0, 0, 0, []
    for row in rows:
        entry = journal.states.get(row.integration_id)
        if entry is not None and entry.state == "ok":
            if entry.salt is None:
                unverified += 1
            elif entry.key == fingerprint(entry.salt, row.integration_id, row.api_key):
                same += 1
                continue
            else:
                other_key += 1
        elif entry is not None and entry.state == "sending":
            in_flight += 1
        todo.append(row)
    _note(f"resume: {same} already ok in {args.resume} with the same key; not sent again")
    if other_key:
        _note(f"resume: {other_key} are ok there with a different key; sending the new keys")
    if unverified:
        _note(
            f"resume: {unverified} are ok there without a key fingerprint (written by "
            "puretalk-ai < 0.3); sending them again"
        )
    if in_flight:
        _note(
            f"resume: {in_flight} were in flight when that run stopped (state unknown); "
            "sending them again"
        )
    return todo, journal.salt, journal.ends_cut


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


def cmd_update_many(args: argparse.Namespace, out: TextIO) -> int:
    if (
        args.journal
        and args.resume
        and os.path.realpath(args.journal) != os.path.realpath(args.resume)
    ):
        raise CliError(
            "--journal and --resume name different files: --resume JOURNAL already goes on "
            "journaling to JOURNAL"
        )
    text = read_input(args.file)
    rows, problems = parse_rows(Path(args.file), text)
    del text
    if problems:
        for problem in problems:
            print(f"{PROG}: {args.file}: {problem}", file=sys.stderr)
        raise CliError(f"{len(problems)} problem(s) in {args.file}; nothing was sent")
    input_ids = ids_digest(r.integration_id for r in rows)
    salt: bytes | None = None
    ends_cut = False
    if args.resume:
        rows, salt, ends_cut = _resume_plan(args, rows, input_ids)
    backend: HttpBackend = args.http or ("aiohttp" if has_aiohttp() else "httpx")
    # Building the client checks the key, base URL and options, sending nothing.
    bulk_client = AsyncPuretalk(**_client_options(args), http_backend=backend)
    if args.dry_run:
        print(f"{args.file}: {len(rows)} updates are valid; nothing was sent (--dry-run)", file=out)
        return EXIT_OK
    journal_path = args.journal or args.resume
    try:
        journal = (
            Journal(journal_path, input_ids, salt, ends_cut=ends_cut) if journal_path else None
        )
    except JournalError as exc:
        raise CliError(str(exc), EXIT_JOURNAL) from None
    pairs = [(r.integration_id, r.api_key) for r in rows]
    del rows
    results, interrupted, journal_error = asyncio.run(
        _bulk(bulk_client, pairs, args.concurrency, journal)
    )
    if interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut the report
    code = report(results, out)
    if journal_error is not None:
        _note(
            f"error: cannot write the journal ({journal_error}); the batch stopped before "
            "sending the update it could not journal"
        )
        return EXIT_JOURNAL
    if interrupted:
        _interrupted_note(args, results, journal_path)
        return EXIT_INTERRUPTED
    doomed = _doomed_error(results)
    if doomed is not None:
        _note(f"stopped early: {type(doomed).__name__}: {doomed}")
        return exit_code_for(doomed)
    return code


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


async def _bulk(
    client: AsyncPuretalk,
    pairs: list[tuple[str, str]],
    concurrency: int,
    journal: Journal | None,
) -> tuple[list[UpdateResult], bool, OSError | None]:
    """Run update_many; Ctrl-C cancels it, and the states come back with the cancellation."""
    keys: dict[str, str] = {}
    if journal is not None:  # fingerprints, computed once: never the keys themselves
        keys = {i: fingerprint(journal.salt, i, k) for i, k in pairs}
    progress = Progress(len(pairs), sys.stderr.isatty())

    def on_start(integration_id: str) -> Any:
        if journal is not None:
            return journal.sending(integration_id, keys[integration_id])
        return None

    def on_result(result: UpdateResult) -> None:
        if journal is not None:
            journal.finished(
                result.integration_id, result.state, keys[result.integration_id], result.error
            )
        progress.add(result.ok)

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(
        client.integrations.update_many(
            pairs, concurrency=concurrency, on_start=on_start, on_result=on_result
        )
    )
    del pairs
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel("interrupted")  # a second Ctrl-C lands here too: no traceback

    restore_signals = _handle_signals(loop, interrupt)
    try:
        try:
            return await task, False, None
        except asyncio.CancelledError as exc:
            if not interrupted:
                raise
            return exc.update_results, True, None  # type: ignore[attr-defined]
        except OSError as exc:  # the journal could not be written: nothing more was sent
            if journal is None or journal.failed is None:
                raise
            return exc.update_results, False, journal.failed  # type: ignore[attr-defined]
    finally:
        progress.end()
        for restore in restore_signals:
            restore()
        await client.aclose()
        if journal is not None:
            await journal.aclose()


def _handle_signals(loop: asyncio.AbstractEventLoop, interrupt: Any) -> list[Any]:
    """Ctrl-C and SIGTERM (kill, systemd, CI runners) both interrupt with a full report.

    Returns the functions that put the previous handling back. Where the loop has no
    signal handlers (Windows), a plain ``signal.signal`` handler hands the signal to the
    loop instead; a signal the platform lacks is skipped.
    """
    undo: list[Any] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, interrupt)
        except (NotImplementedError, RuntimeError):
            try:
                previous = signal.signal(signum, lambda *_: loop.call_soon_threadsafe(interrupt))
            except (ValueError, OSError):  # not the main thread, or no such signal here
                continue
            undo.append(functools.partial(signal.signal, signum, previous))
            continue
        undo.append(functools.partial(loop.remove_signal_handler, signum))
    return undo


def load_seed(path: str | None) -> list[dict[str, Any]]:
    if path is None:
        return [
            {
                "integration_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "puretalk-fake/elevenlabs")),
                "app_name": "elevenlabs",
                "friendly_app_name": "ElevenLabs",
                "tools": ["text_to_speech"],
                "api_key": "seeded-key",
            }
        ]
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read seed file {path}: {exc}") from None
    items = data.get("integrations") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CliError("the seed file must hold a JSON list of integrations")
    return items


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # leave serve_forever through the same path as Ctrl-C


def cmd_fake_server(args: argparse.Namespace, out: TextIO) -> int:
    from .testing import FakeIntegration, FakePuretalk

    if not _ENV_NAME.fullmatch(args.api_key_env):
        raise CliError("--api-key-env takes the NAME of an environment variable")
    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        raise CliError(f"set {args.api_key_env}: the fake accepts that value as X-API-KEY")
    try:
        seeded = [FakeIntegration.from_json(item) for item in load_seed(args.seed)]
    except (TypeError, ValueError) as exc:
        raise CliError(f"bad seed data: {type(exc).__name__}") from None
    fake = FakePuretalk(
        api_key=api_key,
        integrations=seeded,
        rate_limit=args.rate_limit,
        rate_limiter=args.rate_limiter,
        rate_window=args.rate_window,
        latency=args.latency,
    )
    try:
        server = fake.serve(port=args.port)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"fake Puretalk listening at {server.base_url}", file=out)
    print(f"accepts X-API-KEY = ${args.api_key_env}; integrations:", file=out)
    for item in seeded[:10]:
        print(f"  {item.integration_id}  {printable(item.app_name)}", file=out)
    if len(seeded) > 10:
        print(f"  ... and {len(seeded) - 10} more", file=out)
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        statuses = collections.Counter(
            "dropped" if r.status is None else str(r.status) for r in fake.requests
        )
        shown = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
        print(f"served {len(fake.requests)} requests: {shown or 'none'}", file=out)
        out.flush()
    return EXIT_OK


# --- argument parsing -------------------------------------------------------------------------


def _option_names(parser: argparse.ArgumentParser) -> list[str]:
    """Every long option of the parser and its subcommands."""
    names: list[str] = []
    for action in parser._actions:
        names += [o for o in action.option_strings if o.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                names += _option_names(sub)
    return sorted(set(names))


class _Parser(argparse.ArgumentParser):
    """No prefix matching (``--api-key`` must never become ``--api-key-env``), and errors
    that never echo an argument's value (it may be a key pasted in the wrong place)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            tokens = message.split(":", 1)[1].split()
            # A token is shown only when it is a near miss of one of our option names: a
            # typo is worth naming, and anything else may be a key pasted in the wrong place.
            known = _option_names(self)
            names = [
                f"{name} (did you mean {close[0]}?)"
                for name in (t.split("=", 1)[0] for t in tokens)
                if name.startswith("--")
                and (close := difflib.get_close_matches(name, known, n=1, cutoff=0.8))
            ]
            shown = f": {', '.join(names)}" if names else ""
            message = f"{len(tokens)} unrecognized argument(s){shown} (values not shown)"
        else:
            message = re.sub(r"'[^']*'", "(value not shown)", message)
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a finite number of seconds > 0")
    return value


def _count(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("must be a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}")
        return value

    return parse


def _non_negative(text: str) -> float:
    value = _seconds(text) if text.strip() not in ("0", "0.0") else 0.0
    return value


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", help="API base URL (default: $PURETALK_BASE_URL or Puretalk's)"
    )
    parser.add_argument("--timeout", type=_seconds, help="seconds per attempt (default: 30)")
    parser.add_argument("--max-retries", type=_count(0), help="retries per update (default: 2)")


_KEY_OPTION = re.compile(r"^--?(api[-_]?key|key|token|secret|password|new[-_]?key)$", re.I)


def refuse_keys_in_argv(argv: Sequence[str]) -> None:
    """A key-like option is refused before parsing: a key on argv shows in ``ps``."""
    for token in argv:
        name = token.split("=", 1)[0]
        if _KEY_OPTION.match(name):
            raise CliError(
                f"{name} is not an option: keys never go on the command line (they show in "
                "ps and shell history). Pipe the new key on stdin, or use --api-key-env VAR; "
                "the caller's key comes from $PURETALK_API_KEY"
            )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Rotate Puretalk Ruth Connect integration keys.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    integrations = commands.add_parser("integrations", help="Ruth Connect integrations")
    actions = integrations.add_subparsers(dest="action", required=True, parser_class=_Parser)

    update = actions.add_parser(
        "update",
        help="set one integration's API key",
        description="The new key is read from stdin, or from --api-key-env VAR; "
        "the caller's key from $PURETALK_API_KEY.",
    )
    update.add_argument("integration_id")
    update.add_argument("--api-key-env", metavar="VAR", help="read the new key from $VAR")
    update.add_argument("--show-secrets", action="store_true", help="print keys unredacted")
    _connection_options(update)
    update.set_defaults(run=cmd_update)

    many = actions.add_parser(
        "update-many",
        help="set many integrations' API keys from a CSV or JSON-lines file",
        description="FILE is CSV with the header integration_id,api_key, or JSON lines "
        'of {"integration_id": ..., "api_key": ...}; - reads stdin.',
    )
    many.add_argument("file", metavar="FILE")
    many.add_argument(
        "--dry-run", action="store_true", help="check everything but the network; send nothing"
    )
    many.add_argument(
        "--concurrency",
        type=_count(1),
        default=8,
        help="updates in flight, at most (default: 8); the rate is learnt from the server",
    )
    many.add_argument(
        "--http",
        choices=("aiohttp", "httpx"),
        help="the async transport (default: aiohttp when the extra is installed, else httpx)",
    )
    many.add_argument(
        "--journal", metavar="JOURNAL", help="append each update's state to JOURNAL (JSON lines)"
    )
    many.add_argument(
        "--resume",
        metavar="JOURNAL",
        help="skip the ids JOURNAL marks ok with the same key, and go on journaling to it",
    )
    _connection_options(many)
    many.set_defaults(run=cmd_update_many)

    fake = commands.add_parser("fake-server", help="run a local fake Puretalk for manual trials")
    fake.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    fake.add_argument("--seed", metavar="FILE", help="JSON list of integrations to serve")
    fake.add_argument(
        "--rate-limit", type=_seconds, metavar="R", help="answer 429 beyond R requests per second"
    )
    fake.add_argument(
        "--rate-limiter",
        choices=("token-bucket", "fixed-window"),
        default="token-bucket",
        help="how --rate-limit counts: a token bucket, or fixed windows (default: token-bucket)",
    )
    fake.add_argument(
        "--rate-window", type=_seconds, default=1.0, metavar="S",
        help="the fixed window's length in seconds (default: 1)",
    )  # fmt: skip
    fake.add_argument(
        "--latency", type=_non_negative, default=0.0, metavar="S", help="wait S seconds per answer"
    )
    fake.add_argument(
        "--api-key-env", metavar="VAR", default="PURETALK_API_KEY",
        help="accept the X-API-KEY held in $VAR (default: PURETALK_API_KEY)",
    )  # fmt: skip
    fake.set_defaults(run=cmd_fake_server)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        refuse_keys_in_argv(arguments)
        args = build_parser().parse_args(arguments)
        return int(args.run(args, sys.stdout))
    except CliError as exc:
        print(f"{PROG}: error: {printable(str(exc))}", file=sys.stderr)
        return exc.code
    except (errors.PuretalkError, ValueError, TypeError) as exc:
        print(f"{PROG}: error: {type(exc).__name__}: {printable(str(exc))}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head -1`): say so once, and keep Python's exit-time
        # flush of stdout from printing a traceback of its own.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print(f"{PROG}: error: output closed early (broken pipe)", file=sys.stderr)
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
