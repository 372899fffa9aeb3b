"""``client.integrations``: update one integration's stored API key, or many.

``update`` is the generated ``update_integration`` operation through the client's one
request method, with the integration's result checks; every item of ``update_many`` is
that same call, sharing a ``_bulk.Batch`` gate. The sync and async drivers below only
carry the batch out: worker threads, or anyio tasks.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from puretalk_ai_openapi.api.integrations import update_integration
from puretalk_ai_openapi.models import (
    Integration,
    UpdateIntegrationBody,
    UpdateIntegrationBodyData,
)

from .._bulk import (
    DEFAULT_CONCURRENCY,
    Batch,
    BulkItem,
    ItemGate,
    ResultCallback,
    StartCallback,
    UpdateNotOk,
    UpdateResult,
    Updates,
    attach_results,
    check_batch_options,
    plan_updates,
)
from .._call import Gate
from .._config import NOT_GIVEN, NotGiven, TimeoutTypes, check_max_retries
from .._exceptions import PuretalkError
from .._operation import Endpoint, endpoint
from .._pacing import Pacer
from .._redaction import KeyRing, MaskedKey
from .._request import check_api_key, check_integration_id
from .._response import RawResponse

if TYPE_CHECKING:
    from .._client import AsyncPuretalk, Puretalk

__all__ = ["AsyncIntegrations", "Integrations"]


def _update_endpoint(
    client: Puretalk | AsyncPuretalk,
    integration_id: str,
    key: MaskedKey,
    extra_headers: Mapping[str, str] | None,
    extra_query: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> Endpoint:
    """The update as an endpoint: the generated operation, checked before anything else
    (the id, then the key, then the headers), returning the checked integration. The key
    is read through its masked carrier: no frame here holds it raw."""
    check_integration_id(integration_id)
    check_api_key(key)
    return endpoint(
        update_integration.sync_detailed,
        (integration_id,),
        {"body": UpdateIntegrationBody(data=UpdateIntegrationBodyData(api_key=key.api_key))},
        strict=client.strict_response_validation,
        extra_headers=extra_headers,
        extra_query=extra_query,
        extra_body=extra_body,
        results_only=True,
    )


def _retries(client: Puretalk | AsyncPuretalk, max_retries: int | None) -> int:
    return client.max_retries if max_retries is None else check_max_retries(max_retries)


def _item_endpoint(client: Puretalk | AsyncPuretalk, item: BulkItem, ring: KeyRing) -> Endpoint:
    """An item's update, its key now one of the run's (before it can be echoed); a bad id
    or key fails that item alone, naming its position."""
    ring.add(item.key.api_key)
    try:
        return _update_endpoint(client, item.integration_id, item.key, None)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"updates[{item.index}]: {exc}") from None


@contextlib.contextmanager
def _run_keys() -> Iterator[KeyRing]:
    """The ring of every key of the run (each added as its item starts, before it can be
    echoed): masked in every item's returned data and errors, and by RedactingFilter,
    until the run ends (none ages out)."""
    ring = KeyRing()
    try:
        yield ring
    finally:
        ring.close()


@contextlib.contextmanager
def _safety_net(planned: list[BulkItem], batch: list[Batch]) -> Iterator[None]:
    """Ctrl-C (or any exception) from the first moment carries every id's state: during
    planning, the ids planned so far are not_sent."""
    try:
        yield
    except (TypeError, ValueError):
        raise  # the input refused as a whole: nothing was planned to be sent
    except BaseException as exc:
        if batch:
            raise
        results: list[UpdateResult] = [
            UpdateNotOk(i.integration_id, "not_sent", reason="interrupted while planning")
            for i in planned
        ]
        raise attach_results(exc, results) from None


def _prepare(
    client: Puretalk | AsyncPuretalk,
    updates: Updates,
    concurrency: int,
    max_rate: float | None,
    planned: list[BulkItem],
) -> Batch | TypeError | ValueError:
    """The batch, or the error that refuses the input as a whole (returned, not raised, so
    that no frame holding the keys is in its traceback)."""
    try:
        check_batch_options(concurrency, max_rate)
    except (TypeError, ValueError) as exc:
        return exc
    items = plan_updates(updates, planned)
    if isinstance(items, Exception):
        return items
    return Batch(
        items,
        concurrency,
        target=client.base_url,
        policy=client.retry_policy,
        pacer=Pacer(max_rate),
    )


def _item_options(
    client: Puretalk | AsyncPuretalk,
    timeout: TimeoutTypes | NotGiven,
    max_retries: int | None,
    ring: KeyRing,
) -> dict[str, Any]:
    """The options every item's call shares: those of ``update``, and the run's keys."""
    return {"timeout": timeout, "max_retries": _retries(client, max_retries), "run_keys": ring}


class Integrations:
    """Sync operations on Ruth Connect integrations."""

    def __init__(self, client: Puretalk) -> None:
        self._client = client
        self.with_raw_response: IntegrationsWithRawResponse = IntegrationsWithRawResponse(self)

    def update(
        self,
        integration_id: str,
        *,
        api_key: str,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Integration:
        """Set the API key Puretalk stores for an integration; returns the updated integration.

        Raises ValueError/TypeError for bad arguments (nothing is sent), else a PuretalkError.
        """
        key = MaskedKey(api_key)
        del api_key  # no frame of the SDK holds the raw key (see MaskedKey)
        raw = self.with_raw_response._update(
            integration_id, key, timeout, max_retries, extra_headers, extra_query, extra_body
        )
        return raw.parse()

    def update_many(
        self,
        updates: Updates,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        on_result: ResultCallback | None = None,
        on_start: StartCallback | None = None,
        max_rate: float | None = None,
    ) -> list[UpdateResult]:
        """Update many integrations, at most `concurrency` at a time (worker threads).

        `updates` maps id -> new key, or is an iterable of (id, new key) pairs. Returns one
        UpdateResult per id, in input order. Each update is the call ``update`` makes
        (retries, ``total_timeout`` per update, typed errors, redaction); a failed update
        never stops the others. The batch paces itself at the rate the server allows
        (learnt from its 429s), pauses as a whole when the server asks, and stops early
        when it is doomed (see docs/guide/bulk.md). A bad id or key fails that update alone.
        `on_start(id)` is called just before each update is first sent (if it raises,
        that update is not sent and the batch stops) and `on_result(result)` as each
        finishes (from worker threads). Any exception that escapes (Ctrl-C, or one raised
        by a callback) carries every id's state in ``.update_results``. `max_rate` caps
        the rate (updates per second) below what the server allows (a shared quota).
        """
        planned: list[BulkItem] = []
        made: list[Batch] = []
        with _safety_net(planned, made), _run_keys() as ring:
            prepared = _prepare(self._client, updates, concurrency, max_rate, planned)
            del updates  # the keys live on only inside MaskedKey objects
            if isinstance(prepared, Exception):
                raise prepared
            made.append(batch := prepared)
            client = self._client
            options = _item_options(client, timeout, max_retries, ring)

            def call(item: BulkItem, gate: Gate, sleep: Callable[[float], None]) -> Any:
                return client._request(
                    _item_endpoint(client, item, ring), **options, gate=gate, sleep=sleep
                )

            return _drive_sync(batch, call, on_start, on_result)


class _SharedGate:
    """An item's gate as a driver shares it: every use under `lock` (the sync driver's
    condition; nothing for the async one), and a stop wakes every sleeping worker."""

    __slots__ = ("free_retries", "gate", "lock", "wake")

    def __init__(
        self, gate: ItemGate, lock: contextlib.AbstractContextManager[Any], wake: Callable[[], None]
    ) -> None:
        self.gate = gate
        self.lock = lock
        self.wake = wake
        self.free_retries = gate.free_retries

    def admit(self, now: float) -> float | str | None:
        with self.lock:
            return self.gate.admit(now)

    def answered(self, *outcome: Any) -> None:
        with self.lock:
            self.gate.answered(*outcome)
            if self.gate.batch.stop_reason is not None:
                self.wake()


def _drive_sync(
    batch: Batch,
    call: Callable[[BulkItem, Gate, Callable[[float], None]], RawResponse[Integration]],
    on_start: StartCallback | None,
    on_result: ResultCallback | None,
) -> list[UpdateResult]:
    """Daemon worker threads each run one update at a time; the main thread waits, so
    Ctrl-C reaches it, and a second Ctrl-C only stops the waiting."""
    lock = threading.Condition()

    def sleep(seconds: float) -> None:
        """The flow's waits (pacing, a pause, a backoff): cut short only by a stop."""
        end = time.monotonic() + seconds
        with lock:
            while batch.stop_reason is None and (left := end - time.monotonic()) > 0:
                lock.wait(left)

    def callback(function: Callable[[Any], Any], argument: Any) -> bool:
        try:
            function(argument)
        except Exception as exc:
            with lock:
                batch.callback_raised(exc)
                lock.notify_all()
            return False
        return True

    def worker() -> None:
        while True:
            with lock:
                item = batch.take()
            if item is None:
                return
            if on_start is not None and not callback(on_start, item.integration_id):
                with lock:  # its on_start raised (a journal that cannot write): not sent
                    batch.withdraw(item)
                continue
            try:
                outcome: Any = call(
                    item, _SharedGate(batch.gate(item), lock, lock.notify_all), sleep
                )
            except Exception as exc:  # one result per id, whatever happened to it
                outcome = exc
            with lock:
                result = batch.finish(item, outcome)
            if on_result is not None:
                callback(on_result, result)

    workers = [
        threading.Thread(target=worker, name=f"puretalk-bulk-{n}", daemon=True)
        for n in range(batch.workers)
    ]
    started: list[threading.Thread] = []
    try:
        # Starting the workers is inside the interruption's reach: Ctrl-C while they start
        # stops the ones already running, like Ctrl-C later on.
        for thread in workers:
            try:
                thread.start()
            except RuntimeError as exc:  # "can't start new thread": the OS said no
                if started:
                    break  # fewer workers, same batch
                with lock:
                    batch.stop("no worker thread could be started")
                raise attach_results(
                    PuretalkError(f"update_many could not start a worker thread ({exc})"),
                    batch.results(),
                ) from None
            started.append(thread)
        _join(started)
    except KeyboardInterrupt as interrupt:
        with lock:
            batch.stop("interrupted")
            lock.notify_all()
        # In-flight updates end within their own deadline; a second Ctrl-C stops the
        # waiting, and what is still in flight is then unknown.
        with contextlib.suppress(KeyboardInterrupt):
            _join(started)
        with lock:
            raise attach_results(interrupt, batch.results()) from None
    return batch.outcome()


def _join(threads: list[Any]) -> None:
    for thread in threads:
        while thread.is_alive():
            thread.join(0.1)  # short joins keep the main thread responsive to Ctrl-C


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
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> RawResponse[Integration]:
        key = MaskedKey(api_key)
        del api_key  # no frame of the SDK holds the raw key (see MaskedKey)
        return self._update(
            integration_id, key, timeout, max_retries, extra_headers, extra_query, extra_body
        )

    def _update(
        self,
        integration_id: str,
        key: MaskedKey,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> RawResponse[Integration]:
        return self._client._request(
            _update_endpoint(
                self._client, integration_id, key, extra_headers, extra_query, extra_body
            ),
            timeout=timeout,
            max_retries=max_retries,
        )


class AsyncIntegrations:
    """Async operations on Ruth Connect integrations."""

    def __init__(self, client: AsyncPuretalk) -> None:
        self._client = client
        self.with_raw_response: AsyncIntegrationsWithRawResponse = AsyncIntegrationsWithRawResponse(
            self
        )

    async def update(
        self,
        integration_id: str,
        *,
        api_key: str,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Integration:
        """Set the API key Puretalk stores for an integration; returns the updated integration.

        Raises ValueError/TypeError for bad arguments (nothing is sent), else a PuretalkError.
        """
        key = MaskedKey(api_key)
        del api_key  # no frame of the SDK holds the raw key (see MaskedKey)
        raw = await self.with_raw_response._update(
            integration_id, key, timeout, max_retries, extra_headers, extra_query, extra_body
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
        on_start: StartCallback | None = None,
        max_rate: float | None = None,
    ) -> list[UpdateResult]:
        """Update many integrations, at most `concurrency` in flight at once.

        As the sync ``update_many``; `on_start` may also return an awaitable, awaited before
        the update is sent (a journal's group commit). A cancellation (``CancelledError``)
        stops it at once: what was in flight is ``unknown``, and the error carries
        ``.update_results``.
        """
        planned: list[BulkItem] = []
        made: list[Batch] = []
        with _safety_net(planned, made), _run_keys() as ring:
            prepared = _prepare(self._client, updates, concurrency, max_rate, planned)
            del updates  # the keys live on only inside MaskedKey objects
            if isinstance(prepared, Exception):
                raise prepared
            made.append(batch := prepared)
            client = self._client
            options = _item_options(client, timeout, max_retries, ring)

            async def call(
                item: BulkItem, gate: Gate, sleep: Callable[[float], Awaitable[None]]
            ) -> Any:
                endpoint = _item_endpoint(client, item, ring)
                return await client._request(endpoint, **options, gate=gate, sleep=sleep)

            return await _drive_async(batch, call, on_start, on_result)


async def _drive_async(
    batch: Batch,
    call: Callable[[BulkItem, Gate, Callable[[float], Awaitable[None]]], Awaitable[Any]],
    on_start: StartCallback | None,
    on_result: ResultCallback | None,
) -> list[UpdateResult]:
    # anyio, as httpx itself: the same driver runs under asyncio and trio.
    import anyio

    stop = anyio.Event()  # set once the batch stops: sleeping workers wake
    unlocked = contextlib.nullcontext()  # one event loop: the batch needs no lock

    def stopped() -> None:
        stop.set()

    async def sleep(seconds: float) -> None:
        """The flow's waits (pacing, a pause, a backoff): cut short only by a stop."""
        with anyio.move_on_after(seconds):
            await stop.wait()

    def raised(exc: Exception) -> None:
        batch.callback_raised(exc)
        stopped()

    def callback(function: Callable[[Any], Any], argument: Any) -> None:
        try:
            function(argument)
        except Exception as exc:
            raised(exc)

    async def started(integration_id: str) -> bool:
        """on_start, awaited when it returns an awaitable (a journal's group commit)."""
        assert on_start is not None
        try:
            pending = on_start(integration_id)
            if inspect.isawaitable(pending):
                await pending
        except Exception as exc:
            raised(exc)
            return False
        return True

    async def worker() -> None:
        while (item := batch.take()) is not None:
            if on_start is not None and not await started(item.integration_id):
                batch.withdraw(item)  # its on_start raised: this update is not sent
                continue
            try:
                outcome: Any = await call(
                    item, _SharedGate(batch.gate(item), unlocked, stopped), sleep
                )
            except Exception as exc:  # one result per id, whatever happened to it
                outcome = exc
            result = batch.finish(item, outcome)
            if on_result is not None:
                callback(on_result, result)

    try:
        async with anyio.create_task_group() as group:
            for _ in range(batch.workers):
                group.start_soon(worker)
    except BaseException as exc:  # a cancellation (or KeyboardInterrupt) stays itself
        # task.cancel("interrupted") (the CLI's Ctrl-C) names its reason; else "cancelled".
        said = (
            exc.args[0] if exc.args and isinstance(exc, anyio.get_cancelled_exc_class()) else None
        )
        batch.stop(said if isinstance(said, str) else "cancelled")
        raise attach_results(exc, batch.results()) from None
    return batch.outcome()


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
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> RawResponse[Integration]:
        key = MaskedKey(api_key)
        del api_key  # no frame of the SDK holds the raw key (see MaskedKey)
        return await self._update(
            integration_id, key, timeout, max_retries, extra_headers, extra_query, extra_body
        )

    async def _update(
        self,
        integration_id: str,
        key: MaskedKey,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> RawResponse[Integration]:
        return await self._client._request(
            _update_endpoint(
                self._client, integration_id, key, extra_headers, extra_query, extra_body
            ),
            timeout=timeout,
            max_retries=max_retries,
        )
