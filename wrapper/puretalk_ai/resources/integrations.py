"""``client.integrations``: update one integration's stored API key."""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from puretalk_ai_openapi.models import Integration

from .._bulk import (
    DEFAULT_CONCURRENCY,
    BulkItem,
    BulkRunner,
    ResultCallback,
    StartCallback,
    UpdateResult,
    Updates,
    attach_results,
    plan_updates,
)
from .._config import NOT_GIVEN, ClientConfig, NotGiven, TimeoutTypes
from .._exceptions import PuretalkError
from .._redaction import KeyRing, MaskedKey, run_ring
from .._request import RequestParts, update_request_parts
from .._response import RawResponse, UpdateParser

if TYPE_CHECKING:
    from .._client import AsyncPuretalk, Puretalk

__all__ = ["AsyncIntegrations", "Integrations"]


def _update_endpoint(
    client: Puretalk | AsyncPuretalk,
    integration_id: str,
    key: MaskedKey,
    extra_headers: Mapping[str, str] | None,
) -> tuple[Callable[[ClientConfig], RequestParts], UpdateParser]:
    """The update endpoint, for either shell's ``_request``: its request and its parser."""

    def parts(config: ClientConfig) -> RequestParts:
        return update_request_parts(config, integration_id, key, extra_headers)

    return parts, UpdateParser(integration_id, client.strict_response_validation)


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
    ) -> Integration:
        """Set the API key Puretalk stores for an integration; returns the updated integration.

        Raises ValueError/TypeError for bad arguments (nothing is sent), else a PuretalkError.
        """
        key = MaskedKey(api_key)
        del api_key  # no frame of the SDK holds the raw key (see MaskedKey)
        raw = self.with_raw_response._update(
            integration_id, key, timeout, max_retries, extra_headers
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
    ) -> list[UpdateResult]:
        """Update many integrations, at most `concurrency` at a time (worker threads).

        `updates` maps id -> new key, or is an iterable of (id, new key) pairs. Returns one
        UpdateResult per id, in input order. A failed update never stops the others; the
        batch paces itself at the rate the server allows (learnt from its 429s), pauses as
        a whole when the server asks, and waits out every 429 whose pause is within 60 s
        without using up `max_retries`. It stops early when the caller key is refused
        before any success, or the server cannot be reached 10 times in a row.
        `on_start(id)` is called just before each update is sent (if it raises, that update
        is not sent and the batch stops) and `on_result(result)` as each finishes (from
        worker threads). Any exception that escapes (Ctrl-C, or one raised by a callback)
        carries every id's state in ``.update_results``.
        """
        planned = plan_updates(
            updates,
            concurrency,
            _retries(self._client, max_retries),
            self._client.base_url,
            self._client.retry_policy,
        )
        del updates  # the keys live on only inside MaskedKey objects
        if isinstance(planned, Exception):
            raise planned

        def call(item: BulkItem) -> RawResponse[Integration]:
            return self.with_raw_response._update(item.integration_id, item.key, timeout, 0, None)

        with _run_keys(planned):
            return _drive_sync(planned, call, on_start, on_result)


@contextlib.contextmanager
def _run_keys(runner: BulkRunner) -> Iterator[None]:
    """Every key of the run masked, in the run's errors and by RedactingFilter, until the
    run ends (none ages out)."""
    ring = KeyRing(item.key.api_key for item in runner.items)
    token = run_ring.set(ring)  # the workers' errors are redacted with every key of the run
    try:
        yield
    finally:
        run_ring.reset(token)
        ring.close()


def _retries(client: Puretalk | AsyncPuretalk, max_retries: int | None) -> int:
    return client.max_retries if max_retries is None else max_retries


def _drive_sync(
    runner: BulkRunner,
    call: Callable[[BulkItem], RawResponse[Integration]],
    on_start: StartCallback | None,
    on_result: ResultCallback | None,
) -> list[UpdateResult]:
    """Daemon worker threads carry out the runner's decisions; the main thread waits, so
    Ctrl-C reaches it, and a second Ctrl-C only stops the waiting."""
    import threading

    lock = threading.Condition()

    def callback(function: Callable[[Any], Any], argument: Any) -> bool:
        try:
            function(argument)
        except Exception as exc:
            with lock:
                runner.callback_raised(exc)
                lock.notify_all()
            return False
        return True

    def worker() -> None:
        while True:
            with lock:
                step = runner.next(time.monotonic())
                while isinstance(step, float):
                    lock.wait(step)
                    step = runner.next(time.monotonic())
            if step is None:
                return
            if on_start is not None and not callback(on_start, step.integration_id):
                with lock:  # its on_start raised (a journal that cannot write): not sent
                    runner.withdraw(step)
                continue
            try:
                outcome: Any = call(step)
            except Exception as exc:  # one result per id, whatever happened to it
                outcome = exc
            with lock:
                result = runner.finish(step, outcome, time.monotonic())
                lock.notify_all()
            if result is not None and on_result is not None:
                callback(on_result, result)

    # Each thread runs in a copy of this context: the run's key ring comes along.
    workers = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(worker,),
            name=f"puretalk-bulk-{n}",
            daemon=True,
        )
        for n in range(runner.workers)
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
                    runner.stop("no worker thread could be started")
                raise attach_results(
                    PuretalkError(f"update_many could not start a worker thread ({exc})"),
                    runner.results(),
                ) from None
            started.append(thread)
        _join(started)
    except KeyboardInterrupt as interrupt:
        with lock:
            runner.stop("interrupted")
            lock.notify_all()
        # In-flight updates end within their own deadline; a second Ctrl-C stops the
        # waiting, and what is still in flight is then unknown.
        with contextlib.suppress(KeyboardInterrupt):
            _join(started)
        with lock:
            raise attach_results(interrupt, runner.results()) from None
    return runner.outcome()


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
    ) -> RawResponse[Integration]:
        key = MaskedKey(api_key)
        del api_key  # no frame of the SDK holds the raw key (see MaskedKey)
        return self._update(integration_id, key, timeout, max_retries, extra_headers)

    def _update(
        self,
        integration_id: str,
        key: MaskedKey,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
    ) -> RawResponse[Integration]:
        return self._client._request(
            *_update_endpoint(self._client, integration_id, key, extra_headers),
            secrets=(key,),
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
    ) -> Integration:
        """Set the API key Puretalk stores for an integration; returns the updated integration.

        Raises ValueError/TypeError for bad arguments (nothing is sent), else a PuretalkError.
        """
        key = MaskedKey(api_key)
        del api_key  # no frame of the SDK holds the raw key (see MaskedKey)
        raw = await self.with_raw_response._update(
            integration_id, key, timeout, max_retries, extra_headers
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
    ) -> list[UpdateResult]:
        """Update many integrations, at most `concurrency` in flight at once.

        As the sync ``update_many``; `on_start` may also return an awaitable, awaited before
        the update is sent (a journal's group commit). A cancellation (``CancelledError``)
        stops it at once: what was in flight is ``unknown``, and the error carries
        ``.update_results``.
        """
        planned = plan_updates(
            updates,
            concurrency,
            _retries(self._client, max_retries),
            self._client.base_url,
            self._client.retry_policy,
        )
        del updates
        if isinstance(planned, Exception):
            raise planned

        async def call(item: BulkItem) -> RawResponse[Integration]:
            return await self.with_raw_response._update(
                item.integration_id, item.key, timeout, 0, None
            )

        with _run_keys(planned):
            return await _drive_async(planned, call, on_start, on_result)


async def _drive_async(
    runner: BulkRunner,
    call: Callable[[BulkItem], Awaitable[RawResponse[Integration]]],
    on_start: StartCallback | None,
    on_result: ResultCallback | None,
) -> list[UpdateResult]:
    # anyio, as httpx itself: the same driver runs under asyncio and trio.
    import anyio

    wake = anyio.Event()  # set (and replaced) whenever an update ends or a callback raises

    def rouse() -> None:
        nonlocal wake
        wake.set()
        wake = anyio.Event()

    def raised(exc: Exception) -> None:
        runner.callback_raised(exc)
        rouse()

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
        while True:
            step = runner.next(time.monotonic())
            if step is None:
                return
            if isinstance(step, float):
                event = wake
                with anyio.move_on_after(step):
                    await event.wait()
                continue
            if on_start is not None and not await started(step.integration_id):
                runner.withdraw(step)  # its on_start raised: this update is not sent
                continue
            try:
                outcome: Any = await call(step)
            except Exception as exc:  # one result per id, whatever happened to it
                outcome = exc
            result = runner.finish(step, outcome, time.monotonic())
            rouse()
            if result is not None and on_result is not None:
                callback(on_result, result)

    try:
        async with anyio.create_task_group() as group:
            for _ in range(runner.workers):
                group.start_soon(worker)
    except BaseException as exc:  # a cancellation (or KeyboardInterrupt) stays itself
        # task.cancel("interrupted") (the CLI's Ctrl-C) names its reason; else "cancelled".
        said = (
            exc.args[0] if exc.args and isinstance(exc, anyio.get_cancelled_exc_class()) else None
        )
        runner.stop(said if isinstance(said, str) else "cancelled")
        raise attach_results(exc, runner.results()) from None
    return runner.outcome()


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
        key = MaskedKey(api_key)
        del api_key  # no frame of the SDK holds the raw key (see MaskedKey)
        return await self._update(integration_id, key, timeout, max_retries, extra_headers)

    async def _update(
        self,
        integration_id: str,
        key: MaskedKey,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
    ) -> RawResponse[Integration]:
        return await self._client._request(
            *_update_endpoint(self._client, integration_id, key, extra_headers),
            secrets=(key,),
            timeout=timeout,
            max_retries=max_retries,
        )
