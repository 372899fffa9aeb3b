"""Keep secrets out of every text the SDK produces.

Two complementary rules:
- by value: texts taken from a response (messages, snippets, bodies) have the caller's
  API key and the integration key of the call replaced with ``***``, also in their
  JSON-escaped form, so a server that echoes them back cannot leak them;
- by name: the reprs of the generated models show ``***`` for any field whose name looks
  secret (``api_key``, ``token``, ...). This is installed on every generated model class,
  so a field Puretalk adds later is covered without editing this package.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any

import attrs

from puretalk_ai_openapi import models as _models
from puretalk_ai_openapi.types import Unset

REDACTED = "***"
SNIPPET_LIMIT = 200

_SECRET_NAME = re.compile(r"(?:^|_)(?:api_?key|key|secret|token|password|credentials?)$", re.I)


def is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def redact_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, REDACTED)
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret:
            text = text.replace(escaped, REDACTED)
        ascii_escaped = json.dumps(secret, ensure_ascii=True)[1:-1]
        if ascii_escaped not in (secret, escaped):
            text = text.replace(ascii_escaped, REDACTED)
    return text


def redact_json(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of a parsed JSON value with secret-named fields and secret values masked."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, list):
        return [redact_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {
            redact_text(str(k), secrets): REDACTED
            if is_secret_name(str(k)) and v is not None
            else redact_json(v, secrets)
            for k, v in value.items()
        }
    return value


def snippet(text: str, limit: int = SNIPPET_LIMIT) -> str:
    """The start of a body, on one line, for error messages (redact before calling)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


# The secrets this process has handled lately, so that model reprs can mask them wherever
# a server echoes them (not only in secret-named fields). Bounded: old keys age out.
MAX_REMEMBERED = 1024
_remembered: dict[str, None] = {}
_remembered_lock = threading.Lock()  # update_many's worker threads add keys concurrently


def remember_secret(secret: str) -> None:
    if secret in _remembered:
        return
    with _remembered_lock:
        _remembered[secret] = None
        if len(_remembered) > MAX_REMEMBERED:
            del _remembered[next(iter(_remembered))]


def _masked(name: str, value: Any) -> str:
    if is_secret_name(name) and not isinstance(value, Unset) and value is not None:
        return repr(REDACTED)
    if isinstance(value, str):
        with _remembered_lock:
            remembered = tuple(_remembered)
        return repr(redact_text(value, remembered))
    if isinstance(value, dict):
        inner = ", ".join(f"{_masked('', k)}: {_masked(str(k), v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_masked("", item) for item in value) + "]"
    return repr(value)


def _redacted_repr(self: Any) -> str:
    # Unset fields and empty extras are left out: they are noise in logs and tracebacks.
    shown = (
        (f.name, value)
        for f in attrs.fields(type(self))
        if not isinstance(value := getattr(self, f.name), Unset) and value != {}
    )
    fields = ", ".join(f"{name}={_masked(name, value)}" for name, value in shown)
    return f"{type(self).__name__}({fields})"


def install_model_reprs() -> None:
    for name in _models.__all__:
        cls = getattr(_models, name)
        if attrs.has(cls):
            setattr(cls, "__repr__", _redacted_repr)  # noqa: B010 - assigning a method
