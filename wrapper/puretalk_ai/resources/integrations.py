"""``client.integrations``: update one integration's stored API key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from puretalk_ai_openapi.models import Integration

from .._bulk import (
    DEFAULT_CONCURRENCY,
    ResultCallback,
    UpdateResult,
    Updates,
    check_concurrency,
    normalize_updates,
)
from .._call import run_flow
from .._config import NOT_GIVEN, NotGiven, TimeoutTypes
from .._response import RawResponse

if TYPE_CHECKING:
    from .._client import AsyncPuretalk, Puretalk

__all__ = ["AsyncIntegrations", "Integrations"]


class Integrations:
    """Sync operations on Ruth Connect integrations."""

    def __init__(self, client: Puretalk) -> None:
        self._client = client
        self.with_raw_response = IntegrationsWithRawResponse(self)

    def update(
        self,
        integration_id: str,
        *,
        api_key: str,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Integration:
        """Set the API key Puretalk stores for an integration; returns the updated integration.

        Raises ValueError/TypeError for bad arguments (nothing is sent), else a PuretalkError.
        """
        return self.with_raw_response.update(
            integration_id,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        ).parse()

    def update_many(
        self,
        updates: Updates,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        on_result: ResultCallback | None = None,
    ) -> list[UpdateResult]:
        """Update many integrations, at most `concurrency` at a time (threads).

        `updates` maps id -> new key, or is an iterable of (id, new key) pairs. Returns one
        UpdateResult per id, in input order; a failed update never stops the others.
        `on_result` is called (from a worker thread) as each update finishes.
        """
        pairs = normalize_updates(updates)
        check_concurrency(concurrency)

        def one(pair: tuple[str, str]) -> UpdateResult:
            integration_id, api_key = pair
            try:
                integration = self.update(
                    integration_id, api_key=api_key, timeout=timeout, max_retries=max_retries
                )
                result = UpdateResult(integration_id, integration=integration)
            except Exception as exc:  # one result per id, whatever happened to it
                result = UpdateResult(integration_id, error=exc)
            if on_result is not None:
                on_result(result)
            return result

        if not pairs:
            return []
        from concurrent.futures import ThreadPoolExecutor  # only bulk users pay for it

        workers = min(concurrency, len(pairs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="puretalk") as pool:
            return list(pool.map(one, pairs))


class IntegrationsWithRawResponse:
    """Like ``Integrations``, returning the HTTP response with the result behind ``parse()``."""

    def __init__(self, integrations: Integrations) -> None:
        self._client = integrations._client

    def update(
        self,
        integration_id: str,
        *,
        api_key: str,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> RawResponse[Integration]:
        client = self._client
        options = client._update_options(
            integration_id, api_key, timeout, max_retries, extra_headers
        )
        response, integration = client._run(run_flow(options))
        return RawResponse(http_response=response, parsed=integration)


class AsyncIntegrations:
    """Async operations on Ruth Connect integrations."""

    def __init__(self, client: AsyncPuretalk) -> None:
        self._client = client
        self.with_raw_response = AsyncIntegrationsWithRawResponse(self)

    async def update(
        self,
        integration_id: str,
        *,
        api_key: str,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Integration:
        """Set the API key Puretalk stores for an integration; returns the updated integration.

        Raises ValueError/TypeError for bad arguments (nothing is sent), else a PuretalkError.
        """
        raw = await self.with_raw_response.update(
            integration_id,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
        )
        return raw.parse()

    async def update_many(
        self,
        updates: Updates,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        on_result: ResultCallback | None = None,
    ) -> list[UpdateResult]:
        """Update many integrations, at most `concurrency` in flight at once.

        `updates` maps id -> new key, or is an iterable of (id, new key) pairs. Returns one
        UpdateResult per id, in input order; a failed update never stops the others.
        `on_result` is called as each update finishes.
        """
        import asyncio  # only async users pay for it

        pairs = normalize_updates(updates)
        gate = asyncio.Semaphore(check_concurrency(concurrency))

        async def one(integration_id: str, api_key: str) -> UpdateResult:
            async with gate:
                try:
                    integration = await self.update(
                        integration_id, api_key=api_key, timeout=timeout, max_retries=max_retries
                    )
                    result = UpdateResult(integration_id, integration=integration)
                except Exception as exc:  # one result per id, whatever happened to it
                    result = UpdateResult(integration_id, error=exc)
            if on_result is not None:
                on_result(result)
            return result

        return list(await asyncio.gather(*(one(i, k) for i, k in pairs)))


class AsyncIntegrationsWithRawResponse:
    """Like ``AsyncIntegrations``, returning the HTTP response; the result is behind parse()."""

    def __init__(self, integrations: AsyncIntegrations) -> None:
        self._client = integrations._client

    async def update(
        self,
        integration_id: str,
        *,
        api_key: str,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> RawResponse[Integration]:
        client = self._client
        options = client._update_options(
            integration_id, api_key, timeout, max_retries, extra_headers
        )
        response, integration = await client._run(run_flow(options))
        return RawResponse(http_response=response, parsed=integration)
