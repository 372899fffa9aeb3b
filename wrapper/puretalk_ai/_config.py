"""Client configuration: environment fallbacks, base-URL policy, timeouts. No I/O."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import sys
import threading
import warnings
from collections.abc import Mapping

import attrs

from ._exceptions import PuretalkError
from ._httpx import httpx
from ._retry import DEFAULT_RETRY_POLICY, RetryPolicy
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "ClientConfig",
    "NotGiven",
]

DEFAULT_BASE_URL = "https://api.puretalk.ai/api"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
# This API's bodies are a few hundred bytes; 1 MiB leaves room for any sane growth while
# bounding what a hostile or broken server can make us hold (decoded bytes are counted).
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
API_KEY_ENV = "PURETALK_API_KEY"
BASE_URL_ENV = "PURETALK_BASE_URL"

USER_AGENT = "puretalk-ai/{} Python/{}.{}.{} httpx/{}".format(
    __version__, *sys.version_info[:3], httpx.__version__
)

TimeoutTypes = float | httpx.Timeout | None
ProxyTypes = str | httpx.URL | httpx.Proxy | None


class NotGiven:
    """Marks an argument that was not passed, where ``None`` has a meaning of its own."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


def resolve_api_key(api_key: str | None) -> str:
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV)
    if api_key is None or api_key == "":
        raise PuretalkError(
            f"No API key: pass api_key=... to the client or set the {API_KEY_ENV} "
            "environment variable."
        )
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
    if not _VISIBLE_ASCII.fullmatch(api_key):
        # An HTTP header carries visible ASCII; anything else (a pasted curly quote, a
        # space, a newline) would fail on every call, so it is refused here, unechoed.
        raise ValueError(
            "api_key must be visible ASCII (no spaces, control or non-ASCII characters); "
            "check for a stray character from copy-paste"
        )
    return api_key


_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?|")
# Headers the SDK alone decides: framing, routing and auth.
RESERVED_HEADERS = frozenset({"content-length", "host", "transfer-encoding", "x-api-key"})


def merge_headers(*layers: Mapping[str, str]) -> httpx.Headers:
    """Header layers merged in order: a later layer replaces an earlier one's header of the
    same name, compared case-insensitively as HTTP does (``user-agent`` replaces
    ``User-Agent`` rather than adding a second one)."""
    merged = httpx.Headers()
    for layer in layers:
        merged.update(layer)
    return merged


def check_headers(headers: Mapping[str, str] | None, argument: str) -> dict[str, str]:
    """Header names must be HTTP tokens and values visible ASCII; values are never echoed."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError(f"{argument} must be a mapping of header name -> value")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{argument}: invalid header name {str(name)[:40]!r}")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{argument}: the {name} header is set by the SDK alone")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(
                f"{argument}: the value of header {name!r} must be a str of visible ASCII "
                "(no CR, LF or other control characters)"
            )
        checked[name] = value
    return checked


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# Hosts already warned about in this process: the plain-http warning is said once per host.
_warned_hosts: set[str] = set()
_warned_lock = threading.Lock()


def _warn_insecure(host: str) -> None:
    with _warned_lock:
        if host in _warned_hosts:
            return
        _warned_hosts.add(host)
    # Point at the line that made the client: the first frame outside this package (the
    # sync and async constructors are not equally deep).
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        "puretalk_ai"
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(
        f"plain-http base_url for non-loopback host {host!r} (allow_insecure_http=True): "
        "the API key travels in clear text",
        RuntimeWarning,
        stacklevel=level,
    )


def resolve_base_url(base_url: str | httpx.URL | None, allow_insecure_http: bool = False) -> str:
    """The base URL without a trailing slash; plain http only on loopback, unless the
    caller opts in (an internal gateway, a sidecar), which warns once per host."""
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if not isinstance(base_url, str | httpx.URL):
        raise TypeError(f"base_url must be a str or httpx.URL, not {type(base_url).__name__}")
    try:
        url = httpx.URL(str(base_url))
    except httpx.InvalidURL as exc:
        raise ValueError(f"invalid base_url: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {str(base_url)!r}")
    # A bare trailing "?" or "#" parses as an empty query or fragment, and would route
    # the request somewhere else: refused like any other.
    if url.query or url.fragment or url.userinfo or "?" in str(base_url) or "#" in str(base_url):
        raise ValueError("base_url must not carry a query, a fragment or credentials")
    if url.scheme == "http" and not _is_loopback(url.host):
        if not allow_insecure_http:
            raise ValueError(
                f"refusing plain-http base_url for non-loopback host {url.host!r}: "
                "the API key would travel in clear text; use https (or, for an internal "
                "gateway, allow_insecure_http=True; in the CLI --allow-insecure-http)"
            )
        _warn_insecure(url.host)
    return str(url).rstrip("/")


def check_proxy(proxy: object) -> httpx.Proxy | None:
    """An httpx proxy, as httpx's ``proxy=`` takes it; its URL may hold credentials, so
    no message ever shows it."""
    if proxy is None or isinstance(proxy, httpx.Proxy):
        return proxy
    if not isinstance(proxy, str | httpx.URL):
        kind = type(proxy).__name__
        raise TypeError(f"proxy must be a str, httpx.URL or httpx.Proxy, not {kind}")
    try:
        return httpx.Proxy(proxy)
    except (ValueError, TypeError, httpx.InvalidURL):
        raise ValueError(
            "proxy must be an http://, https://, socks5:// or socks5h:// URL with a host"
        ) from None


def _check_seconds(name: str, value: object) -> float | None:
    """A positive, finite number of seconds, or None for no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number or None, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (None for no limit), got {value!r}")
    return float(value)


def to_timeout(value: TimeoutTypes) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        for phase, seconds in value.as_dict().items():
            _check_seconds(f"timeout.{phase}", seconds)
        return value
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise TypeError(f"timeout must be a number, an httpx.Timeout or None, not {value!r}")
    return httpx.Timeout(_check_seconds("timeout", value))


def attempt_limit(timeout: httpx.Timeout) -> float | None:
    """The wall-clock limit of one whole attempt: its longest phase timeout.

    httpx's timeouts bound each network operation, so a server dripping one byte at a time
    never trips them; this bounds the attempt as a whole (30 s with the defaults).
    """
    phases = [s for s in timeout.as_dict().values() if s is not None]
    return max(phases) if phases else None


def check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_max_retries(value: int) -> int:
    return check_int("max_retries", value, 0)


def check_total_timeout(value: float | None) -> float | None:
    return _check_seconds("total_timeout", value)


def check_bool(name: str, value: bool) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value


def check_retry_policy(value: RetryPolicy | None) -> RetryPolicy:
    if value is None:
        return DEFAULT_RETRY_POLICY
    if not isinstance(value, RetryPolicy):
        raise TypeError(f"retry_policy must be a RetryPolicy, not {type(value).__name__}")
    return value


@attrs.frozen
class ClientConfig:
    """Everything a call needs to know about its client, resolved once at construction."""

    api_key: str = attrs.field(repr=False)
    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    total_timeout: float | None
    default_headers: Mapping[str, str] = attrs.field(repr=False)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    strict_response_validation: bool = False
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY
    proxy: httpx.Proxy | None = attrs.field(default=None, repr=False)  # may hold credentials
    allow_insecure_http: bool = False
    # Sent on every request: defaults first, then auth last so nothing can replace it.
    headers: httpx.Headers = attrs.field(init=False, repr=False, eq=False)
    # Parsed once: httpx validates every character of a URL string it parses.
    url: httpx.URL = attrs.field(init=False, repr=False, eq=False)
    # Per generated endpoint's own headers (Content-Type), the merged httpx.Headers, built
    # once: requests copy them instead of normalising each header again.
    _merged: dict[tuple[tuple[str, str], ...], httpx.Headers] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        # Accept-Encoding is ours: the SDK decodes bodies itself, bounded, and knows only
        # these two (httpx would also offer br/zstd when those packages are installed).
        defaults = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
        }
        headers = merge_headers(defaults, self.default_headers, {"X-API-KEY": self.api_key})
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "url", httpx.URL(self.base_url))

    def headers_with(self, generated: Mapping[str, str]) -> httpx.Headers:
        """The generated endpoint's headers, then this client's (auth last), merged once."""
        key = tuple(generated.items())
        merged = self._merged.get(key)
        if merged is None:
            # Host first, as httpx would add it, so requests need no further preparation.
            host = {"Host": self.url.netloc.decode("ascii")}
            merged = self._merged[key] = merge_headers(host, generated, self.headers)
        return merged

    @classmethod
    def create(
        cls,
        *,
        api_key: str | None,
        base_url: str | httpx.URL | None,
        timeout: TimeoutTypes,
        max_retries: int,
        total_timeout: float | None,
        default_headers: Mapping[str, str] | None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        strict_response_validation: bool = False,
        retry_policy: RetryPolicy | None = None,
        proxy: ProxyTypes = None,
        allow_insecure_http: bool = False,
    ) -> ClientConfig:
        allow_insecure_http = check_bool("allow_insecure_http", allow_insecure_http)
        return cls(
            api_key=resolve_api_key(api_key),
            base_url=resolve_base_url(base_url, allow_insecure_http),
            timeout=to_timeout(timeout),
            max_retries=check_max_retries(max_retries),
            total_timeout=check_total_timeout(total_timeout),
            default_headers=check_headers(default_headers, "default_headers"),
            max_response_bytes=check_int("max_response_bytes", max_response_bytes, 1),
            strict_response_validation=check_bool(
                "strict_response_validation", strict_response_validation
            ),
            retry_policy=check_retry_policy(retry_policy),
            proxy=check_proxy(proxy),
            allow_insecure_http=allow_insecure_http,
        )
