"""Any generated operation as an endpoint of the wrapper's one flow. No I/O.

``client.call(update_integration.sync_detailed, ...)`` and ``integrations.update`` are the
same thing: the generated endpoint's own ``_get_kwargs`` (the request, as the spec defines
it) and ``_parse_response`` (the model of a 2xx body), run through ``_call.run_flow``:
timeouts and the deadline, retries, typed errors, redaction, logging, raw-response access.
An operation this module knows more about (the update: its integration id and key are
checked before anything is sent, and its answer must be about that integration) gets
those checks on every path. A new operation in the spec is callable through ``make
generate`` alone.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from puretalk_ai_openapi.api.integrations import update_integration
from puretalk_ai_openapi.types import is_secret_name

from ._config import ClientConfig, check_headers
from ._redaction import MAX_JSON_DEPTH, MaskedKey
from ._request import RequestParts, check_api_key, check_integration_id, request_parts
from ._response import IntegrationChecks, Parser

__all__ = [
    "IDEMPOTENT",
    "Endpoint",
    "endpoint",
    "operation_functions",
    "path_endpoint",
    "secret_values",
]

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


def secret_values(value: Any, depth: int = 0) -> list[Any]:
    """Values of secret-named fields in a request body (strings, or whatever was passed)."""
    found: list[Any] = []
    if depth > MAX_JSON_DEPTH:  # as deep as any JSON the SDK accepts (loads_bounded)
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_name(str(key)) and not isinstance(item, dict | list):
                found.append(item)
            else:
                found += secret_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            found += secret_values(item, depth + 1)
    return found


class Endpoint:
    """One call's request pieces (built from a client's configuration), its parser, the
    secrets it sends (each in a MaskedKey), and whether a retry is safe."""

    __slots__ = ("build", "idempotent", "parser", "secrets")

    def __init__(
        self,
        build: Callable[[ClientConfig], RequestParts],
        parser: Parser,
        secrets: tuple[MaskedKey, ...],
        idempotent: bool,
    ) -> None:
        self.build = build
        self.parser = parser
        self.secrets = secrets
        self.idempotent = idempotent

    def __repr__(self) -> str:
        return f"Endpoint(secrets={len(self.secrets)}: ***)"


@functools.cache
def _signature(get_kwargs: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(get_kwargs)  # a generated function: one per operation


def _bound(get_kwargs: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    try:
        return _signature(get_kwargs).bind(*args, **kwargs).arguments
    except TypeError as exc:  # names a parameter, never a value
        raise TypeError(f"the operation's arguments do not fit it: {exc}") from None


def endpoint(
    operation: object,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    *,
    strict: bool,
    extra_headers: Mapping[str, str] | None = None,
    extra_query: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
    results_only: bool = False,
) -> Endpoint:
    """A generated operation, with its arguments, as an endpoint of the flow. Bad arguments
    raise TypeError/ValueError here, before anything is sent, without echoing a value.
    ``extra_query`` adds query parameters; ``extra_body`` adds top-level fields to a JSON
    body (never replacing one the operation sets), for what the spec does not describe
    yet, as openai-python's ``extra_query``/``extra_body``."""
    get_kwargs, parse_response = operation_functions(operation)
    arguments = _bound(get_kwargs, args, kwargs)
    checks = None
    if get_kwargs.__module__ == update_integration.__name__:
        integration_id = check_integration_id(arguments.get("integration_id"))
        checks = IntegrationChecks(integration_id, strict)
    parser = Parser(parse_response, checks, results_only=results_only and checks is not None)
    generated = _with_extras(get_kwargs(*args, **kwargs), extra_query, extra_body)
    return _endpoint_of(_Kwargs(generated), parser, extra_headers)


def _with_extras(
    kwargs: dict[str, Any], query: Mapping[str, Any] | None, body: Mapping[str, Any] | None
) -> dict[str, Any]:
    if query is not None:
        if not isinstance(query, Mapping) or not all(isinstance(k, str) for k in query):
            raise TypeError("extra_query must be a mapping of name -> value")
        kwargs["params"] = {**(kwargs.get("params") or {}), **query}
    if body is not None:
        if not isinstance(body, Mapping) or not all(isinstance(k, str) for k in body):
            raise TypeError("extra_body must be a mapping of field name -> value")
        own = kwargs.get("json")
        if not isinstance(own, dict):
            raise ValueError("extra_body needs an operation with a JSON object body")
        taken = sorted(set(own) & set(body))
        if taken:  # the operation's own fields (the new key among them) are not replaced
            raise ValueError(f"extra_body must not replace the body's own field(s) {taken}")
        kwargs["json"] = {**own, **body}
    return kwargs


def _endpoint_of(
    generated: _Kwargs, parser: Parser, extra_headers: Mapping[str, str] | None
) -> Endpoint:
    """A request's pieces as an endpoint. JSON and form bodies: what a secret-named field
    holds is a secret of this call, checked as a key (a str UTF-8 can carry), and redacted
    from errors and echoes; then the extra headers are checked."""
    bodies = [generated.kwargs.get("json"), generated.kwargs.get("data")]
    found = tuple(MaskedKey(v) for v in secret_values(bodies))
    del bodies
    for position, key in enumerate(found):
        check_api_key(key, "api_key" if len(found) == 1 else f"secret field #{position + 1}")
    checked_headers = check_headers(extra_headers, "extra_headers")
    method = str(generated.kwargs["method"]).upper()

    def build(config: ClientConfig) -> RequestParts:
        return request_parts(config, generated.kwargs, checked_headers)

    return Endpoint(build, parser, found, method in IDEMPOTENT)


class _Kwargs:
    """A generated request's pieces (the body holds keys), masked in every frame's locals."""

    __slots__ = ("kwargs",)

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return "_Kwargs(***)"


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Characters a path may hold as they are (RFC 3986's pchar and "/"); the rest is encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _json_answer(*, client: Any, response: Any) -> Any:
    """What the escape hatch returns: the decoded JSON of a 2xx (None for an empty body)."""
    return response.json() if response.content else None


def path_endpoint(
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None,
    json: Any,
    extra_headers: Mapping[str, str] | None,
) -> Endpoint:
    """Any path of the API as an endpoint of the flow (``client.get(...)`` and friends):
    the request under the client's base URL, a JSON parser, the secrets its body sends
    (secret-named fields, checked and masked as the update's key is), and whether a
    retry is safe (never for POST). Bad arguments raise before anything is sent."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(sorted(_METHODS))}")
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    if not path.startswith("/") or path.startswith("//") or "?" in path or "#" in path:
        raise ValueError(
            "path must start with '/' and hold no query or fragment (pass params=...); it is "
            "joined to the client's base URL"
        )
    if any(segment in (".", "..") for segment in path.split("/")):
        raise ValueError("path must not hold '.' or '..' segments")
    try:
        url = quote(path, safe=_PATH_SAFE)
    except UnicodeEncodeError:
        raise ValueError("path is not valid Unicode (a lone surrogate)") from None
    if params is not None and not isinstance(params, Mapping):
        raise TypeError("params must be a mapping of name -> value")
    kwargs: dict[str, Any] = {"method": method, "url": url, "params": dict(params or {})}
    if json is not None:
        kwargs["json"] = json
        kwargs["headers"] = {"Content-Type": "application/json"}
    return _endpoint_of(_Kwargs(kwargs), Parser(_json_answer), extra_headers)
