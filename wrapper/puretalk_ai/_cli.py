"""The ``puretalk-ai`` command. Standard library only: it adds no dependency.

Secrets never reach argv (so never ``ps`` or shell history) and never reach the output
unless ``--show-secrets`` is given.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import os
import signal
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import attrs

from . import _exceptions as errors
from ._bulk import UpdateResult
from ._client import Puretalk
from ._config import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._redaction import redact_json
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
}
EXIT_SOME_FAILED = 25  # update-many: at least one update failed
EXIT_INTERRUPTED = 130


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


def integration_json(integration: Any, show_secrets: bool, secrets: Sequence[str]) -> Any:
    data = integration.to_dict()
    return data if show_secrets else redact_json(data, secrets)


# --- reading keys and files -----------------------------------------------------------------


def read_new_key(env_var: str | None, stdin: TextIO) -> str:
    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise CliError(f"environment variable {env_var} is not set or empty")
        return value
    value = getpass.getpass("New integration API key: ") if stdin.isatty() else stdin.read()
    value = value.rstrip("\r\n")
    if not value:
        raise CliError("no new API key on stdin (or pass --api-key-env VAR)")
    return value


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


def parse_rows(path: Path, text: str) -> tuple[list[Row], list[str]]:
    """Rows and the problems found, each problem naming its line. Values never shown."""
    rows: list[Row] = []
    problems: list[str] = []
    if _looks_like_jsonl(path, text):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                problems.append(f"line {number}: not valid JSON")
                continue
            if not isinstance(item, dict):
                problems.append(f"line {number}: expected an object")
                continue
            rows.append(_row(number, item.get("integration_id"), item.get("api_key"), problems))
    else:
        reader = csv.reader(io.StringIO(text))
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
            rows.append(_row(number, fields[0].strip(), fields[1].strip(), problems))
    rows = [r for r in rows if r.integration_id and r.api_key]
    seen: dict[str, int] = {}
    for row in rows:
        if row.integration_id in seen:
            problems.append(
                f"line {row.line}: duplicate integration_id {row.integration_id!r} "
                f"(first on line {seen[row.integration_id]})"
            )
        else:
            seen[row.integration_id] = row.line
    if not rows and not problems:
        problems.append("the file holds no updates")
    return rows, problems


def _row(number: int, integration_id: Any, api_key: Any, problems: list[str]) -> Row:
    if not isinstance(integration_id, str) or not integration_id.strip():
        problems.append(f"line {number}: integration_id is missing or empty")
        integration_id = ""
    elif integration_id in (".", ".."):
        problems.append(f"line {number}: integration_id must not be {integration_id!r}")
        integration_id = ""
    if not isinstance(api_key, str) or not api_key:
        problems.append(f"line {number}: api_key is missing or empty")
        api_key = ""
    return Row(number, integration_id, api_key)


# --- commands -------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> Puretalk:
    return Puretalk(
        base_url=args.base_url,
        timeout=args.timeout if args.timeout is not None else DEFAULT_TIMEOUT,
        max_retries=args.max_retries if args.max_retries is not None else DEFAULT_MAX_RETRIES,
    )


def cmd_update(args: argparse.Namespace, out: TextIO) -> int:
    new_key = read_new_key(args.api_key_env, sys.stdin)
    with _client(args) as client:
        integration = client.integrations.update(args.integration_id, api_key=new_key)
        secrets = (client._config.api_key, new_key)
    json.dump(integration_json(integration, args.show_secrets, secrets), out, indent=2)
    out.write("\n")
    return EXIT_OK


def cmd_update_many(args: argparse.Namespace, out: TextIO) -> int:
    path = Path(args.file)
    try:
        text = sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.file}: {exc}") from None
    rows, problems = parse_rows(path, text)
    if problems:
        for problem in problems:
            print(f"{PROG}: {args.file}: {problem}", file=sys.stderr)
        raise CliError(f"{len(problems)} problem(s) in {args.file}; nothing was sent")
    if args.dry_run:
        print(f"{args.file}: {len(rows)} updates are valid; nothing was sent (--dry-run)", file=out)
        return EXIT_OK
    progress = sys.stderr.isatty()
    done = 0

    def on_result(_: UpdateResult) -> None:
        nonlocal done
        done += 1
        if progress:
            sys.stderr.write(f"\r{done}/{len(rows)} updated")
            sys.stderr.flush()

    with _client(args) as client:
        results = client.integrations.update_many(
            [(r.integration_id, r.api_key) for r in rows],
            concurrency=args.concurrency,
            on_result=on_result,
        )
    if progress:
        sys.stderr.write("\n")
    failed = 0
    for result in results:
        if result.error is None:
            print(f"ok      {result.integration_id}", file=out)
        else:
            failed += 1
            name = type(result.error).__name__
            print(f"failed  {result.integration_id}  {name}: {result.error}", file=out)
    print(f"{len(results) - failed} ok, {failed} failed", file=out)
    return EXIT_SOME_FAILED if failed else EXIT_OK


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

    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        raise CliError(f"set {args.api_key_env}: the fake accepts that value as X-API-KEY")
    try:
        seeded = [FakeIntegration.from_json(item) for item in load_seed(args.seed)]
    except (TypeError, ValueError) as exc:
        raise CliError(f"bad seed data: {exc}") from None
    fake = FakePuretalk(api_key=api_key, integrations=seeded)
    try:
        server = fake.serve(port=args.port)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"fake Puretalk listening at {server.base_url}", file=out)
    print(f"accepts X-API-KEY = ${args.api_key_env}; integrations:", file=out)
    for item in seeded:
        print(f"  {item.integration_id}  {item.app_name}", file=out)
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


# --- argument parsing -------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", help="API base URL (default: $PURETALK_BASE_URL or Puretalk's)"
    )
    parser.add_argument("--timeout", type=float, help="seconds per attempt (default: 30)")
    parser.add_argument("--max-retries", type=int, help="retries per update (default: 2)")


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
    many.add_argument("--dry-run", action="store_true", help="validate the file, send nothing")
    many.add_argument("--concurrency", type=int, default=8, help="updates in flight (default: 8)")
    _connection_options(many)
    many.set_defaults(run=cmd_update_many)

    fake = commands.add_parser("fake-server", help="run a local fake Puretalk for manual trials")
    fake.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    fake.add_argument("--seed", metavar="FILE", help="JSON list of integrations to serve")
    fake.add_argument(
        "--api-key-env", metavar="VAR", default="PURETALK_API_KEY",
        help="accept the X-API-KEY held in $VAR (default: PURETALK_API_KEY)",
    )  # fmt: skip
    fake.set_defaults(run=cmd_fake_server)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args, sys.stdout))
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.code
    except (errors.PuretalkError, ValueError, TypeError) as exc:
        print(f"{PROG}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
