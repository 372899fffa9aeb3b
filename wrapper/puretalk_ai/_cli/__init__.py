"""The ``puretalk-ai`` command. Standard library only: it adds no dependency.

Secrets never reach argv (so never ``ps`` or shell history) and never reach the output
unless ``--show-secrets`` is given. Every failure is one line on stderr, never a
traceback; text that came from a server has its terminal control characters escaped.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

from .. import _exceptions as errors
from ._args import build_parser, refuse_keys_in_argv
from ._exit import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_JOURNAL,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    MAX_FILE_BYTES,
    PROG,
    CliError,
    exit_code_for,
)
from ._input import load_seed
from ._report import integration_json, printable

# The package: arguments (_args), input files and keys (_input), the journal (_journal),
# what is printed (_report), the commands (_commands), exit codes (_exit); main() here.
__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_CODES",
    "EXIT_INTERRUPTED",
    "EXIT_JOURNAL",
    "EXIT_SOME_FAILED",
    "EXIT_USAGE",
    "MAX_FILE_BYTES",
    "integration_json",
    "load_seed",
    "main",
]


def _warning_line(message: Warning | str, *_: object, **__: object) -> None:
    """A warning (plain http off loopback) is one line on stderr, as every CLI message."""
    print(f"{PROG}: warning: {printable(str(message))}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Warnings are one line while the CLI runs; the process's own setting comes back after
    # (main() may be called in-process).
    with warnings.catch_warnings():
        warnings.showwarning = _warning_line
        return _run(arguments)


def _run(arguments: list[str]) -> int:
    try:
        refuse_keys_in_argv(arguments)
        parser = build_parser()
        parser.argv = arguments  # type: ignore[attr-defined]
        args = parser.parse_args(arguments)
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
