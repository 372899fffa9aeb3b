"""The argument parser: options, their checks, and keys refused on argv."""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .._version import __version__
from ._commands import (
    cmd_api,
    cmd_fake_server,
    cmd_update,
    cmd_update_many,
)
from ._exit import (
    EXIT_USAGE,
    PROG,
    CliError,
)

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

    argv: Sequence[str] = ()  # what is being parsed: the command it names is the context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def _command(self) -> argparse.ArgumentParser:
        """The (sub)command the arguments name: its options are the ones that fit."""
        parser: argparse.ArgumentParser = self
        for token in self.argv:
            subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            if not subparsers or token not in subparsers[0].choices:
                continue
            parser = subparsers[0].choices[token]
        return parser

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            tokens = message.split(":", 1)[1].split()
            # A token is shown only when it is a near miss of one of the command's options
            # (a typo is worth naming; anything else may be a key pasted in the wrong
            # place), or an option of another command.
            command = self._command()
            known = _option_names(command)
            everywhere = _option_names(self)
            names: list[str] = []
            for name in (t.split("=", 1)[0] for t in tokens):
                if not name.startswith("--"):
                    continue
                if name in everywhere and name not in known:
                    names.append(f"{name} (not an option of {command.prog})")
                elif close := difflib.get_close_matches(name, known, n=1, cutoff=0.8):
                    names.append(f"{name} (did you mean {close[0]}?)")
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


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be a number from 0 to 1")
    return value


def _non_negative(text: str) -> float:
    value = _seconds(text) if text.strip() not in ("0", "0.0") else 0.0
    return value


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", help="API base URL (default: $PURETALK_BASE_URL or Puretalk's)"
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="accept a plain-http --base-url off loopback (an internal gateway): the key "
        "travels in clear text",
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
        "--max-rate",
        type=_seconds,
        metavar="R",
        help="send at most R updates per second, below what the server allows (a shared quota)",
    )
    many.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress on stderr: redrawn on a terminal, else a line every 5 s (default: auto)",
    )
    many.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="the report on stdout: a line per id, or a JSON object per id then a summary",
    )
    many.add_argument(
        "--resume",
        metavar="JOURNAL",
        help="skip the ids JOURNAL marks ok with the same key, and go on journaling to it",
    )
    _connection_options(many)
    many.set_defaults(run=cmd_update_many)

    api = commands.add_parser(
        "api",
        help="call any path of the API and print the JSON answer (as gh api)",
        description="The path is joined to the base URL. Secret-named fields are masked in "
        "the output unless --show-secrets. A body comes from --input (a file, or - for "
        "stdin), never from argv.",
    )
    api.add_argument("method", type=str.upper, choices=("GET", "POST", "PUT", "PATCH", "DELETE"))
    api.add_argument("path", help="e.g. /ruth-connect/integrations")
    api.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a query parameter"
    )
    api.add_argument("--input", metavar="FILE", help="the JSON body, from FILE or - (stdin)")
    api.add_argument("--show-secrets", action="store_true", help="print keys unredacted")
    _connection_options(api)
    api.set_defaults(run=cmd_api)

    fake = commands.add_parser(
        "fake-server",
        help="run a local fake Puretalk for manual trials",
        description="Serves PATCH, GET and DELETE of one integration and GET of the list "
        "(paged by page= and limit=, 1-100) under /api/ruth-connect/integrations, on "
        "127.0.0.1.",
    )
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
        "--fail-rate", type=_share, default=0.0, metavar="P",
        help="answer this share of requests (0-1) with --fail-status instead (default: 0)",
    )  # fmt: skip
    fake.add_argument(
        "--fail-status", type=int, default=503, metavar="S",
        help="the status of --fail-rate's answers (default: 503)",
    )  # fmt: skip
    fake.add_argument(
        "--api-key-env", metavar="VAR", default="PURETALK_API_KEY",
        help="accept the X-API-KEY held in $VAR (default: PURETALK_API_KEY)",
    )  # fmt: skip
    fake.set_defaults(run=cmd_fake_server)
    return parser
