"""The fake's state and its one decision: what to answer a request. No I/O here."""

from __future__ import annotations

import datetime
import functools
import json
import math
import random
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import parse_qs, unquote

import attrs

from .._redaction import REDACTED, redact_json
from ._limits import LimiterKind, make_limiter

if TYPE_CHECKING:
    from .._client import AsyncPuretalk, ClientOptions, Puretalk
    from ._server import FakeServer
    from ._transport import AsyncFakeTransport, FakeTransport

__all__ = ["Answer", "FakeIntegration", "FakePuretalk", "Fault", "RecordedRequest"]

_ROUTE = "/ruth-connect/integrations/"
_FAULT_BODY = b'{"err": true, "msg": "Injected fault"}'


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _uuid_str(value: object) -> str:
    # The spec makes integration_id a uuid; a fake that stored anything else would answer
    # with bodies the real API never sends.
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"integration_id must be a UUID, got {value!r}") from None


@attrs.define(slots=True)
class FakeIntegration:
    """One stored integration. ``api_key`` is the stored third-party key."""

    integration_id: str = attrs.field(converter=_uuid_str)
    app_name: str = "elevenlabs"
    friendly_app_name: str = "ElevenLabs"
    logo: str = "https://cdn.puretalk.ai/logos/elevenlabs.png"
    api_key: str = attrs.field(default="", repr=False)
    tools: list[str] = attrs.field(factory=list)
    is_custom_tool: bool = False
    created_at: datetime.datetime = attrs.field(factory=_utcnow)
    updated_at: datetime.datetime = attrs.field(factory=_utcnow)
    # Fields the spec has beyond the ones above (a field Puretalk adds reaches the fake
    # through `make generate` alone): stored as given and served back.
    extra: dict[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The spec's RuthConnectIntegration object: only the fields the generated model
        has (a field the spec drops is no longer served, through `make generate` alone)."""
        served = {
            **self.extra,
            "integration_id": self.integration_id,
            "app_name": self.app_name,
            "friendly_app_name": self.friendly_app_name,
            "logo": self.logo,
            "data": {"api_key": self.api_key},
            "tools": list(self.tools),
            "is_custom_tool": self.is_custom_tool,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": self.updated_at.isoformat().replace("+00:00", "Z"),
        }
        answer = {name: value for name, value in served.items() if _is_spec_field(name)}
        # A field the spec added that this integration holds no value for: a plausible
        # one from its type, so the fake answers in the spec's whole shape.
        for name, annotation in _model_fields().items():
            answer.setdefault(name, _plausible(name, annotation))
        return answer

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> FakeIntegration:
        """Seed data: the spec's shape, with ``api_key`` flat or under ``data``."""
        fields: dict[str, Any] = dict(item)
        data = fields.pop("data", None)
        if isinstance(data, Mapping) and "api_key" in data:
            fields.setdefault("api_key", data["api_key"])
        for stamp in ("created_at", "updated_at"):
            if isinstance(fields.get(stamp), str):
                fields[stamp] = datetime.datetime.fromisoformat(fields[stamp])
        fields.setdefault("integration_id", str(uuid.uuid4()))
        own = attrs.fields_dict(cls)
        extra = dict(fields.pop("extra", None) or {})
        for name in [n for n in fields if n not in own]:
            if not _is_spec_field(name):
                raise TypeError(f"{name!r} is not a field of the spec's integration")
            extra[name] = fields.pop(name)
        return cls(**fields, extra=extra)


def spec_model() -> type[Any]:
    """The generated model of an integration (read when needed, so it follows the spec)."""
    from puretalk_ai_openapi.models import Integration

    return Integration


def _model_fields() -> dict[str, str]:
    """The generated model's fields and their annotations (as the generator wrote them)."""
    model: Any = spec_model()
    return {f.name: str(f.type) for f in attrs.fields(model) if f.name != "additional_properties"}


def _plausible(name: str, annotation: str) -> Any:
    """A value of the field's type, for a field the fake was never given (see to_json)."""
    kind = annotation.split("|")[0].strip()
    if kind.startswith("list"):
        return []
    if kind == "datetime.datetime":
        return "2025-01-01T00:00:00Z"
    if kind == "UUID":
        return str(uuid.UUID(int=0))
    simple: dict[str, Any] = {"str": name, "bool": False, "int": 0, "float": 0.0}
    return simple.get(kind, {})  # a nested model: an object


def _is_spec_field(name: str) -> bool:
    """A JSON field the generated model knows (an unknown one lands in its extras)."""
    model: Any = spec_model()  # a class: hashable, though typeshed's type[Any] says not
    return _model_knows(model, name)


@functools.cache  # per model: a fake that follows another model gets answers of its own
def _model_knows(model: Any, name: str) -> bool:  # a generated model class
    try:
        parsed = model.from_dict({name: None})
    except Exception:  # a known field that refuses None (a uuid, a date): still known
        return True
    return name not in parsed.additional_properties


@attrs.frozen(slots=True)
class Fault:
    """One injected failure. ``kind`` is "status", "drop", "reset" or "delay"."""

    kind: str
    status: int = 503
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = attrs.field(factory=lambda: _FAULT_BODY)
    seconds: float = 0.0


@attrs.frozen(slots=True)
class Answer:
    """What to do with one request: wait ``delay``, then drop or send status/headers/body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    delay: float = 0.0
    drop: bool = False
    reset: bool = False  # start the response, then reset the connection mid-way


@attrs.frozen(slots=True)
class RecordedRequest:
    """A request the fake received. Its repr masks the caller key and the new key."""

    method: str
    path: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    status: int | None  # None: the connection was dropped or reset
    at: float = attrs.field(factory=time.monotonic, repr=False)  # when it arrived (monotonic)

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def api_key(self) -> str | None:
        """The X-API-KEY header the request carried."""
        return self.headers.get("x-api-key")

    def __repr__(self) -> str:
        shown = redact_json(self.json, ()) if self.json is not None else f"<{len(self.body)} bytes>"
        return f"RecordedRequest({self.method} {self.path} -> {self.status}, json={shown!r})"


def _json_answer(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Answer:
    # Every answer names its request, as APIs do for support (``x-request-id``).
    request_id = f"req_{uuid.uuid4().hex[:24]}"
    return Answer(
        status=status,
        headers={"content-type": "application/json", "x-request-id": request_id, **(headers or {})},
        body=json.dumps(payload).encode(),
    )


def _error(status: int, msg: str) -> Answer:
    return _json_answer(status, {"err": True, "msg": msg})


class FakePuretalk:
    """A faithful in-memory fake of ``PATCH /ruth-connect/integrations/{integration_id}``.

    Use it in-process through ``transport()`` / ``async_transport()``, or as a real HTTP
    server on 127.0.0.1 through ``serve()``. Thread-safe.
    """

    def __init__(
        self,
        api_key: str = "test-api-key",
        *,
        integrations: Iterable[FakeIntegration | Mapping[str, Any]] = (),
        base_path: str = "/api",
        rate_limit: float | None = None,
        rate_limiter: LimiterKind = "token-bucket",
        rate_window: float = 1.0,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        fail_status: int = 503,
        seed: int | None = None,
    ) -> None:
        """`rate_limit`: requests per second; past it, 429 with ``Retry-After`` and
        ``retry-after-ms``. `rate_limiter`: ``"token-bucket"`` (a bucket holding a tenth of
        a second's worth, at least one) or ``"fixed-window"`` (``rate_limit * rate_window``
        requests per window of `rate_window` seconds). `latency`: seconds every answer
        waits before it is sent. `fail_rate`: the share of requests (beyond those queued
        by ``fail_next`` and friends) answered `fail_status` instead, drawn from a random
        generator seeded with `seed`. A list is paged by ``page`` and ``limit`` (1-100)."""
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be within [0, 1]")
        if not 400 <= fail_status <= 599:
            raise ValueError("fail_status must be an error status (400-599)")
        if rate_limit is not None and not rate_limit > 0:
            raise ValueError("rate_limit must be > 0 requests per second")
        if not rate_window > 0:
            raise ValueError("rate_window must be > 0 seconds")
        if not latency >= 0:
            raise ValueError("latency must be >= 0 seconds")
        self._api_key = api_key
        self.base_path: str = base_path.rstrip("/")
        self.rate_limit = rate_limit
        self.latency = latency
        self._limiter = (
            None
            if rate_limit is None
            else make_limiter(rate_limit, rate_limiter, rate_window, time.monotonic())
        )
        self.integrations: dict[str, FakeIntegration] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._fail_rate = fail_rate
        self._random_fault = Fault(
            "status", status=fail_status, headers={"content-type": "application/json"},
            body=_FAULT_BODY,
        )  # fmt: skip
        self._random = random.Random(seed)
        for item in integrations:
            self.add_integration(item)

    def __repr__(self) -> str:
        return f"FakePuretalk(api_key={REDACTED!r}, integrations={len(self.integrations)})"

    # --- ways to reach it ------------------------------------------------------------------

    def transport(self) -> FakeTransport:
        """An httpx transport answering from this fake, in-process."""
        from ._transport import FakeTransport

        return FakeTransport(self)

    def async_transport(self) -> AsyncFakeTransport:
        """An httpx async transport answering from this fake, in-process."""
        from ._transport import AsyncFakeTransport

        return AsyncFakeTransport(self)

    def serve(self, port: int = 0) -> FakeServer:
        """A real HTTP server on 127.0.0.1; use as ``with fake.serve() as server:``."""
        from ._server import FakeServer

        return FakeServer(self, port=port)

    def client(self, **options: Unpack[ClientOptions]) -> Puretalk:
        """A ``Puretalk`` wired to this fake in-process; options as for ``Puretalk``."""
        from .._client import Puretalk
        from .._httpx import httpx

        options.setdefault("api_key", self._api_key)
        options.setdefault("base_url", f"https://api.puretalk.test{self.base_path}")
        return Puretalk(**options, http_client=httpx.Client(transport=self.transport()))

    def async_client(self, **options: Unpack[ClientOptions]) -> AsyncPuretalk:
        """An ``AsyncPuretalk`` wired to this fake in-process; options as for the client."""
        from .._client import AsyncPuretalk
        from .._httpx import httpx

        options.setdefault("api_key", self._api_key)
        options.setdefault("base_url", f"https://api.puretalk.test{self.base_path}")
        transport = self.async_transport()
        return AsyncPuretalk(**options, http_client=httpx.AsyncClient(transport=transport))

    # --- seeding and fault injection -------------------------------------------------------

    def add_integration(
        self, integration: FakeIntegration | Mapping[str, Any] | None = None, **fields: Any
    ) -> FakeIntegration:
        """Store an integration: a FakeIntegration, its JSON shape, or keyword fields."""
        if integration is None:
            integration = FakeIntegration.from_json(fields)
        elif not isinstance(integration, FakeIntegration):
            integration = FakeIntegration.from_json({**integration, **fields})
        with self._lock:
            self.integrations[integration.integration_id] = integration
        return integration

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        retry_after: float | None = None,
        retry_after_ms: float | None = None,
        body: bytes | None = None,
    ) -> None:
        """The next `count` requests get `status` (with Retry-After headers if given)."""
        headers = {"content-type": "application/json"}
        if retry_after is not None:
            headers["retry-after"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = f"{retry_after_ms:g}"
        fault = Fault("status", status=status, headers=headers, body=body or _FAULT_BODY)
        self._add_faults(fault, count)

    def drop_next(self, count: int = 1) -> None:
        """The next `count` requests have their connection dropped without a response."""
        self._add_faults(Fault("drop"), count)

    def reset_next(self, count: int = 1) -> None:
        """The next `count` requests get the start of a response, then a connection reset."""
        self._add_faults(Fault("reset"), count)

    def delay_next(self, count: int = 1, *, seconds: float) -> None:
        """The next `count` requests are answered normally, but only after `seconds`."""
        self._add_faults(Fault("delay", seconds=seconds), count)

    def _add_faults(self, fault: Fault, count: int) -> None:
        with self._lock:
            self._faults.extend([fault] * count)

    # --- the decision ---------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request (headers with lower-case names) and record it."""
        with self._lock:
            # A request the rate limit turns away never reaches the queued faults.
            answer = self._rate_limited() or self._answer(
                self.fault_for(method, raw_path), method, raw_path, headers, body
            )
            if self.latency:
                answer = attrs.evolve(answer, delay=answer.delay + self.latency)
            self.requests.append(
                RecordedRequest(
                    method=method,
                    path=raw_path,
                    headers=dict(headers),
                    body=body,
                    status=None if answer.drop or answer.reset else answer.status,
                )
            )
        return answer

    def record_dropped(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> None:
        """Record a request whose client went away before its body was complete."""
        with self._lock:
            self.requests.append(
                RecordedRequest(method, raw_path, dict(headers), body, status=None)
            )

    def _rate_limited(self) -> Answer | None:
        """429 when the limiter turns the request away (called with the lock held)."""
        if self._limiter is None:
            return None
        wait = self._limiter.admit(time.monotonic())
        if wait is None:
            return None
        return _json_answer(
            429,
            {"err": True, "msg": "Too many requests"},
            headers={
                "retry-after": str(max(1, round(wait + 0.5))),
                "retry-after-ms": str(math.ceil(wait * 1000)),
            },
        )

    def fault_for(self, method: str, raw_path: str) -> Fault | None:
        """The fault for this request: by default the next one queued by ``fail_next`` etc.

        Override it for a schedule of your own (keyed by path, say, so that concurrent
        clients still meet a deterministic plan). Called with the fake's lock held.
        """
        if self._faults:
            return self._faults.pop(0)
        if self._fail_rate and self._random.random() < self._fail_rate:
            return self._random_fault
        return None

    def _answer(
        self,
        fault: Fault | None,
        method: str,
        raw_path: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        if fault is not None and fault.kind == "drop":
            return Answer(status=0, headers={}, body=b"", drop=True)
        if fault is not None and fault.kind == "reset":
            return Answer(status=200, headers={}, body=b"", reset=True)
        if fault is not None and fault.kind == "status":
            return Answer(status=fault.status, headers=fault.headers, body=fault.body)
        answer = self._route(method, raw_path, headers, body)
        if fault is not None and fault.kind == "delay":
            return attrs.evolve(answer, delay=fault.seconds)
        return answer

    def _route(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """The integration resource, as the generated client reaches it: PATCH (the spec's
        one operation), GET and DELETE of one integration, GET of the collection (paged by
        ``page``/``limit``). Anything else is 404; a wrong key 401; another method 405."""
        path, _, query = raw_path.partition("?")
        collection = self.base_path + _ROUTE.rstrip("/")
        if path == collection:
            segment = None
        elif path.startswith(collection + "/") and "/" not in path[len(collection) + 1 :]:
            segment = path[len(collection) + 1 :]
            if not segment:
                return _error(404, "Route not found")
        else:
            return _error(404, "Route not found")
        allowed = ("GET",) if segment is None else ("GET", "PATCH", "DELETE")
        if method not in allowed:
            return _error(405, "Method not allowed")
        if headers.get("x-api-key") != self._api_key:
            return _error(401, "Unauthorized: missing or invalid X-API-KEY")
        if segment is None:
            return self._list(query)
        integration_id = unquote(segment).lower()
        integration = self.integrations.get(integration_id)
        if method == "PATCH":
            return self._update(integration, body)
        if integration is None:
            return _error(404, "Integration not found")
        if method == "DELETE":
            del self.integrations[integration_id]
            return _ok("Integration deleted successfully", integration.to_json())
        return _ok("Integration fetched successfully", integration.to_json())

    def _list(self, query: str) -> Answer:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            page, limit = int(params.get("page", "1")), int(params.get("limit", "20"))
        except ValueError:
            return _error(422, "page and limit must be integers")
        if page < 1 or not 1 <= limit <= 100:
            return _error(422, "page must be >= 1 and limit between 1 and 100")
        stored = list(self.integrations.values())
        chunk = stored[(page - 1) * limit : page * limit]
        return _json_answer(
            200,
            {
                "msg": "Integrations fetched successfully",
                "err": False,
                "page": page,
                "total": len(stored),
                "results": [i.to_json() for i in chunk],
            },
        )

    def _update(self, integration: FakeIntegration | None, body: bytes) -> Answer:
        try:
            payload = json.loads(body)
        except ValueError:
            return _error(422, "Request body must be JSON")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("api_key"), str):
            return _error(422, "Request body must be {'data': {'api_key': <string>}}")
        if integration is None:
            return _error(404, "Integration not found")
        integration.api_key = data["api_key"]
        now = _utcnow()
        # Strictly later, even when two updates land within the clock's resolution.
        integration.updated_at = max(
            now, integration.updated_at + datetime.timedelta(microseconds=1)
        )
        return _ok("Integration updated successfully", integration.to_json())


def _ok(msg: str, results: Any) -> Answer:
    return _json_answer(200, {"msg": msg, "err": False, "results": results})
