"""Bulk rotation: input normalisation and per-id results. No I/O; the resources run it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from puretalk_ai_openapi.models import Integration

from ._config import check_int

__all__ = ["DEFAULT_CONCURRENCY", "UpdateResult", "normalize_updates"]

DEFAULT_CONCURRENCY = 8

Updates = Mapping[str, str] | Iterable[tuple[str, str]]
ResultCallback = Callable[["UpdateResult"], Any]


@attrs.frozen(slots=True)
class UpdateResult:
    """The outcome for one id of ``update_many``: the integration, or the error."""

    integration_id: str
    integration: Integration | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Integration:
        """The integration, or raise the error this update ended with."""
        if self.error is not None:
            raise self.error
        assert self.integration is not None
        return self.integration


def normalize_updates(updates: Updates) -> list[tuple[str, str]]:
    """The (id, new key) pairs in input order; duplicate ids are refused before sending.

    Values are checked per item later, so one bad value becomes that item's error and
    never stops the others.
    """
    if isinstance(updates, Mapping):
        pairs = list(updates.items())
    elif isinstance(updates, str | bytes) or not isinstance(updates, Iterable):
        raise TypeError("updates must be a mapping of id -> key, or (id, key) pairs")
    else:
        pairs = []
        for position, item in enumerate(updates):
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise TypeError(f"updates[{position}] must be an (integration_id, api_key) pair")
            pairs.append((item[0], item[1]))
    seen: set[object] = set()
    for integration_id, _ in pairs:
        if isinstance(integration_id, str) and integration_id in seen:
            raise ValueError(f"duplicate integration_id {integration_id!r} in updates")
        seen.add(integration_id)
    return pairs


def check_concurrency(concurrency: int) -> int:
    return check_int("concurrency", concurrency, 1)
