"""Puretalk and AsyncPuretalk: thin shells that carry out the steps of ``_call.run_flow``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, ParamSpec, Self, TypedDict, TypeVar, overload

from puretalk_ai_openapi.models import Error
from puretalk_ai_openapi.types import Response

from ._call import CallOptions, Flow, Gate, Outcome, Result, Send, run_flow
from ._config import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    ClientConfig,
    NotGiven,
    ProxyTypes,
    TimeoutTypes,
    check_max_retries,
    merge_headers,
    to_timeout,
)
from ._httpx import httpx
from ._operation import Endpoint, endpoint
from ._redaction import KeyRing, Secrets
from ._response import RawResponse
from ._retry import RetryPolicy
from ._transport import AsyncSender, HttpBackend, SyncSender
from .resources.http_methods import (
    AsyncHttpMethods,
    AsyncRawHttpMethods,
    HttpMethods,
    RawHttpMethods,
)
from .resources.integrations import AsyncIntegrations, Integrations

__all__ = ["AsyncPuretalk", "ClientOptions", "Puretalk"]


def raw_response(result: Result[Any]) -> RawResponse[Any]:
    parsed = result.parsed
    return RawResponse(
        http_response=result.response,
        parsed=parsed.value,
        drifted_fields=parsed.drifted,
        confirmed=parsed.confirmed,
        retries_taken=result.retries_taken,
    )


class ClientOptions(TypedDict, total=False):
    """The keyword options both clients take (for typed ``**options``, as the fake's)."""

    api_key: str | None
    base_url: str | httpx.URL | None
    timeout: TimeoutTypes
    max_retries: int
    total_timeout: float | None
    default_headers: Mapping[str, str] | None
    max_response_bytes: int
    strict_response_validation: bool
    retry_policy: RetryPolicy | None
    proxy: ProxyTypes
    allow_insecure_http: bool


# The most recent single-call keys a client's log filter masks; a bulk run's keys are all
# held, however many, for as long as the run lasts (see KeyRing).
MAX_CLIENT_KEYS = 1024

_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)
_SenderT = TypeVar("_SenderT", SyncSender, AsyncSender)
T = TypeVar("T")
# The operation's own parameters (its client aside, which the generated functions default
# to None for this): a type checker reads call(op, ...)'s arguments against them.
P = ParamSpec("P")


class _BaseClient(Generic[_HttpT, _SenderT]):
    """What both clients share: configuration, options, repr. No I/O here."""

    _http_client_type: type[_HttpT]
    _sender_type: type[_SenderT]
    _config: ClientConfig
    _sender: _SenderT
    _requested_backend: HttpBackend = "httpx"  # only AsyncPuretalk offers another
    _owns_http: bool
    _keys: KeyRing  # what RedactingFilter masks for this client (and its copies)

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        total_timeout: float | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        strict_response_validation: bool = False,
        retry_policy: RetryPolicy | None = None,
        http_client: _HttpT | None = None,
        proxy: ProxyTypes = None,
        allow_insecure_http: bool = False,
    ) -> None:
        if http_client is not None and not isinstance(http_client, self._http_client_type):
            raise TypeError(
                f"http_client must be an {self._http_client_type.__module__}."
                f"{self._http_client_type.__name__}, not {type(http_client).__name__}"
            )
        if http_client is not None and proxy is not None:
            raise ValueError("pass proxy or http_client, not both (give your client its proxy)")
        self._config = ClientConfig.create(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            total_timeout=total_timeout,
            default_headers=default_headers,
            max_response_bytes=max_response_bytes,
            strict_response_validation=strict_response_validation,
            retry_policy=retry_policy,
            proxy=proxy,
            allow_insecure_http=allow_insecure_http,
        )
        # The caller key is pinned: only the keys the client learns from calls age out.
        self._keys = KeyRing(limit=MAX_CLIENT_KEYS, pinned=(self._config.api_key,))
        self._owns_http = http_client is None
        # Timeouts and redirects are set per request, so a user's client keeps its
        # transport and proxies but not its policies.
        self._sender = self._make_sender(http_client, self._requested_backend)
        self._init_resources()

    def _make_sender(self, http_client: _HttpT | None, backend: HttpBackend) -> _SenderT:
        """The sender for this configuration (its base URL and body cap)."""
        config = self._config
        return self._sender_type(
            config.base_url, http_client, config.max_response_bytes, backend, config.proxy
        )

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        return self._config.timeout

    @property
    def max_retries(self) -> int:
        return self._config.max_retries

    @property
    def total_timeout(self) -> float | None:
        return self._config.total_timeout

    @property
    def is_closed(self) -> bool:
        """True once the connection pool this client uses is closed."""
        return self._sender.is_closed

    @property
    def max_response_bytes(self) -> int:
        return self._config.max_response_bytes

    @property
    def strict_response_validation(self) -> bool:
        return self._config.strict_response_validation

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._config.retry_policy

    def with_options(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        total_timeout: float | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | None = None,
        strict_response_validation: bool | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> Self:
        """A copy with some options changed, sharing this client's connection pool.

        Closing the copy leaves the pool open; close the original when done. A new
        ``base_url`` or ``max_response_bytes`` gets a pool of its own.
        """
        config = self._config
        copy = type(self).__new__(type(self))
        copy._config = ClientConfig.create(
            api_key=api_key if api_key is not None else config.api_key,
            base_url=base_url if base_url is not None else config.base_url,
            timeout=config.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=config.max_retries if max_retries is None else max_retries,
            total_timeout=(
                config.total_timeout if isinstance(total_timeout, NotGiven) else total_timeout
            ),
            default_headers=merge_headers(config.default_headers, default_headers or {}),
            max_response_bytes=(
                config.max_response_bytes if max_response_bytes is None else max_response_bytes
            ),
            strict_response_validation=(
                config.strict_response_validation
                if strict_response_validation is None
                else strict_response_validation
            ),
            retry_policy=config.retry_policy if retry_policy is None else retry_policy,
            proxy=config.proxy,
            allow_insecure_http=config.allow_insecure_http,
        )
        if (
            copy._config.base_url == config.base_url
            and copy._config.max_response_bytes == config.max_response_bytes
        ):
            copy._sender = self._sender
            copy._owns_http = False
        else:  # the own transport's proxy and the body cap depend on these
            copy._sender = copy._make_sender(self._sender.user_client, self._sender.backend)
            copy._owns_http = copy._sender.owns_http
        copy._keys = self._keys
        copy._keys.pin(copy._config.api_key)
        copy._init_resources()
        return copy

    def _init_resources(self) -> None:
        raise NotImplementedError

    # --- the package's interface for resources: one request method per shell ------------
    # An endpoint (``_operation.endpoint``: a generated operation with its arguments) goes
    # through ``_request``, as openai-python's resources call their client's ``_post``;
    # ``call``, ``integrations.update`` and every item of ``update_many`` alike.

    def _options(
        self,
        endpoint: Endpoint,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        run_keys: KeyRing | None = None,
        gate: Gate | None = None,
    ) -> CallOptions[Any]:
        """One call's options: its request built from this client's configuration, its
        parser, the values to redact (remembered by this client's log filter; each in a
        MaskedKey, so no frame of the SDK holds one raw; ``run_keys``: every key of the
        batch it belongs to), the per-call options, and the batch's gate."""
        config = self._config
        built = endpoint.build(config)  # checks the arguments before anything is remembered
        for secret in endpoint.secrets:
            self._keys.add(secret.api_key, like=run_keys)
        return CallOptions(
            parts=built,
            parse=endpoint.parser,
            secrets=Secrets(
                (config.api_key, *(s.api_key for s in endpoint.secrets)),
                rings=(self._keys,),
                run=run_keys,
            ),
            timeout=config.timeout if isinstance(timeout, NotGiven) else to_timeout(timeout),
            max_retries=(
                config.max_retries if max_retries is None else check_max_retries(max_retries)
            ),
            total_timeout=config.total_timeout,
            policy=config.retry_policy,
            idempotent=endpoint.idempotent,
            gate=gate,
        )

    def _endpoint(self, operation: object, args: tuple[Any, ...], kwargs: Any) -> Endpoint:
        return endpoint(operation, args, kwargs, strict=self._config.strict_response_validation)

    def __repr__(self) -> str:
        c = self._config
        return (
            f"{type(self).__name__}(base_url={c.base_url!r}, api_key='***', "
            f"max_retries={c.max_retries}, total_timeout={c.total_timeout})"
        )


class Puretalk(HttpMethods, _BaseClient[httpx.Client, SyncSender]):
    """The synchronous client. Use it as a context manager, or call ``close()``."""

    _http_client_type = httpx.Client
    _sender_type = SyncSender
    integrations: Integrations

    def _init_resources(self) -> None:
        self.integrations = Integrations(self)
        self.with_raw_response: RawHttpMethods = RawHttpMethods(self)

    def _run(self, flow: Flow[T], sleep: Callable[[float], None] = time.sleep) -> T:
        sender = self._sender
        sender.check_usable()
        step = next(flow)
        while True:
            outcome: Outcome
            if isinstance(step, Send):
                outcome = sender.send(step.parts, step.timeout, step.wall)
            else:
                sleep(step.seconds)
                outcome = None
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    # The generated functions return ``Response[Error | Model]``; an error status raises
    # here instead, so the first overload types the result as the success model alone.
    @overload
    def call(
        self, operation: Callable[P, Response[Error | T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T: ...
    @overload
    def call(
        self, operation: Callable[P, Response[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T: ...
    def call(self, operation: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run any generated operation with this client's safety net; its parsed 2xx body.

        ``operation`` is a function of a generated endpoint module (``sync_detailed``), and
        ``args``/``kwargs`` are its own (``client`` aside): for example
        ``client.call(update_integration.sync_detailed, "6f1c...", body=body)``. Timeouts,
        the deadline, retries (never for POST), typed errors, redaction and logging are
        those of ``integrations.update``; use ``with_options`` to change them.
        """
        return self.call_raw(operation, *args, **kwargs).parse()

    @overload
    def call_raw(
        self, operation: Callable[P, Response[Error | T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]: ...
    @overload
    def call_raw(
        self, operation: Callable[P, Response[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]: ...
    def call_raw(
        self, operation: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> RawResponse[Any]:
        """As ``call``, returning the HTTP response with the result behind ``parse()``."""
        return self._request(self._endpoint(operation, args, kwargs))

    def _request(
        self,
        endpoint: Endpoint,
        *,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> RawResponse[Any]:
        """The one request method of this shell: every call, resources' included."""
        return raw_response(self._run(run_flow(self._options(endpoint, **options)), sleep))

    def close(self) -> None:
        """Close the connection pool, unless it was passed in or belongs to the original."""
        if self._owns_http:
            self._sender.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncPuretalk(AsyncHttpMethods, _BaseClient[httpx.AsyncClient, AsyncSender]):
    """The asyncio client. Use it as an async context manager, or ``await aclose()``.

    ``http_backend="aiohttp"`` (with ``pip install "puretalk-ai[aiohttp]"``) sends through
    httpx-aiohttp's transport: several times faster for bulk rotation, same guarantees.
    """

    _http_client_type = httpx.AsyncClient
    _sender_type = AsyncSender
    integrations: AsyncIntegrations

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        total_timeout: float | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        strict_response_validation: bool = False,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        http_backend: HttpBackend = "httpx",
        proxy: ProxyTypes = None,
        allow_insecure_http: bool = False,
    ) -> None:
        if http_backend not in ("httpx", "aiohttp"):
            raise ValueError('http_backend must be "httpx" or "aiohttp"')
        if http_backend != "httpx" and http_client is not None:
            raise ValueError("pass http_backend or http_client, not both")
        self._requested_backend = http_backend
        super().__init__(
            api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            total_timeout=total_timeout,
            default_headers=default_headers,
            max_response_bytes=max_response_bytes,
            strict_response_validation=strict_response_validation,
            retry_policy=retry_policy,
            http_client=http_client,
            proxy=proxy,
            allow_insecure_http=allow_insecure_http,
        )

    @property
    def http_backend(self) -> HttpBackend:
        """The transport of the client's own pool: "httpx" or "aiohttp"."""
        return self._sender.backend

    def _init_resources(self) -> None:
        self.integrations = AsyncIntegrations(self)
        self.with_raw_response: AsyncRawHttpMethods = AsyncRawHttpMethods(self)

    async def _run(
        self, flow: Flow[T], sleep: Callable[[float], Awaitable[None]] | None = None
    ) -> T:
        sender = self._sender
        sender.check_usable()
        step = next(flow)
        while True:
            outcome: Outcome
            if isinstance(step, Send):
                outcome = await sender.send(step.parts, step.timeout, step.wall)
            else:
                await (sleep or sender.sleep)(step.seconds)
                outcome = None
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    @overload
    async def call(
        self,
        operation: Callable[P, Awaitable[Response[Error | T]]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T: ...
    @overload
    async def call(
        self, operation: Callable[P, Awaitable[Response[T]]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T: ...
    @overload
    async def call(
        self, operation: Callable[P, Response[Error | T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T: ...
    @overload
    async def call(
        self, operation: Callable[P, Response[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T: ...
    async def call(self, operation: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """As ``Puretalk.call``: pass the generated ``asyncio_detailed`` (or
        ``sync_detailed``) function and its own arguments."""
        raw = await self.call_raw(operation, *args, **kwargs)
        return raw.parse()

    @overload
    async def call_raw(
        self,
        operation: Callable[P, Awaitable[Response[Error | T]]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> RawResponse[T]: ...
    @overload
    async def call_raw(
        self, operation: Callable[P, Awaitable[Response[T]]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]: ...
    @overload
    async def call_raw(
        self, operation: Callable[P, Response[Error | T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]: ...
    @overload
    async def call_raw(
        self, operation: Callable[P, Response[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]: ...
    async def call_raw(
        self, operation: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> RawResponse[Any]:
        """As ``call``, returning the HTTP response with the result behind ``parse()``."""
        return await self._request(self._endpoint(operation, args, kwargs))

    async def _request(
        self,
        endpoint: Endpoint,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        **options: Any,
    ) -> RawResponse[Any]:
        """The one request method of this shell: every call, resources' included."""
        flow = run_flow(self._options(endpoint, **options))
        return raw_response(await self._run(flow, sleep))

    async def aclose(self) -> None:
        """Close the connection pool, unless it was passed in or belongs to the original."""
        if self._owns_http:
            await self._sender.aclose()

    async def close(self) -> None:
        """As ``aclose()`` (``await client.close()``, as openai-python's clients take it)."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
