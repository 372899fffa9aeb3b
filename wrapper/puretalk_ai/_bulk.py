"""Bulk rotation: N single-call flows sharing one gate. No I/O, no clock of its own.

Every item of ``update_many`` runs the very flow ``integrations.update`` runs
(``_call.run_flow``: its retries, the retry policy, ``total_timeout``,
``may_have_been_applied`` over every attempt, redaction, parsing, echo masking). What the
batch adds is the ``Batch``, consulted through each item's ``ItemGate`` before every send,
retries included, and told of every attempt's outcome:

- pacing: requests leave at the rate the server allows (``_pacing``);
- the server's pause: a 429 or 503 that names one holds every worker;
- the stop decision: a doomed batch (the caller key refused, the server unreachable, the
  base URL answering 404), a pause longer than the retry policy waits, a server that has
  answered nothing but 429 for ``STALL_SECONDS``, an interruption, a callback's exception.

Every id is always in one known state: ``ok``, ``failed``, ``unknown`` (sent, outcome not
seen: interrupted or cancelled while in flight, or a success that names no integration)
or ``not_sent``.
"""

from __future__ import annotations

import collections
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NoReturn

import attrs

from puretalk_ai_openapi.models import Integration

from ._call import NotSent
from ._config import check_int
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    PuretalkError,
)
from ._pacing import Pacer, policy_rate
from ._redaction import MaskedKey
from ._response import RawResponse
from ._retry import DEFAULT_RETRY_POLICY, Decision, RetryPolicy

__all__ = [
    "DEFAULT_CONCURRENCY",
    "Batch",
    "BulkItem",
    "ItemGate",
    "UpdateNotOk",
    "UpdateOk",
    "UpdateResult",
    "UpdateState",
    "plan_updates",
]

DEFAULT_CONCURRENCY = 8
UpdateState = Literal["ok", "failed", "unknown", "not_sent"]

# A batch is doomed, and stops, when before any success: the caller key is refused once;
# this many attempts in a row could not connect; or this many answers in a row are 404
# (a wrong base URL answers 404 to every id).
DOOMED_AFTER_CONNECTION_FAILURES = 10
DOOMED_AFTER_NOT_FOUND = 10
# Rate-limited answers that name a pause within the cap are the batch's to wait out: each
# item may meet this many without using up its max_retries (then they are charged)...
RATE_LIMITED_RETRIES = 5
# ... and a batch that has received nothing but 429s for this long stops, every id reported.
STALL_SECONDS = 300.0

UNCONFIRMED_REASON = (
    "Puretalk reported success without naming the integration (results.integration_id "
    "missing or null): the new key is probably live, but the answer cannot be tied to it"
)
Updates = Mapping[str, str] | Iterable[tuple[str, str]]
ResultCallback = Callable[["UpdateResult"], Any]
StartCallback = Callable[[str], Any]


@attrs.frozen(slots=True)
class UpdateOk:
    """A completed update of ``update_many``: the new key is live."""

    integration_id: str
    integration: Integration
    rate_limited: int = attrs.field(default=0, kw_only=True)
    """How many of this id's attempts the server answered 429 (rate limited)."""
    ok: Literal[True] = attrs.field(default=True, init=False)
    state: Literal["ok"] = attrs.field(default="ok", init=False)
    error: None = attrs.field(default=None, init=False)
    reason: None = attrs.field(default=None, init=False)

    def unwrap(self) -> Integration:
        """The updated integration."""
        return self.integration


@attrs.frozen(slots=True)
class UpdateNotOk:
    """An update of ``update_many`` that did not complete.

    ``state`` is ``"failed"`` (``error`` is set, with ``may_have_been_applied``; ``reason``
    is the batch's stop reason when the batch stopped before the retry it was due),
    ``"unknown"`` (it was sent, but the run was interrupted before its outcome was seen,
    or a success did not name the integration (``reason`` says so): the new key may or
    may not be live) or ``"not_sent"``
    (``reason`` says why).
    """

    integration_id: str
    state: Literal["failed", "unknown", "not_sent"]
    error: BaseException | None = None
    reason: str | None = None
    rate_limited: int = attrs.field(default=0, kw_only=True)
    """How many of this id's attempts the server answered 429 (rate limited)."""
    ok: Literal[False] = attrs.field(default=False, init=False)
    integration: None = attrs.field(default=None, init=False)

    def unwrap(self) -> NoReturn:
        """Raise the error (a PuretalkError for unknown and not_sent)."""
        if self.error is not None:
            raise self.error
        raise PuretalkError(f"update of {self.integration_id} is {self.state}: {self.reason}")


UpdateResult = UpdateOk | UpdateNotOk
"""One id's outcome. ``isinstance(result, UpdateOk)`` narrows it under every type checker
(mypy narrows ``if result.ok:`` too), so ``result.integration`` is then an ``Integration``."""


class BulkItem:
    """One id of the batch: its key (masked), and what the batch knows of it."""

    __slots__ = (
        "attempts", "cut", "in_flight", "index", "input_error", "integration_id", "key",
        "last_error", "rate_limited",
    )  # fmt: skip

    def __init__(
        self,
        index: int,
        integration_id: Any,
        key: MaskedKey,
        input_error: Exception | None = None,
    ) -> None:
        self.index = index
        self.integration_id = integration_id
        self.key = key
        self.input_error = input_error  # refused before sending (bad id or key type)
        self.attempts = 0  # times sent
        self.rate_limited = 0  # answers 429
        self.in_flight = False
        self.last_error: PuretalkError | None = None  # its last attempt's, when it failed
        self.cut = False  # a retry it was due was not sent: the batch had stopped

    def __repr__(self) -> str:
        return f"BulkItem({self.index}, {self.integration_id!r})"


def _canonical(integration_id: str) -> str:
    try:
        return str(uuid.UUID(integration_id))
    except ValueError:
        return integration_id


def plan_updates(
    updates: Updates, items: list[BulkItem] | None = None
) -> list[BulkItem] | TypeError | ValueError:
    """The batch's items (appended to `items` as they are planned, so an interruption
    knows them), or the error that refuses the whole input (returned, not raised, so that
    the caller can drop its reference to the keys before raising): not a mapping nor
    pairs, or one integration twice. A bad id or key fails that item alone."""
    if isinstance(updates, Mapping):
        pairs: Iterable[Any] = updates.items()
    elif isinstance(updates, str | bytes) or not isinstance(updates, Iterable):
        return TypeError("updates must be a mapping of id -> key, or (id, key) pairs")
    else:
        pairs = updates
    items = [] if items is None else items
    seen: dict[str, int] = {}
    for position, pair in enumerate(pairs):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            return TypeError(f"updates[{position}] must be an (integration_id, api_key) pair")
        integration_id, api_key = pair
        problem: Exception | None = None
        if isinstance(integration_id, str):
            # Ids equal as UUIDs are one integration: two concurrent writes would race.
            canonical = _canonical(integration_id)
            if canonical in seen:
                return ValueError(
                    f"duplicate integration_id at positions {seen[canonical]} and {position} "
                    "(the same integration); nothing was sent"
                )
            seen[canonical] = position
        else:
            problem = TypeError(
                f"updates[{position}]: integration_id must be a str, not "
                f"{type(integration_id).__name__}"
            )
        if problem is None and not isinstance(api_key, str):
            problem = TypeError(
                f"updates[{position}]: api_key must be a str, not {type(api_key).__name__}"
            )
        items.append(BulkItem(position, integration_id, MaskedKey(api_key), problem))
    return items


def check_batch_options(concurrency: int, max_rate: float | None) -> None:
    check_int("concurrency", concurrency, 1)
    if max_rate is not None and (
        isinstance(max_rate, bool)
        or not isinstance(max_rate, int | float)
        or not math.isfinite(max_rate)
        or max_rate <= 0
    ):
        raise ValueError(
            f"max_rate must be a finite number of updates per second > 0, got {max_rate!r}"
        )


class Batch:
    """What a batch's calls share: the queue, the pacer, the server's pause, the stop
    decision, and every id's result. Not thread-safe: the sync driver holds a lock."""

    def __init__(
        self,
        items: list[BulkItem],
        concurrency: int,
        *,
        target: str = "the server",
        pacer: Pacer | None = None,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    ) -> None:
        self.items = items
        self.policy = policy
        self.max_concurrency = concurrency
        self.target = target
        self.pacer = pacer if pacer is not None else Pacer()
        self.queue: collections.deque[BulkItem] = collections.deque(items)
        self.done: dict[int, UpdateResult] = {}
        self.paused_until = 0.0
        self.stop_reason: str | None = None
        self.callback_error: BaseException | None = None
        self.sent = 0
        self.succeeded = 0
        self._in_a_row: tuple[str, int] = ("", 0)  # the same failure, attempts in a row
        self._throttled_since: float | None = None  # the first 429 since the last success

    @property
    def rate_limited(self) -> int:
        """The answers that were 429, over every item (each item counts its own)."""
        return sum(item.rate_limited for item in self.items)

    @property
    def workers(self) -> int:
        """How many calls run at once: no more than there are updates."""
        return min(self.max_concurrency, len(self.items))

    # --- the queue -------------------------------------------------------------------------

    def take(self) -> BulkItem | None:
        """The next item for a free worker, or None: nothing is left to start."""
        while self.stop_reason is None and self.queue:
            item = self.queue.popleft()
            if item.input_error is None:
                return item
            self._record(item, UpdateNotOk(item.integration_id, "failed", item.input_error))
        return None

    def gate(self, item: BulkItem) -> ItemGate:
        return ItemGate(self, item)

    def stop(self, reason: str) -> None:
        """Start nothing more, retry nothing more; the sends in flight report their outcome."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def callback_raised(self, error: BaseException) -> None:
        """A caller's on_start/on_result raised: stop, and raise the first one at the end."""
        if self.callback_error is None:
            self.callback_error = error
        self.stop(f"a callback raised {type(error).__name__}")

    # --- the gate ----------------------------------------------------------------------------

    def admit(self, item: BulkItem, now: float) -> float | str | None:
        if self.stop_reason is not None:
            item.cut = item.attempts > 0
            return self.stop_reason
        if now < self.paused_until:
            return self.paused_until - now
        paced = self.pacer.wait(now)
        if paced > 0:
            return paced
        self.pacer.take(now)
        item.attempts += 1
        item.in_flight = True
        self.sent += 1
        return None

    def answered(
        self,
        item: BulkItem,
        error: PuretalkError | None,
        headers: Mapping[str, str] | None,
        decision: Decision | None,
        sent_at: float,
        now: float,
    ) -> None:
        item.in_flight = False
        item.last_error = error
        if headers is not None:
            self._announced(headers, now)
        if error is None:
            self.succeeded += 1
            self._in_a_row = ("", 0)
            self._throttled_since = None
            self.pacer.delivered(now, sent_at)
            return
        asked = error.retry_after if isinstance(error, APIStatusError) else None
        status = error.status_code if isinstance(error, APIStatusError) else None
        if status == 429:
            item.rate_limited += 1
            self.pacer.throttled(now, sent_at, asked)
            if self._throttled_since is None:
                self._throttled_since = now
            elif now - self._throttled_since >= STALL_SECONDS:
                self.stop(
                    f"{self.target} answered nothing but 429 (rate limited) for "
                    f"{STALL_SECONDS:.0f} s; nothing more was sent, resume later"
                )
        if decision is not None and decision.too_long:
            self.stop(
                f"the server asked to wait {asked or 0:.0f} s (more than "
                f"{self.policy.max_retry_after:.0f} s); resume later"
            )
            return
        pause = self.policy.server_pause(error)
        if pause is not None:
            self.paused_until = max(self.paused_until, now + pause)  # every worker waits
        if self.succeeded == 0:
            self._doomed(error, status)

    def _announced(self, headers: Mapping[str, str], now: float) -> None:
        """A response's rate-limit headers: a rate the pacer may follow, or a policy so
        slow that the next send would wait longer than the retry policy ever waits."""
        rate = policy_rate(headers)
        if rate is None:
            return
        if rate * self.policy.max_retry_after < 1.0:
            self.stop(
                f"the server's rate-limit policy allows {rate:.3g} requests per second, one "
                f"every more than {self.policy.max_retry_after:.0f} s; resume later"
            )
            return
        self.pacer.announced(rate, now)

    def _doomed(self, error: PuretalkError, status: int | None) -> None:
        """Before any success: the caller key refused, the server unreachable again and
        again, or a base URL that answers 404 to everything. Stop the batch rather than
        send every update into the same wall."""
        if isinstance(error, AuthenticationError | PermissionDeniedError):
            what = "refused the caller key" if status == 401 else "refused the caller key access"
            self.stop(
                f"{self.target} {what} (status {status}) before any update succeeded: check "
                "the caller key (PURETALK_API_KEY, or api_key=); nothing more was sent"
            )
            return
        kind = (
            "connection"
            if isinstance(error, APIConnectionError)
            else "404"
            if isinstance(error, NotFoundError)
            else ""
        )
        last, count = self._in_a_row
        count = count + 1 if kind == last else 1
        self._in_a_row = (kind, count)
        if kind == "connection" and count >= DOOMED_AFTER_CONNECTION_FAILURES:
            self.stop(
                f"{self.target} could not be reached: {count} connection failures in a row "
                "and no success; nothing more was sent"
            )
        elif kind == "404" and count >= DOOMED_AFTER_NOT_FOUND:
            self.stop(
                f"{self.target} answered 404 to the first {count} updates and none "
                "succeeded: check the base URL; nothing more was sent"
            )

    # --- outcomes ----------------------------------------------------------------------------

    def finish(self, item: BulkItem, outcome: Any) -> UpdateResult:
        """Record the item's call: the RawResponse it returned, or what it raised."""
        item.in_flight = False
        if isinstance(outcome, RawResponse):
            if not outcome.confirmed:  # a success that names no integration: not proof
                result: UpdateResult = UpdateNotOk(
                    item.integration_id, "unknown", None, UNCONFIRMED_REASON
                )
            else:
                result = UpdateOk(item.integration_id, outcome.parse())
        elif isinstance(outcome, NotSent):
            result = UpdateNotOk(item.integration_id, "not_sent", reason=outcome.reason)
        else:
            reason = self.stop_reason if item.cut else None  # why it was not retried
            result = UpdateNotOk(item.integration_id, "failed", outcome, reason)
        return self._record(item, result)

    def withdraw(self, item: BulkItem) -> None:
        """The item was taken but will not be sent (its on_start raised)."""
        reason = self.stop_reason or "withdrawn before it was sent"
        self._record(item, UpdateNotOk(item.integration_id, "not_sent", reason=reason))

    def _record(self, item: BulkItem, result: UpdateResult) -> UpdateResult:
        self.done[item.index] = result = _counted(item, result)
        return result

    def results(self) -> list[UpdateResult]:
        """Every id's state now, in input order: what has not finished is unknown (in
        flight, or sent and not yet answered for sure) or not_sent."""
        reason = self.stop_reason or "the run ended before it was sent"
        out: list[UpdateResult] = []
        for item in self.items:
            result = self.done.get(item.index)
            if result is None:
                if item.in_flight:
                    why = f"in flight when the run stopped ({reason})"
                    result = UpdateNotOk(item.integration_id, "unknown", reason=why)
                elif item.last_error is not None:  # answered, then stopped before its retry
                    result = UpdateNotOk(item.integration_id, "failed", item.last_error, reason)
                elif item.input_error is not None:
                    result = UpdateNotOk(item.integration_id, "failed", item.input_error)
                else:
                    result = UpdateNotOk(item.integration_id, "not_sent", reason=reason)
            out.append(_counted(item, result))
        return out

    def outcome(self) -> list[UpdateResult]:
        """Every id's result, or the first callback error, carrying them all."""
        results = self.results()
        if self.callback_error is not None:
            raise attach_results(self.callback_error, results)
        return results


def _counted(item: BulkItem, result: UpdateResult) -> UpdateResult:
    if item.rate_limited == result.rate_limited:
        return result
    return attrs.evolve(result, rate_limited=item.rate_limited)


class ItemGate:
    """One item's view of the batch, for its flow (``_call.Gate``)."""

    __slots__ = ("batch", "item")

    free_retries = RATE_LIMITED_RETRIES

    def __init__(self, batch: Batch, item: BulkItem) -> None:
        self.batch = batch
        self.item = item

    def admit(self, now: float) -> float | str | None:
        return self.batch.admit(self.item, now)

    def answered(
        self,
        error: PuretalkError | None,
        headers: Mapping[str, str] | None,
        decision: Decision | None,
        sent_at: float,
        now: float,
    ) -> None:
        self.batch.answered(self.item, error, headers, decision, sent_at, now)


def attach_results(exc: BaseException, results: list[UpdateResult]) -> BaseException:
    """Every exception leaving update_many carries every id's state."""
    exc.update_results = results  # type: ignore[attr-defined]
    counts = collections.Counter(r.state for r in results)
    exc.add_note(
        "update_many: "
        + ", ".join(f"{counts[s]} {s}" for s in ("ok", "failed", "unknown", "not_sent"))
        + " (every id's state is in .update_results)"
    )
    return exc
