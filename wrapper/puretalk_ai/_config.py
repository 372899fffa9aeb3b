"""Client configuration: environment fallbacks, base-URL policy, timeouts. No I/O."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping

import attrs
import httpx

from ._exceptions import PuretalkError
from ._redaction import remember_secret
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "ClientConfig",
    "NotGiven",
]

DEFAULT_BASE_URL = "https://api.puretalk.ai/api"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
API_KEY_ENV = "PURETALK_API_KEY"
BASE_URL_ENV = "PURETALK_BASE_URL"

USER_AGENT = "puretalk-ai/{} Python/{}.{}.{} httpx/{}".format(
    __version__, *sys.version_info[:3], httpx.__version__
)

TimeoutTypes = float | httpx.Timeout | None


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
        raise PuretalkError(f"api_key must be a str, not {type(api_key).__name__}")
    if api_key != api_key.strip() or not api_key.isprintable():
        raise PuretalkError("api_key contains whitespace or control characters")
    remember_secret(api_key)
    return api_key


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | httpx.URL | None) -> str:
    """The base URL without a trailing slash; plain http only on loopback."""
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    try:
        url = httpx.URL(str(base_url))
    except (httpx.InvalidURL, TypeError) as exc:
        raise PuretalkError(f"invalid base_url: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise PuretalkError(f"base_url must be an absolute http(s) URL, got {str(base_url)!r}")
    if url.query or url.fragment or url.userinfo:
        raise PuretalkError("base_url must not carry a query, a fragment or credentials")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise PuretalkError(
            f"refusing plain-http base_url for non-loopback host {url.host!r}: "
            "the API key would travel in clear text; use https"
        )
    return str(url).rstrip("/")


def to_timeout(value: TimeoutTypes) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise TypeError(f"timeout must be a number, an httpx.Timeout or None, not {value!r}")
    if value is not None and value <= 0:
        raise ValueError(f"timeout must be > 0, got {value!r}")
    return httpx.Timeout(value)


def check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_max_retries(value: int) -> int:
    return check_int("max_retries", value, 0)


def check_total_timeout(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"total_timeout must be a number or None, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"total_timeout must be > 0, got {value}")
    return float(value)


@attrs.frozen
class ClientConfig:
    """Everything a call needs to know about its client, resolved once at construction."""

    api_key: str = attrs.field(repr=False)
    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    total_timeout: float | None
    default_headers: Mapping[str, str] = attrs.field(repr=False)
    # Sent on every request: defaults first, then auth last so nothing can replace it.
    headers: dict[str, str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        headers.update(self.default_headers)
        headers = {k: v for k, v in headers.items() if k.lower() != "x-api-key"}
        headers["X-API-KEY"] = self.api_key
        object.__setattr__(self, "headers", headers)

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
    ) -> ClientConfig:
        return cls(
            api_key=resolve_api_key(api_key),
            base_url=resolve_base_url(base_url),
            timeout=to_timeout(timeout),
            max_retries=check_max_retries(max_retries),
            total_timeout=check_total_timeout(total_timeout),
            default_headers=dict(default_headers or {}),
        )
