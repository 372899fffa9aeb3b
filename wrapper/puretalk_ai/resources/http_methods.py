"""``client.get/post/put/patch/delete``: any path of the API, with the whole safety net.

The escape hatch every API SDK has, for what the published spec does not describe yet
(reading or listing integrations): the path is joined to the client's base URL, the call
runs the one flow (retries only where the method allows: never for POST; deadlines; typed
errors; every secret it sent, the caller key and any secret-named body field, masked in
errors, logs and the returned data), and the decoded JSON comes back. ``with_raw_response``
gives the HTTP response with the JSON behind ``parse()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._config import NOT_GIVEN, NotGiven, TimeoutTypes
from .._operation import path_endpoint
from .._response import RawResponse

if TYPE_CHECKING:
    from .._client import AsyncPuretalk, Puretalk

__all__ = ["AsyncHttpMethods", "HttpMethods"]

Params = Mapping[str, Any] | None


class RawHttpMethods:
    """``client.with_raw_response``: the same methods, returning the ``RawResponse``."""

    def __init__(self, client: Puretalk) -> None:
        self._client = client

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> RawResponse[Any]:
        endpoint = path_endpoint(
            method.upper(), path, params=params, json=json, extra_headers=extra_headers
        )
        return self._client._request(endpoint, timeout=timeout)

    def get(self, path: str, *, params: Params = None, **options: Any) -> RawResponse[Any]:
        return self.request("GET", path, params=params, **options)

    def post(self, path: str, *, json: Any = None, **options: Any) -> RawResponse[Any]:
        return self.request("POST", path, json=json, **options)

    def put(self, path: str, *, json: Any = None, **options: Any) -> RawResponse[Any]:
        return self.request("PUT", path, json=json, **options)

    def patch(self, path: str, *, json: Any = None, **options: Any) -> RawResponse[Any]:
        return self.request("PATCH", path, json=json, **options)

    def delete(self, path: str, **options: Any) -> RawResponse[Any]:
        return self.request("DELETE", path, **options)


class HttpMethods:
    """The escape hatch of ``Puretalk``: each method returns the decoded JSON."""

    with_raw_response: RawHttpMethods

    def get(
        self,
        path: str,
        *,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """GET ``path`` (under the base URL); the decoded JSON of the answer."""
        raw = self.with_raw_response.get(
            path, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """POST ``json`` to ``path``: never retried (a retry could apply it twice)."""
        raw = self.with_raw_response.post(
            path, json=json, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()

    def put(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """PUT ``json`` to ``path``; the decoded JSON of the answer."""
        raw = self.with_raw_response.put(
            path, json=json, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()

    def patch(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """PATCH ``path`` with ``json``; the decoded JSON of the answer."""
        raw = self.with_raw_response.patch(
            path, json=json, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()

    def delete(
        self,
        path: str,
        *,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """DELETE ``path``; the decoded JSON of the answer."""
        raw = self.with_raw_response.delete(
            path, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()


class AsyncRawHttpMethods:
    """``aclient.with_raw_response``: as ``RawHttpMethods``, awaited."""

    def __init__(self, client: AsyncPuretalk) -> None:
        self._client = client

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> RawResponse[Any]:
        endpoint = path_endpoint(
            method.upper(), path, params=params, json=json, extra_headers=extra_headers
        )
        return await self._client._request(endpoint, timeout=timeout)

    async def get(self, path: str, *, params: Params = None, **options: Any) -> RawResponse[Any]:
        return await self.request("GET", path, params=params, **options)

    async def post(self, path: str, *, json: Any = None, **options: Any) -> RawResponse[Any]:
        return await self.request("POST", path, json=json, **options)

    async def put(self, path: str, *, json: Any = None, **options: Any) -> RawResponse[Any]:
        return await self.request("PUT", path, json=json, **options)

    async def patch(self, path: str, *, json: Any = None, **options: Any) -> RawResponse[Any]:
        return await self.request("PATCH", path, json=json, **options)

    async def delete(self, path: str, **options: Any) -> RawResponse[Any]:
        return await self.request("DELETE", path, **options)


class AsyncHttpMethods:
    """The escape hatch of ``AsyncPuretalk``: as ``HttpMethods``, awaited."""

    with_raw_response: AsyncRawHttpMethods

    async def get(
        self,
        path: str,
        *,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """GET ``path`` (under the base URL); the decoded JSON of the answer."""
        raw = await self.with_raw_response.get(
            path, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """POST ``json`` to ``path``: never retried (a retry could apply it twice)."""
        raw = await self.with_raw_response.post(
            path, json=json, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()

    async def put(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """PUT ``json`` to ``path``; the decoded JSON of the answer."""
        raw = await self.with_raw_response.put(
            path, json=json, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()

    async def patch(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """PATCH ``path`` with ``json``; the decoded JSON of the answer."""
        raw = await self.with_raw_response.patch(
            path, json=json, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()

    async def delete(
        self,
        path: str,
        *,
        params: Params = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Any:
        """DELETE ``path``; the decoded JSON of the answer."""
        raw = await self.with_raw_response.delete(
            path, params=params, extra_headers=extra_headers, timeout=timeout
        )
        return raw.parse()
