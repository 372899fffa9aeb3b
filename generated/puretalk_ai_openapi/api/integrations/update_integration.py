from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.integration_response import IntegrationResponse
from ...models.update_integration_body import UpdateIntegrationBody
from ...types import UNSET, Response, Unset

# puretalk-ai: the client defaults to None only so that type checkers read this operation's
# own parameters through puretalk_ai's client.call(operation, ...); called directly, it
# needs one.
_NO_CLIENT = (
    "client is required: pass client=..., or run it through puretalk_ai's client.call"
)


def _get_kwargs(
    integration_id: str,
    *,
    body: UpdateIntegrationBody | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/ruth-connect/integrations/{integration_id}".format(
            integration_id=quote(str(integration_id), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | IntegrationResponse | None:
    if response.status_code == 200:
        response_200 = IntegrationResponse.from_dict(response.json())

        return response_200

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | IntegrationResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    integration_id: str,
    *,
    client: AuthenticatedClient | Client | None = None,
    body: UpdateIntegrationBody | Unset = UNSET,
) -> Response[Error | IntegrationResponse]:
    """Update an integration based on the ID supplied

    Args:
        integration_id (str):
        body (UpdateIntegrationBody | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | IntegrationResponse]
    """

    if client is None:  # puretalk-ai: see the client parameter
        raise TypeError(_NO_CLIENT)
    kwargs = _get_kwargs(
        integration_id=integration_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    integration_id: str,
    *,
    client: AuthenticatedClient | Client | None = None,
    body: UpdateIntegrationBody | Unset = UNSET,
) -> Error | IntegrationResponse | None:
    """Update an integration based on the ID supplied

    Args:
        integration_id (str):
        body (UpdateIntegrationBody | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | IntegrationResponse
    """

    return sync_detailed(
        integration_id=integration_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    integration_id: str,
    *,
    client: AuthenticatedClient | Client | None = None,
    body: UpdateIntegrationBody | Unset = UNSET,
) -> Response[Error | IntegrationResponse]:
    """Update an integration based on the ID supplied

    Args:
        integration_id (str):
        body (UpdateIntegrationBody | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | IntegrationResponse]
    """

    if client is None:  # puretalk-ai: see the client parameter
        raise TypeError(_NO_CLIENT)
    kwargs = _get_kwargs(
        integration_id=integration_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    integration_id: str,
    *,
    client: AuthenticatedClient | Client | None = None,
    body: UpdateIntegrationBody | Unset = UNSET,
) -> Error | IntegrationResponse | None:
    """Update an integration based on the ID supplied

    Args:
        integration_id (str):
        body (UpdateIntegrationBody | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | IntegrationResponse
    """

    return (
        await asyncio_detailed(
            integration_id=integration_id,
            client=client,
            body=body,
        )
    ).parsed
