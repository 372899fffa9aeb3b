"""Input checks and the update request, built from the generated endpoint. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from puretalk_ai_openapi.api.integrations.update_integration import _get_kwargs
from puretalk_ai_openapi.models import UpdateIntegrationBody, UpdateIntegrationBodyData

from ._redaction import remember_secret

__all__ = ["check_api_key", "check_integration_id", "update_request_parts"]


def check_integration_id(integration_id: object) -> str:
    if not isinstance(integration_id, str):
        raise TypeError(f"integration_id must be a str, not {type(integration_id).__name__}")
    if not integration_id.strip():
        raise ValueError("integration_id must not be empty or only whitespace")
    # The generated code percent-encodes everything but these two, which URL
    # normalisation would turn into a different path.
    if integration_id in (".", ".."):
        raise ValueError(f"integration_id must not be {integration_id!r}")
    return integration_id


def check_api_key(api_key: object, name: str = "api_key") -> str:
    if not isinstance(api_key, str):
        raise TypeError(f"{name} must be a str, not {type(api_key).__name__}")
    if not api_key:
        raise ValueError(f"{name} must not be empty")
    remember_secret(api_key)
    return api_key


def update_request_parts(
    base_url: str,
    integration_id: str,
    api_key: str,
    headers: Mapping[str, str],
    extra_headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client.build_request`` (timeout added per attempt).

    Checks the id, then the key, before anything else. The path and body come from the
    generated endpoint, so they follow the spec; the id becomes exactly one
    percent-encoded path segment there.
    """
    check_integration_id(integration_id)
    check_api_key(api_key)
    body = UpdateIntegrationBody(data=UpdateIntegrationBodyData(api_key=api_key))
    parts = _get_kwargs(integration_id, body=body)
    merged = dict(parts["headers"])
    merged.update(headers)
    if extra_headers:
        for key, value in extra_headers.items():
            if key.lower() != "x-api-key":  # auth is set by the client alone
                merged[key] = value
    return {
        "method": parts["method"].upper(),
        "url": base_url + parts["url"],
        "json": parts["json"],
        "headers": merged,
    }
