"""Exit codes, one per error class, and the one-line error the CLI reports."""

from __future__ import annotations

from .. import _exceptions as errors

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
