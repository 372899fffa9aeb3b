"""Keep secrets out of every text the SDK produces.

Three complementary rules:
- by value: texts taken from a response (messages, snippets, bodies) have the caller's
  API key and the integration key of the call replaced with ``***``. A JSON body is parsed
  and its string values are redacted after decoding, so no escape (``\\/``, ``\\u0073``)
  hides a key; other text is redacted in its raw, JSON-escaped (both slash forms) and
  percent-encoded forms. The longest secret is masked first. Only secrets of at least
  ``MIN_SECRET_LENGTH`` characters are masked by value: a shorter one would mangle
  ordinary words (``i***tegratio***_id``);
- by name: fields whose name looks secret (``api_key``, ``token``, ...) are masked in
  redacted JSON whatever their length; the generated models' reprs do the same, by the
  rule the generator wrote into ``puretalk_ai_openapi.types`` (``is_secret_name``);
- by carrier: keys travel through the SDK inside ``Secrets``, whose repr is masked, so an
  error tracker or ``pytest --showlocals`` reading frame locals sees ``Secrets(***)``.

JSON object keys are left as they are, so masked output parses to the same shape, except
an object key that spells a secret: it becomes ``***`` (``***#2``, ... if several do).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import threading
import weakref
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from puretalk_ai_openapi.types import is_secret_name

from ._httpx import httpx

REDACTED = "***"


@functools.lru_cache(maxsize=4096)
def _secret_name(name: object) -> bool:
    """is_secret_name, remembered: a response's field names repeat on every call."""
    return is_secret_name(str(name))


SNIPPET_LIMIT = 200
MIN_SECRET_LENGTH = 8
CUT_KEY_CHARS = 4
# Parsed JSON deeper than this is treated as not JSON: every walker here stays far from
# Python's recursion limit, and no real API response nests this deep.
MAX_JSON_DEPTH = 64


@functools.cache
def spec_names() -> frozenset[str]:
    """The field names of the generated models: the API's own vocabulary, never an echo."""
    import attrs

    from puretalk_ai_openapi import models

    names: set[str] = set()
    for name in getattr(models, "__all__", ()):
        model = getattr(models, name, None)
        if isinstance(model, type) and attrs.has(model):
            names |= {f.name for f in attrs.fields(model)}
    names.discard("additional_properties")
    return frozenset(names)


def _forms(api_key: str) -> list[str]:
    """Every way a text may spell the key: raw, JSON-escaped, HTML-escaped,
    percent-encoded, and as Python shows its UTF-8 bytes (``b'cl\\xc3\\xa9'``, as
    httpcore's DEBUG lines do)."""
    import html

    escaped = json.dumps(api_key, ensure_ascii=False)[1:-1]
    ascii_escaped = json.dumps(api_key, ensure_ascii=True)[1:-1]
    forms = {api_key, escaped, ascii_escaped, html.escape(api_key)}
    with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate: refused at the door
        forms.add(repr(api_key.encode("utf-8"))[2:-1])
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


def _decode_html(text: str) -> str:
    if "&" not in text:
        return text
    import html

    return html.unescape(text)


def _decoded(text: str) -> str:
    """The text with \\u escapes, %-escapes and HTML character references decoded, again
    and again (a key percent-encoded twice, or escaped then encoded) until nothing changes,
    at most a few rounds."""
    for _ in range(4):
        decoded = _decode_html(_decode_percent(_decode_u_escapes(text)))
        if decoded == text:
            break
        text = decoded
    return text


def _decode_percent(text: str) -> str:
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return _PERCENT.sub(lambda m: unquote(m.group()), text)


class MaskedKey:
    """One key, masked in repr, that cannot be pickled: how a new key travels through the
    SDK's frames, so that no frame local shows it (``pytest --showlocals``, rich's and
    better-exceptions' tracebacks print every local of every frame)."""

    __slots__ = ("api_key",)

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def __repr__(self) -> str:
        return "MaskedKey(***)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("MaskedKey cannot be pickled")


class Secrets:
    """The keys one call must never show. Its repr is masked; it cannot be pickled."""

    __slots__ = ("_forms", "_rings", "_run", "_values")

    def __init__(
        self,
        values: Iterable[str],
        rings: tuple[KeyRing | None, ...] = (),
        run: KeyRing | None = None,
    ) -> None:
        unique = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
        self._values = tuple(sorted(unique, key=len, reverse=True))
        self._forms: tuple[str, ...] | None = None  # built on first use: errors are rare
        # Every other key the client and its bulk run hold: an error for one item that
        # quotes another item's key masks that one too.
        self._rings = tuple(ring for ring in (*rings, run) if ring is not None)
        # The keys of the batch this call belongs to: masked in its returned data too.
        self._run = run

    def __repr__(self) -> str:
        return "Secrets(***)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Secrets cannot be pickled")

    def _all_forms(self) -> tuple[str, ...]:
        if self._forms is None:
            forms = {form for api_key in self._values for form in self._forms_of(api_key)}
            self._forms = tuple(sorted(forms, key=len, reverse=True))
        return self._forms

    def _forms_of(self, api_key: str) -> tuple[str, ...] | list[str]:
        """A key's forms: as a ring that holds the key worked them out, or anew."""
        for ring in self._rings:
            known = ring.forms(api_key)
            if known is not None:
                return known
        return _forms(api_key)

    def redact(self, text: str) -> str:
        """The text with every form of every secret replaced, longest first.

        A text that still spells a key once its \\u escapes, %-escapes and HTML character
        references are decoded, repeatedly (a key escaped character by character, encoded
        twice, or mixed forms), is decoded, then redacted.
        """
        if len(text) < MIN_SECRET_LENGTH:  # shorter than any key, in any of its forms
            return text
        if self._values:
            for api_key in self._all_forms():  # named api_key: scrubbed by error trackers
                if api_key in text:
                    text = text.replace(api_key, REDACTED)
        decoded = _decoded(text)
        if decoded != text and any(api_key in decoded for api_key in self._values):
            text = self.redact(decoded)
            decoded = _decoded(text)
        for ring in self._rings:
            text = ring.redact(text, decoded)
        return text

    def redact_json(self, value: Any) -> Any:
        """A copy of parsed JSON: secret-named fields and secret string values masked."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_json(item) for item in value]
        if isinstance(value, dict):
            masked: dict[Any, Any] = {}
            for k, v in value.items():
                shown = (
                    REDACTED if is_secret_name(str(k)) and v is not None else self.redact_json(v)
                )
                name = self.redact(k) if isinstance(k, str) and k not in spec_names() else k
                if name != k:  # a key echoed as an object key: masked, kept distinct
                    base, n = name, 2
                    while name in value or name in masked:
                        name, n = f"{base}#{n}", n + 1
                masked[name] = shown
            return masked
        return value

    def mask_echoes(self, value: Any, depth: int = 0) -> Any:
        """Parsed JSON with the secrets (this call's, and every key its client and batch
        hold) masked wherever a server echoed them, in values and in object keys, except
        in secret-named fields (``data.api_key`` is where the key belongs) and in the
        spec's own field names (a key that happens to spell ``app_name`` does not rename
        the field). The same object when nothing was echoed."""
        if depth > MAX_JSON_DEPTH or not (self._values or self._run):
            return value
        if isinstance(value, str):
            return self.redact(value) if self._may_hold_echo(value) else value
        if isinstance(value, list):
            items = [self.mask_echoes(item, depth + 1) for item in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(value, dict):
            masked: dict[Any, Any] = {}
            changed = False
            for k, v in value.items():
                shown = v if _secret_name(k) else self.mask_echoes(v, depth + 1)
                name = k
                if isinstance(k, str) and k not in spec_names():
                    name = self.redact(k)
                    if name != k:  # a key echoed as an object key: masked, kept distinct
                        base, n = name, 2
                        while name in value or name in masked:
                            name, n = f"{base}#{n}", n + 1
                changed = changed or shown is not v or name != k
                masked[name] = shown
            return masked if changed else value
        return value

    def _may_hold_echo(self, text: str) -> bool:
        """Whether a returned string may spell a key of this call or its batch: a raw
        one, or an escape that may hide one (JSON's, %, HTML's, a bytes repr). The common
        case, a plain string, costs a few substring checks."""
        if len(text) < MIN_SECRET_LENGTH:
            return False
        if "%" in text or "\\" in text or "&" in text:
            return True
        if any(api_key in text for api_key in self._values):
            return True
        return self._run is not None and self._run.redact(text, text) != text

    def redact_body(self, body: bytes) -> str:
        """A response body as redacted text: re-serialised JSON, or redacted raw text."""
        parsed, ok = loads_bounded(body)
        if ok:
            return json.dumps(self.redact_json(parsed), ensure_ascii=False)
        return self._cut_tail(self.redact(body.decode("utf-8", errors="replace")))

    def _cut_tail(self, text: str) -> str:
        """A body cut at the size cap may end inside a key: a tail of at least
        ``CUT_KEY_CHARS`` characters that starts any form of a secret is masked too (a cut
        key is still most of a key; fewer characters say next to nothing)."""
        for form in self._all_forms() if self._values else ():
            for size in range(min(len(form) - 1, len(text)), CUT_KEY_CHARS - 1, -1):
                if text.endswith(form[:size]):
                    return text[:-size] + REDACTED
        return text


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


class KeyRing:
    """The keys one client (or one bulk run) has handled, for ``RedactingFilter``.

    Each client owns one, bounded to its ``limit`` most recent keys; a bulk run holds a
    ring of every key of the run, unbounded, for as long as the run lasts, so no key of a
    run ages out while its log records are written. Checking a text costs one set lookup
    per character (an index of every form's first characters), whatever the number of
    keys: a new key costs its own forms once, never a rebuild of the others.
    """

    __slots__ = ("__weakref__", "_index", "_keys", "_limit", "_lock", "_pinned")

    def __init__(
        self, keys: Iterable[str] = (), limit: int | None = None, pinned: Iterable[str] = ()
    ) -> None:
        self._keys: dict[str, tuple[str, ...]] = {}  # key -> its forms, oldest first
        self._index: dict[str, dict[str, None]] = {}  # first chars of a form -> its keys
        self._limit = limit
        self._pinned: set[str] = set()  # never evicted: the clients' caller keys
        self._lock = threading.Lock()  # update_many's worker threads add keys concurrently
        for key in pinned:
            self.pin(key)
        for key in keys:
            self.add(key)
        with _live_lock:
            _live_rings.add(self)

    def __repr__(self) -> str:
        return f"KeyRing({len(self._keys)} keys: ***)"

    def __reduce__(self) -> Any:
        raise TypeError("KeyRing cannot be pickled")

    def pin(self, key: str) -> None:
        """Hold `key` for as long as the ring lives: the limit never evicts it."""
        self.add(key)
        with self._lock:
            if key in self._keys:
                self._pinned.add(key)

    def add(self, key: str, like: KeyRing | None = None) -> None:
        """Hold `key`; its forms are taken from `like` (a bulk run's ring) when it holds
        them already, so a key of a run is not worked out twice on the hot path. Past the
        limit, the oldest key learnt goes; a pinned key never does."""
        if not isinstance(key, str) or len(key) < MIN_SECRET_LENGTH or key in self._keys:
            return
        known = like._keys.get(key) if like is not None else None
        forms = known if known is not None else tuple(_forms(key))
        with self._lock:
            self._keys[key] = forms
            for form in forms:
                self._index.setdefault(form[:MIN_SECRET_LENGTH], {})[key] = None
            if self._limit is not None and len(self._keys) - len(self._pinned) > self._limit:
                oldest = next(k for k in self._keys if k not in self._pinned)
                self._forget(oldest)

    def _forget(self, key: str) -> None:
        for form in self._keys.pop(key):
            keys = self._index.get(form[:MIN_SECRET_LENGTH])
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self._index[form[:MIN_SECRET_LENGTH]]

    def close(self) -> None:
        """Forget every key now (a bulk run's ring, when the run ends)."""
        with _live_lock:
            _live_rings.discard(self)
        with self._lock:
            self._keys.clear()
            self._index.clear()
            self._pinned.clear()

    def forms(self, key: str) -> tuple[str, ...] | None:
        """The forms of `key` when this ring holds it."""
        return self._keys.get(key)

    def _candidates(self, text: str, found: dict[str, None]) -> None:
        # Every window of the text, looked up at once: a set intersection runs in C.
        size = MIN_SECRET_LENGTH
        windows = {text[start : start + size] for start in range(len(text) - size + 1)}
        for head in windows.intersection(self._index):
            found.update(self._index[head])

    def redact(self, text: str, decoded: str | None = None) -> str:
        """The text with every form of every key of this ring that it holds masked
        (`decoded`: the text with its escapes decoded, when the caller has it)."""
        if not self._index:
            return text
        found: dict[str, None] = {}
        decoded = _decoded(text) if decoded is None else decoded
        with self._lock:
            self._candidates(text, found)
            if decoded != text:
                self._candidates(decoded, found)
        return Secrets(found).redact(text) if found else text


# The rings of the clients and bulk runs alive now: RedactingFilter masks what they hold.
# Weak: a client that is gone takes its keys with it.
_live_rings: weakref.WeakSet[KeyRing] = weakref.WeakSet()
_live_lock = threading.Lock()  # clients are made on one thread while another logs


def live_rings() -> list[KeyRing]:
    with _live_lock:
        return list(_live_rings)


def _message(record: logging.LogRecord) -> str:
    """The record's message, whatever its arguments do: a filter never raises into the
    application's logging call (logging itself never does)."""
    with contextlib.suppress(Exception):
        return record.getMessage()
    # A format string its arguments do not fit: logging's own error path would print
    # the arguments as they are, keys and all. Shown masked, unformatted.
    try:
        return f"{record.msg!s} (arguments that do not fit it: {record.args!r})"
    except Exception:
        try:
            text = str(record.msg)
        except Exception:
            text = f"<unprintable {type(record.msg).__name__}>"
        return f"{text} (<arguments that cannot be shown>)"


class RedactingFilter(logging.Filter):
    """A logging filter that masks every key held by a live client or bulk run.

    Attach it to a handler (``handler.addFilter(RedactingFilter())``) to cover records of
    other libraries too, such as httpx and httpcore, which log response headers and reason
    phrases verbatim at DEBUG and INFO. The record's message is formatted, then redacted.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        rings = live_rings()
        if not rings:
            return True
        message = _message(record)

        def redact(text: str) -> str:
            for ring in rings:
                text = ring.redact(text)
            return text

        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            try:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            except Exception:
                record.exc_text = "<a traceback that cannot be shown>"
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# --- redacted copies of requests and responses, for exceptions ------------------------------


def redacted_request(request: httpx.Request | None, secrets: Secrets) -> httpx.Request | None:
    """A copy without the key: X-API-KEY masked, body redacted, no stream or extensions."""
    if request is None:
        return None
    headers = [
        (secrets.redact(name), REDACTED if name.lower() == "x-api-key" else secrets.redact(value))
        for name, value in request.headers.multi_items()
        if name.lower() != "content-length"
    ]
    try:
        content = request.content
    except httpx.RequestNotRead:
        content = b""
    body = secrets.redact_body(content).encode("utf-8") if content else b""
    return httpx.Request(request.method, request.url, headers=headers, content=body)


def redacted_response(response: httpx.Response, secrets: Secrets) -> httpx.Response:
    """A copy of a complete response whose body, headers and request carry no key."""
    # The copy's body is the decoded one, so the framing headers of the original go.
    headers = [
        (secrets.redact(name), secrets.redact(value))  # a header *name* can echo a key too
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-length", "content-encoding", "transfer-encoding")
    ]
    body = secrets.redact_body(response.content).encode("utf-8") if response.content else b""
    copy = httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=redacted_request(_request_of(response), secrets),
        extensions={k: v for k, v in response.extensions.items() if k == "http_version"},
    )
    with contextlib.suppress(RuntimeError):  # a response that never finished
        copy.elapsed = response.elapsed
    return copy


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built without one
        return None


def detached(exc: Exception, secrets: Secrets) -> Exception:
    """A copy of a transport error without its traceback, chain or request.

    The original's traceback runs through httpcore frames whose locals hold the request's
    headers and body; an error tracker reading the chain would send them.
    """
    try:
        copy = type(exc)(secrets.redact(str(exc)))
    except Exception:
        copy = Exception(secrets.redact(str(exc)))
    copy.__suppress_context__ = True
    return copy
