"""Input checks and requests, built from the generated endpoints. No I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._config import ClientConfig, merge_headers
from ._httpx import httpx
from ._redaction import MaskedKey

__all__ = ["RequestParts", "check_api_key", "check_integration_id", "request_parts"]

# Integration ids are UUIDs (36 characters); this leaves room for any other form while
# keeping the URL far below httpx's limit.
MAX_ID_LENGTH = 256


def check_integration_id(integration_id: object) -> str:
    if not isinstance(integration_id, str):
        raise TypeError(f"integration_id must be a str, not {type(integration_id).__name__}")
    if not integration_id.strip():
        raise ValueError("integration_id must not be empty or only whitespace")
    if len(integration_id) > MAX_ID_LENGTH:
        raise ValueError(
            f"integration_id is {len(integration_id)} characters long; at most "
            f"{MAX_ID_LENGTH} are accepted (integration ids are UUIDs)"
        )
    try:
        integration_id.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("integration_id is not valid Unicode (a lone surrogate)") from None
    # The generated code percent-encodes everything but these two, which URL
    # normalisation would turn into a different path.
    if integration_id in (".", ".."):
        raise ValueError(f"integration_id must not be {integration_id!r}")
    return integration_id


def check_api_key(key: MaskedKey, name: str = "api_key") -> None:
    """The new integration key must be a non-empty str that UTF-8 can carry. Never echoed,
    and never a local of this frame: read through the masked carrier only."""
    if not isinstance(key.api_key, str):
        raise TypeError(f"{name} must be a str, not {type(key.api_key).__name__}")
    if not key.api_key:
        raise ValueError(f"{name} must not be empty")
    try:
        key.api_key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} cannot be encoded as UTF-8 (a lone surrogate)") from None


def request_parts(
    config: ClientConfig, kwargs: Mapping[str, Any], extra_headers: Mapping[str, str]
) -> RequestParts:
    """A request from a generated endpoint's ``_get_kwargs`` output, ready to send.

    The generated path, body and content type come first, then the client's headers (auth
    last, so nothing replaces it), then the call's ``extra_headers`` (already checked:
    nothing here raises, so no frame holding the merged headers is ever in a traceback).
    """
    merged = config.headers_with(kwargs.get("headers") or {})
    if extra_headers:
        merged = merge_headers(merged, extra_headers)
    query = None
    if kwargs.get("params"):
        from urllib.parse import urlencode

        params = {k: v for k, v in kwargs["params"].items() if v is not None}
        query = urlencode(params, doseq=True) or None
    url = join_url(config.url, kwargs["url"], query)
    if "json" in kwargs:
        # As httpx encodes json=: compact, UTF-8, no NaN.
        try:
            content = json.dumps(
                kwargs["json"], ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
        except UnicodeEncodeError:  # its message would quote the text around the character
            raise ValueError("the request body is not valid Unicode (a lone surrogate)") from None
    elif kwargs.get("data") is not None or kwargs.get("files") is not None:
        # A form or multipart body, encoded by httpx exactly as the generated client's own
        # httpx call would encode it (the multipart boundary comes with its content type).
        encoded = httpx.Request(
            kwargs["method"], url, data=kwargs.get("data"), files=kwargs.get("files")
        )
        content = encoded.read()
        merged = httpx.Headers(merged)  # a copy: the merged headers are cached per endpoint
        merged["Content-Type"] = encoded.headers["Content-Type"]
    else:
        content = kwargs.get("content") or b""
    return RequestParts(kwargs["method"].upper(), url, merged, content)


def join_url(base: httpx.URL, path: str, query: str | None = None) -> httpx.URL:
    """The base URL with a generated (percent-encoded) path and query appended."""
    return httpx.URL(str(base) + path + (f"?{query}" if query else ""))


class RequestParts:
    """The pieces of one request, built once per call; repr masked (headers hold the key)."""

    __slots__ = ("content", "headers", "method", "url")

    def __init__(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        content: bytes,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.content = content

    def __repr__(self) -> str:
        return f"RequestParts({self.method} {self.url}, headers=***, content=***)"
