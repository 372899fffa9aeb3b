"""Any generated operation through the wrapper's safety net. No I/O.

``client.call(update_integration.sync_detailed, ...)`` takes the generated endpoint's own
``_get_kwargs`` (the request, as the spec defines it) and ``_parse_response`` (the model of
a 2xx body), and runs them through the same flow as ``integrations.update``: timeouts and
the deadline, retries, typed errors, redaction, logging, raw-response access. A new
operation in the spec is callable through ``make generate`` alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from puretalk_ai_openapi.types import is_secret_name

from ._httpx import httpx
from ._redaction import MAX_JSON_DEPTH, Secrets
from ._response import Parser, _invalid, success_body

__all__ = ["OperationParser", "operation_functions", "secret_values"]

# Methods a retry cannot apply twice. POST can: it is never retried.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


def operation_functions(operation: object) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The generated module's ``_get_kwargs`` and ``_parse_response`` for an operation
    function (``sync_detailed``, ``sync``, ``asyncio_detailed`` or ``asyncio``)."""
    module = sys.modules.get(getattr(operation, "__module__", None) or "")
    get_kwargs = getattr(module, "_get_kwargs", None)
    parse_response = getattr(module, "_parse_response", None)
    if not callable(get_kwargs) or not callable(parse_response):
        raise TypeError(
            "operation must be a function of a generated endpoint module, "
            "e.g. puretalk_ai_openapi.api.integrations.update_integration.sync_detailed"
        )
    return get_kwargs, parse_response


def secret_values(value: Any, depth: int = 0) -> list[str]:
    """String values of secret-named fields in a request body, to redact."""
    found: list[str] = []
    if depth > MAX_JSON_DEPTH:  # as deep as any JSON the SDK accepts (loads_bounded)
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and is_secret_name(str(key)):
                found.append(item)
            else:
                found += secret_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            found += secret_values(item, depth + 1)
    return found


class _Strict:
    """What the generated ``_parse_response`` reads from its client."""

    raise_on_unexpected_status = True


class OperationParser(Parser):
    """A 2xx response parsed by the generated endpoint; anything else a typed error."""

    __slots__ = ("parse_response",)

    def __init__(self, parse_response: Callable[..., Any]) -> None:
        self.parse_response = parse_response

    def _classify(self, response: httpx.Response, secrets: Secrets) -> Any:
        _, error = success_body(response, secrets, empty_ok=True)
        if error is not None:
            return error
        try:
            return self.parse_response(client=_Strict(), response=response)
        except Exception as exc:  # the generated parser's KeyError, TypeError, UnexpectedStatus
            why = f"the generated parser refused it ({type(exc).__name__})"
            return _invalid(response, secrets, why)
