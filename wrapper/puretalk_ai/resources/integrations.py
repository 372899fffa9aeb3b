"""``client.integrations``: update one integration's stored API key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from puretalk_ai_openapi.models import Integration

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
