"""Keep secrets out of every text the SDK produces.

Three complementary rules:
- by value: texts taken from a response (messages, snippets, bodies) have the caller's
  API key and the integration key of the call replaced with ``***``. A JSON body is parsed
  and its string values are redacted after decoding, so no escape (``\\/``, ``\\u0073``)
  hides a key; other text is redacted in its raw, JSON-escaped (both slash forms) and
  percent-encoded forms. The longest secret is masked first. Only secrets of at least
  ``MIN_SECRET_LENGTH`` characters are masked by value: a shorter one would mangle
  ordinary words (``i***tegratio***_id``);
- by name: the reprs of the generated models show ``***`` for any field whose name looks
  secret (``api_key``, ``token``, ...), whatever its length;
- by carrier: keys travel through the SDK inside ``Secrets``, whose repr is masked, so an
  error tracker or ``pytest --showlocals`` reading frame locals sees ``Secrets(***)``.

JSON object keys are never changed, so masked output still parses to the same shape.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

import attrs

from puretalk_ai_openapi import models as _models
from puretalk_ai_openapi.types import Unset

REDACTED = "***"
SNIPPET_LIMIT = 200
MIN_SECRET_LENGTH = 8
# Parsed JSON deeper than this is treated as not JSON: every walker here stays far from
# Python's recursion limit, and no real API response nests this deep.
MAX_JSON_DEPTH = 64

_SECRET_NAME = re.compile(r"(?:^|_)(?:api_?key|key|secret|token|password|credentials?)$", re.I)


def is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def _forms(api_key: str) -> list[str]:
    """Every way a text may spell the key: raw, JSON-escaped and percent-encoded."""
    escaped = json.dumps(api_key, ensure_ascii=False)[1:-1]
    ascii_escaped = json.dumps(api_key, ensure_ascii=True)[1:-1]
    forms = {api_key, escaped, ascii_escaped}
    forms |= {form.replace("/", "\\/") for form in tuple(forms)}
    try:
        forms |= {quote(api_key, safe=""), quote_plus(api_key, safe="")}
        forms |= {form.lower() for form in (quote(api_key, safe=""),) if "%" in form}
    except UnicodeEncodeError:  # a lone surrogate: refused at the door, nothing to encode
        pass
    return sorted(forms, key=len, reverse=True)


_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_PERCENT = re.compile(r"(?:%[0-9a-fA-F]{2})+")


def _decode_u_escapes(text: str) -> str:
    return _U_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "\\u" in text else text


def _decode_percent(text: str) -> str:
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return _PERCENT.sub(lambda m: unquote(m.group()), text)


class Secrets:
    """The keys one call must never show. Its repr is masked; it cannot be pickled."""

    __slots__ = ("_forms", "_values")

    def __init__(self, values: Iterable[str]) -> None:
        unique = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
        self._values = tuple(sorted(unique, key=len, reverse=True))
        self._forms: tuple[str, ...] | None = None  # built on first use: errors are rare

    def __repr__(self) -> str:
        return "Secrets(***)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Secrets cannot be pickled")

    def __bool__(self) -> bool:
        return bool(self._values)

    def _all_forms(self) -> tuple[str, ...]:
        if self._forms is None:
            forms = {form for api_key in self._values for form in _forms(api_key)}
            self._forms = tuple(sorted(forms, key=len, reverse=True))
        return self._forms

    def redact(self, text: str) -> str:
        """The text with every form of every secret replaced, longest first.

        A text that still spells a key once its \\u escapes or %-escapes are decoded (a key
        escaped character by character, or mixed forms) is decoded, then redacted.
        """
        if not self._values:
            return text
        for api_key in self._all_forms():  # named api_key: scrubbed by error trackers
            if api_key in text:
                text = text.replace(api_key, REDACTED)
        for decode in (_decode_u_escapes, _decode_percent):
            decoded = decode(text)
            if decoded != text and any(api_key in decoded for api_key in self._values):
                text = self.redact(decoded)
        return text

    def redact_json(self, value: Any) -> Any:
        """A copy of parsed JSON: secret-named fields and secret string values masked."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_json(item) for item in value]
        if isinstance(value, dict):
            return {
                k: REDACTED if is_secret_name(str(k)) and v is not None else self.redact_json(v)
                for k, v in value.items()
            }
        return value

    def redact_body(self, body: bytes) -> str:
        """A response body as redacted text: re-serialised JSON, or redacted raw text."""
        parsed, ok = loads_bounded(body)
        if ok:
            return json.dumps(self.redact_json(parsed), ensure_ascii=False)
        return self.redact(body.decode("utf-8", errors="replace"))


def json_depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the parsed JSON nests at most `limit` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return True


def loads_bounded(body: bytes | str) -> tuple[Any, bool]:
    """(value, True) for JSON nesting at most MAX_JSON_DEPTH levels, else (None, False)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError too
        return None, False
    # Nesting needs an opening bracket per level: few brackets in all, no walk needed.
    raw = body.encode() if isinstance(body, str) else body
    opened = raw.count(b"[") + raw.count(b"{")
    if opened > MAX_JSON_DEPTH and not json_depth_ok(value):
        return None, False
    return value, True


def redact_json(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of a parsed JSON value with secret-named fields and secret values masked."""
    return Secrets(secrets).redact_json(value)


def snippet(text: str, limit: int = SNIPPET_LIMIT) -> str:
    """The start of a body, on one line, for error messages (redact before calling)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


# The secrets this process has handled lately, so that model reprs and the log filter can
# mask them wherever a server echoes them. Bounded: old keys age out.
MAX_REMEMBERED = 1024
_remembered: dict[str, None] = {}
_remembered_lock = threading.Lock()  # update_many's worker threads add keys concurrently
_remembered_secrets: Secrets | None = None


def remember_secret(api_key: str) -> None:
    global _remembered_secrets
    if api_key in _remembered or len(api_key) < MIN_SECRET_LENGTH:
        return
    with _remembered_lock:
        _remembered[api_key] = None
        if len(_remembered) > MAX_REMEMBERED:
            del _remembered[next(iter(_remembered))]
        _remembered_secrets = None


def remembered() -> Secrets:
    """The recently handled keys as one Secrets (rebuilt only when a new key arrives)."""
    global _remembered_secrets
    secrets = _remembered_secrets
    if secrets is None:
        with _remembered_lock:
            secrets = _remembered_secrets = Secrets(tuple(_remembered))
    return secrets


class RedactingFilter(logging.Filter):
    """A logging filter that masks every key this process has handled, in any record.

    Attach it to a handler (``handler.addFilter(RedactingFilter())``) to cover records of
    other libraries too, such as httpx and httpcore, which log response headers and reason
    phrases verbatim at DEBUG and INFO. The record's message is formatted, then redacted.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = remembered()
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error path
            return True
        record.msg = secrets.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = secrets.redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = secrets.redact(record.stack_info)
        return True


def _masked(name: str, value: Any, secrets: Secrets) -> str:
    if is_secret_name(name) and not isinstance(value, Unset) and value is not None:
        return repr(REDACTED)
    if isinstance(value, str):
        return repr(secrets.redact(value))
    if isinstance(value, dict) and json_depth_ok(value):
        inner = ", ".join(
            f"{_masked('', k, secrets)}: {_masked(str(k), v, secrets)}" for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list) and json_depth_ok(value):
        return "[" + ", ".join(_masked("", item, secrets) for item in value) + "]"
    if isinstance(value, dict | list):
        return f"<{type(value).__name__} nested deeper than {MAX_JSON_DEPTH} levels>"
    return repr(value)


def _redacted_repr(self: Any) -> str:
    # Unset fields and empty extras are left out: they are noise in logs and tracebacks.
    secrets = remembered()
    shown = (
        (f.name, value)
        for f in attrs.fields(type(self))
        if not isinstance(value := getattr(self, f.name), Unset) and value != {}
    )
    fields = ", ".join(f"{name}={_masked(name, value, secrets)}" for name, value in shown)
    return f"{type(self).__name__}({fields})"


def install_model_reprs() -> None:
    for name in _models.__all__:
        cls = getattr(_models, name)
        if attrs.has(cls):
            setattr(cls, "__repr__", _redacted_repr)  # noqa: B010 - assigning a method
