"""Shared fixtures: a harness that runs one call through the sync or the async client."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings

import puretalk_ai
from tests import audit
from tests.helpers import FAST_RETRIES, spec_fields
from tests.secrets import CALLER_KEY, NEW_KEY

# Property tests: `make test` (and so CI) draws the same examples on every run, so a rare
# real bug they find is a reproducible failure, never a random red CI; `make check` and a
# plain pytest draw fresh ones and keep what fails in .hypothesis/ to replay it.
settings.register_profile("release", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("PURETALK_HYPOTHESIS", "dev"))

BASE_URL = "https://api.puretalk.test/api"
INTEGRATION_ID = "123e4567-e89b-12d3-a456-426614174000"
UPDATE_URL = f"{BASE_URL}/ruth-connect/integrations/{INTEGRATION_ID}"


def integration_json(api_key: str = NEW_KEY, **overrides: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "integration_id": INTEGRATION_ID,
        "app_name": "elevenlabs",
        "friendly_app_name": "ElevenLabs",
        "logo": "https://cdn.puretalk.test/logo.png",
        "data": {"api_key": api_key},
        "tools": ["tts", "voices"],
        "is_custom_tool": False,
        "created_at": "2025-01-02T03:04:05Z",
        "updated_at": "2026-11-26T10:00:00+01:00",
    }
    # Only what the generated model has: a field the spec drops leaves the sample too.
    model = spec_fields()
    results = {name: value for name, value in results.items() if name in model}
    results.update(overrides)
    return {"msg": "Integration updated", "err": False, "results": results}


def _audited(method: Callable[..., Any]) -> Callable[..., Any]:
    """Record the result or the exception of every harness call for the secret audit."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = method(*args, **kwargs)
        except Exception as exc:
            audit.record_exception(exc)
            raise
        audit.record_object(result)
        return result

    return wrapper


class Api:
    """One public call through the sync or async client, with a fresh client each time."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def client_kwargs(self, **overrides: Any) -> dict[str, Any]:
        return {
            "api_key": CALLER_KEY,
            "base_url": BASE_URL,
            "retry_policy": FAST_RETRIES,
            **overrides,
        }

    @_audited
    def raw(
        self,
        integration_id: Any = INTEGRATION_ID,
        api_key: Any = NEW_KEY,
        client: dict[str, Any] | None = None,
        **call: Any,
    ) -> puretalk_ai.RawResponse[puretalk_ai.Integration]:
        kwargs = self.client_kwargs(**(client or {}))
        if self.kind == "sync":
            with puretalk_ai.Puretalk(**kwargs) as sync_client:
                return sync_client.integrations.with_raw_response.update(
                    integration_id, api_key=api_key, **call
                )

        async def run() -> puretalk_ai.RawResponse[puretalk_ai.Integration]:
            async with puretalk_ai.AsyncPuretalk(**kwargs) as async_client:
                return await async_client.integrations.with_raw_response.update(
                    integration_id, api_key=api_key, **call
                )

        return asyncio.run(run())

    @_audited
    def update(
        self,
        integration_id: Any = INTEGRATION_ID,
        api_key: Any = NEW_KEY,
        client: dict[str, Any] | None = None,
        **call: Any,
    ) -> puretalk_ai.Integration:
        kwargs = self.client_kwargs(**(client or {}))
        if self.kind == "sync":
            with puretalk_ai.Puretalk(**kwargs) as sync_client:
                return sync_client.integrations.update(integration_id, api_key=api_key, **call)

        async def run() -> puretalk_ai.Integration:
            async with puretalk_ai.AsyncPuretalk(**kwargs) as async_client:
                return await async_client.integrations.update(
                    integration_id, api_key=api_key, **call
                )

        return asyncio.run(run())


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Api:
    return Api(request.param)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PURETALK_API_KEY", "PURETALK_BASE_URL", "PURETALK_LOG"):
        monkeypatch.delenv(name, raising=False)
    return


def sent_json(request: Any) -> Any:
    return json.loads(request.content)


@pytest.fixture(autouse=True, scope="session")
def record_all_logs() -> Iterator[None]:
    handler = audit.RecordingHandler(level=logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield
    root.removeHandler(handler)
    # Everything this process saw, scanned once at its end: a leak anywhere in the suite is
    # an error of the last test, in a plain run, with -k, or in any xdist worker.
    found = audit.leaks()
    assert not found, audit.describe(found)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The secret audit reads what the rest of the suite recorded, so it runs last."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_secret_audit.py"))
