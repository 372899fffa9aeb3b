"""Bulk rotation as an I/O-free state machine; the resources' update_many drive it.

Every id is always in one known state: ``ok``, ``failed``, ``unknown`` (sent, outcome not
seen: interrupted or cancelled while in flight) or ``not_sent``. The runner decides what
starts next, shares one pause among all workers when the server asks for one, paces the
requests at the rate the server allows (``_pacing``), stops a batch that is doomed (the
caller key refused, the server unreachable) and retries retryable failures itself, so a
batch slows down as a whole instead of each worker on its own.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NoReturn

import attrs

from puretalk_ai_openapi.models import Integration

from ._config import check_int
from ._exceptions import APIConnectionError, APIStatusError
from ._pacing import Pacer, policy_rate
from ._redaction import MaskedKey
from ._response import RawResponse
from ._retry import DEFAULT_RETRY_POLICY, RetryPolicy

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BulkRunner",
    "UpdateNotOk",
    "UpdateOk",
    "UpdateResult",
    "UpdateState",
    "plan_updates",
]

DEFAULT_CONCURRENCY = 8
SLOT_WAIT = 0.05  # how long a worker waits for a free slot before asking again

UpdateState = Literal["ok", "failed", "unknown", "not_sent"]

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

    ``state`` is ``"failed"`` (``error`` is set), ``"unknown"`` (it was sent, but the run
    was interrupted before its outcome was seen, or a success did not name the integration
    (``reason`` says so): the new key may or may not be live) or ``"not_sent"``
    (``reason`` says why).
    """

    integration_id: str
    state: Literal["failed", "unknown", "not_sent"]
    error: BaseException | None = None
    reason: str | None = None
    ok: Literal[False] = attrs.field(default=False, init=False)
    integration: None = attrs.field(default=None, init=False)

    def unwrap(self) -> NoReturn:
        """Raise the error (a PuretalkError for unknown and not_sent)."""
        if self.error is not None:
            raise self.error
        from ._exceptions import PuretalkError

        raise PuretalkError(f"update of {self.integration_id} is {self.state}: {self.reason}")


UpdateResult = UpdateOk | UpdateNotOk
"""One id's outcome. ``if result.ok:`` narrows it to ``UpdateOk`` (mypy; pyright narrows
``if result.ok is True:``), so ``result.integration`` is then an ``Integration``."""


class BulkItem:
    __slots__ = ("attempts", "failures", "index", "integration_id", "key", "not_before", "sent_at")

    def __init__(self, index: int, integration_id: str, key: MaskedKey) -> None:
        self.index = index
        self.integration_id = integration_id
        self.key = key
        self.attempts = 0  # times sent
        self.failures = 0  # retryable failures that count against max_retries (not 429s)
        self.not_before = 0.0
        self.sent_at = 0.0

    def __repr__(self) -> str:
        return f"BulkItem({self.index}, {self.integration_id!r})"


def _canonical(integration_id: str) -> str:
    try:
        return str(uuid.UUID(integration_id))
    except ValueError:
        return integration_id


def plan_updates(
    updates: Updates,
    concurrency: int,
    max_retries: int,
    target: str = "the server",
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> BulkRunner | TypeError | ValueError:
    """The runner for these updates, or the error that refuses them (returned, not raised,
    so that the caller can drop its reference to the keys before raising). ``target``
    names the server in messages (the base URL; never a key)."""
    try:
        check_int("concurrency", concurrency, 1)
        check_int("max_retries", max_retries, 0)
    except (TypeError, ValueError) as exc:
        return exc
    if isinstance(updates, Mapping):
        pairs: list[Any] = list(updates.items())
    elif isinstance(updates, str | bytes) or not isinstance(updates, Iterable):
        return TypeError("updates must be a mapping of id -> key, or (id, key) pairs")
    else:
        pairs = []
        for position, pair in enumerate(updates):
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                return TypeError(f"updates[{position}] must be an (integration_id, api_key) pair")
            pairs.append(pair)
    items: list[BulkItem] = []
    seen: dict[str, int] = {}
    for position, (integration_id, api_key) in enumerate(pairs):
        if isinstance(integration_id, str):
            # Ids equal as UUIDs are one integration: two concurrent writes would race.
            canonical = _canonical(integration_id)
            if canonical in seen:
                return ValueError(
                    f"duplicate integration_id at positions {seen[canonical]} and {position} "
                    "(the same integration); nothing was sent"
                )
            seen[canonical] = position
        items.append(BulkItem(position, integration_id, MaskedKey(api_key)))
    return BulkRunner(items, concurrency, max_retries, target=target, policy=policy)


# A batch is doomed, and stops, when its first answers are all refusals of the caller key
# or when this many connection failures in a row come before any success.
DOOMED_AFTER_CONNECTION_FAILURES = 10


class BulkRunner:
    """What starts next, and what each outcome means for the batch. No I/O, no clock of
    its own: every method takes ``now``. Not thread-safe: the sync driver holds a lock.

    ``concurrency`` caps the requests in flight; ``pacer`` sets how fast they leave (a
    token bucket whose rate starts slow, doubles until the first 429 and then follows the
    server's limit, see ``_pacing``). A 429 whose pause is within the cap is the batch's to wait
    out: it never uses up an item's ``max_retries``.
    """

    def __init__(
        self,
        items: list[BulkItem],
        concurrency: int,
        max_retries: int,
        *,
        target: str = "the server",
        pacer: Pacer | None = None,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    ) -> None:
        self.items = items
        self.policy = policy
        self.max_concurrency = concurrency  # the most in flight; the pacer sets the rate
        self.max_retries = max_retries
        self.target = target
        self.pacer = pacer if pacer is not None else Pacer()
        self.queue: collections.deque[BulkItem] = collections.deque(items)
        self.in_flight: dict[int, BulkItem] = {}
        self.done: dict[int, UpdateResult] = {}
        self.paused_until = 0.0
        self.stop_reason: str | None = None
        self.callback_error: BaseException | None = None
        self.sent = 0
        self.rate_limited = 0
        self.succeeded = 0
        self._connection_failures = 0  # in a row

    # --- scheduling ------------------------------------------------------------------------

    def next(self, now: float) -> BulkItem | float | None:
        """An item to send now, seconds to wait before asking again, or None: nothing is
        left for this worker to start."""
        if self.stop_reason is not None or not self.queue:
            return None
        if now < self.paused_until:
            return self.paused_until - now
        if len(self.in_flight) >= self.max_concurrency:
            return SLOT_WAIT
        paced = self.pacer.wait(now)
        if paced > 0:
            return paced
        # Retries wait at the front until their own time; fresh items pass them meanwhile,
        # so one item's backoff never stalls the batch (a server's ask does, above).
        for position, item in enumerate(self.queue):
            if item.not_before <= now:
                del self.queue[position]
                break
        else:
            return min(min(i.not_before for i in self.queue) - now, SLOT_WAIT)
        self.pacer.take(now)
        item.attempts += 1
        item.sent_at = now
        self.in_flight[item.index] = item
        self.sent += 1
        return item

    def stop(self, reason: str) -> None:
        """Start nothing more (the in-flight updates still report their outcome)."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def callback_raised(self, error: BaseException) -> None:
        """A caller's on_start/on_result raised: stop, and raise the first one at the end."""
        if self.callback_error is None:
            self.callback_error = error
        self.stop(f"a callback raised {type(error).__name__}")

    def withdraw(self, item: BulkItem) -> None:
        """The item was handed out but will not be sent (its on_start raised)."""
        self.in_flight.pop(item.index, None)
        item.attempts -= 1
        self.sent -= 1
        if item.attempts:  # sent before: its earlier attempt may have gone live
            self._requeue(item, item.not_before)
            return
        reason = self.stop_reason or "withdrawn before it was sent"
        self._record(item, UpdateNotOk(item.integration_id, "not_sent", reason=reason))

    @property
    def workers(self) -> int:
        """How many workers the drivers start: no more than there are updates."""
        return min(self.max_concurrency, len(self.items))

    def outcome(self) -> list[UpdateResult]:
        """Every id's result, or the first callback error, carrying them all."""
        results = self.results()
        if self.callback_error is not None:
            raise attach_results(self.callback_error, results)
        return results

    # --- outcomes --------------------------------------------------------------------------

    def finish(self, item: BulkItem, outcome: Any, now: float) -> UpdateResult | None:
        """Record one attempt's outcome (the RawResponse of the update, its Integration, or
        the exception that stood for it): the item's result, or None when it is retried."""
        self.in_flight.pop(item.index, None)
        confirmed = True
        if isinstance(outcome, RawResponse):
            # A success's rate-limit headers may announce the server's policy.
            self.pacer.announced(policy_rate(outcome.headers), now)
            confirmed = outcome.confirmed
            outcome = outcome.parse()
        if isinstance(outcome, Integration):
            self._connection_failures = 0
            self.pacer.delivered(now)
            if not confirmed:  # a success that names no integration: not proof for this id
                result = UpdateNotOk(item.integration_id, "unknown", None, UNCONFIRMED_REASON)
                return self._record(item, result)
            self.succeeded += 1
            return self._record(item, UpdateOk(item.integration_id, outcome))
        status = outcome.status_code if isinstance(outcome, APIStatusError) else None
        asked = outcome.retry_after if isinstance(outcome, APIStatusError) else None
        if isinstance(outcome, APIConnectionError):
            self._connection_failures += 1
        elif status is not None:
            self._connection_failures = 0
        # The one retry policy decides; the batch adds what only a batch knows: the pacer,
        # one shared pause, and stopping a doomed or stopped run.
        decision = self.policy.decide(outcome, item.failures, self.max_retries)
        if status == 429:
            self.rate_limited += 1
            self.pacer.throttled(now, item.sent_at, asked)
            self.pacer.announced(policy_rate(outcome.response.headers), now)
        if decision.too_long:
            self.stop(
                f"the server asked to wait {asked or 0:.0f} s (more than "
                f"{self.policy.max_retry_after:.0f} s); resume later"
            )
            return self._fail(item, outcome)
        if status != 429 and self.succeeded == 0 and self._doomed(outcome, status):
            return self._fail(item, outcome)
        pause = self.policy.server_pause(outcome)
        if pause is not None:
            self.paused_until = max(self.paused_until, now + pause)  # every worker waits
        if not decision.retry or self.stop_reason is not None:
            return self._fail(item, outcome)
        if decision.charged:  # a 429's named pause never uses up the item's max_retries
            item.failures += 1
        self._requeue(item, now + decision.delay)
        return None

    def _doomed(self, error: Any, status: int | None) -> bool:
        """Before any success: the caller key refused, or the server unreachable again and
        again. Stop the batch rather than send every update into the same wall."""
        if status in (401, 403):
            what = "refused the caller key" if status == 401 else "refused the caller key access"
            self.stop(
                f"{self.target} {what} (status {status}) before any update succeeded: check "
                "the caller key (PURETALK_API_KEY, or api_key=); nothing more was sent"
            )
        elif self._connection_failures >= DOOMED_AFTER_CONNECTION_FAILURES:
            self.stop(
                f"{self.target} could not be reached: {self._connection_failures} connection "
                "failures in a row and no success; nothing more was sent"
            )
        else:
            return False
        return True

    def _requeue(self, item: BulkItem, not_before: float) -> None:
        item.not_before = not_before
        self.queue.appendleft(item)

    def _fail(self, item: BulkItem, error: Any) -> UpdateResult:
        return self._record(item, UpdateNotOk(item.integration_id, "failed", error=error))

    def _record(self, item: BulkItem, result: UpdateResult) -> UpdateResult:
        self.done[item.index] = result
        return result

    def results(self) -> list[UpdateResult]:
        """Every id's state now, in input order: what has not finished is unknown (in
        flight) or not_sent."""
        reason = self.stop_reason or "the run ended before it was sent"
        out: list[UpdateResult] = []
        for item in self.items:
            result = self.done.get(item.index)
            if result is None:
                if item.index in self.in_flight:
                    result = UpdateNotOk(
                        item.integration_id,
                        "unknown",
                        reason=f"in flight when the run stopped ({reason})",
                    )
                elif item.attempts:
                    result = UpdateNotOk(
                        item.integration_id,
                        "unknown",
                        reason=f"sent, then waiting to be retried when the run stopped ({reason})",
                    )
                else:
                    result = UpdateNotOk(item.integration_id, "not_sent", reason=reason)
            out.append(result)
        return out

    def finished(self) -> bool:
        return not self.in_flight and (self.stop_reason is not None or not self.queue)


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
