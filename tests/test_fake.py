"""puretalk_ai.testing: the fake behaves as the spec says, in-process and over real HTTP."""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

import puretalk_ai
from puretalk_ai import AsyncPuretalk, Puretalk
from puretalk_ai.testing import FakePuretalk
from puretalk_ai_openapi.models import IntegrationResponse
from tests.helpers import spec_fields
from tests.secrets import CALLER_KEY, NEW_KEY

ID = "0b6f2a4e-8c1d-4e2f-9a3b-5c6d7e8f9a0b"
T0 = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def seeded() -> FakePuretalk:
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(
        integration_id=ID, app_name="deepgram", api_key="old", tools=["stt"],
        created_at=T0, updated_at=T0,
    )  # fmt: skip
    return fake


class Mode:
    """Reach the fake in-process (sync/async transport) or over HTTP (sync/async client)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @contextmanager
    def base(self, fake: FakePuretalk) -> Iterator[dict[str, Any]]:
        if self.name.startswith("server"):
            with fake.serve() as server:
                yield {"base_url": server.base_url}
        else:
            yield {"base_url": "https://api.puretalk.test/api"}

    def update(self, fake: FakePuretalk, integration_id: str = ID, **options: Any) -> Any:
        call = {k: options.pop(k) for k in ("timeout", "max_retries") if k in options}
        options.setdefault("api_key", CALLER_KEY)
        is_async = self.name.endswith("async")
        with self.base(fake) as base:
            options = {**base, **options}
            if not is_async:
                if self.name.startswith("transport"):
                    options["http_client"] = httpx.Client(transport=fake.transport())
                with Puretalk(**options) as client:
                    return client.integrations.update(integration_id, api_key=NEW_KEY, **call)

            async def run() -> Any:
                if self.name.startswith("transport"):
                    options["http_client"] = httpx.AsyncClient(transport=fake.async_transport())
                async with AsyncPuretalk(**options) as client:
                    return await client.integrations.update(integration_id, api_key=NEW_KEY, **call)

            return asyncio.run(run())


@pytest.fixture(params=["transport-sync", "transport-async", "server-sync", "server-async"])
def mode(request: pytest.FixtureRequest) -> Mode:
    return Mode(request.param)


def test_patch_stores_the_key_and_bumps_updated_at(mode: Mode) -> None:
    fake = seeded()
    integration = mode.update(fake)
    stored = fake.integrations[ID]
    assert stored.api_key == NEW_KEY
    assert stored.updated_at > T0
    assert stored.created_at == T0
    assert integration.data.api_key == NEW_KEY
    assert integration.app_name == "deepgram"
    assert integration.tools == ["stt"]
    assert integration.updated_at == stored.updated_at


def test_the_answer_has_the_spec_shape() -> None:
    fake = seeded()
    answer = fake.handle(
        "PATCH", f"/api/ruth-connect/integrations/{ID}", {"x-api-key": CALLER_KEY},
        json.dumps({"data": {"api_key": NEW_KEY}}).encode(),
    )  # fmt: skip
    body = json.loads(answer.body)
    assert answer.status == 200
    assert set(body) == {"msg", "err", "results"}
    assert body["err"] is False
    assert set(body["results"]) == spec_fields()  # exactly the generated model's fields
    parsed = IntegrationResponse.from_dict(body)
    assert parsed.additional_properties == {}


def test_unknown_id_is_404_with_err(mode: Mode) -> None:
    fake = seeded()
    with pytest.raises(puretalk_ai.NotFoundError) as caught:
        mode.update(fake, "nope")
    assert caught.value.body == {"err": True, "msg": "Integration not found"}


@pytest.mark.parametrize("key", [None, "wrong"])
def test_missing_or_wrong_key_is_401(mode: Mode, key: str | None) -> None:
    fake = seeded()
    headers = {} if key is None else {"x-api-key": key}
    answer = fake.handle(
        "PATCH", f"/api/ruth-connect/integrations/{ID}", headers, b'{"data": {"api_key": "k"}}'
    )
    assert answer.status == 401
    if key is not None:
        with pytest.raises(puretalk_ai.AuthenticationError):
            mode.update(fake, api_key=key)
    assert fake.integrations[ID].api_key == "old"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b"{}", b'{"data": "k"}', b'{"data": {}}', b'{"data": {"api_key": 5}}'],
)
def test_a_body_that_breaks_the_spec_is_422(body: bytes) -> None:
    fake = seeded()
    answer = fake.handle(
        "PATCH", f"/api/ruth-connect/integrations/{ID}", {"x-api-key": CALLER_KEY}, body
    )
    assert answer.status == 422
    assert json.loads(answer.body)["err"] is True
    assert fake.integrations[ID].api_key == "old"


def test_other_routes_and_methods() -> None:
    fake = seeded()
    auth = {"x-api-key": CALLER_KEY}
    one = f"/api/ruth-connect/integrations/{ID}"
    fetched = fake.handle("GET", one, auth, b"")
    assert fetched.status == 200
    assert json.loads(fetched.body)["results"]["integration_id"] == ID
    assert fake.handle("POST", one, auth, b"").status == 405
    assert fake.handle("PUT", one, auth, b"").status == 405
    assert fake.handle("PATCH", "/api/ruth-connect/integrations", auth, b"").status == 405
    assert fake.handle("GET", one, {"x-api-key": "wrong-key-123"}, b"").status == 401
    assert fake.handle("GET", "/api/ruth-connect/integrations?limit=0", auth, b"").status == 422
    listed = json.loads(fake.handle("GET", "/api/ruth-connect/integrations", auth, b"").body)
    assert [i["integration_id"] for i in listed["results"]] == [ID]
    assert listed["total"] == 1
    assert fake.handle("DELETE", one, auth, b"").status == 200
    assert fake.handle("GET", one, auth, b"").status == 404
    assert fake.handle("DELETE", one, auth, b"").status == 404
    assert fake.handle("GET", "/api/other", auth, b"").status == 404
    assert fake.handle("PATCH", "/api/ruth-connect/integrations/", auth, b"").status == 404
    assert fake.handle("PATCH", "/api/ruth-connect/integrations/a/b", auth, b"").status == 404


def test_an_encoded_slash_stays_one_id_and_ids_are_case_insensitive() -> None:
    fake = seeded()
    with pytest.raises(puretalk_ai.NotFoundError, match="Integration not found"):
        fake.client().integrations.update(f"{ID}/x", api_key=NEW_KEY)
    fake.client().integrations.update(ID.upper(), api_key=NEW_KEY)
    assert fake.integrations[ID].api_key == NEW_KEY


def test_ids_must_be_uuids_as_in_the_spec() -> None:
    with pytest.raises(ValueError, match="UUID"):
        FakePuretalk().add_integration(integration_id="int-1")


def test_injected_status_with_retry_after_is_retried(mode: Mode) -> None:
    fake = seeded()
    fake.fail_next(2, status=503, retry_after_ms=1)
    assert mode.update(fake).data.api_key == NEW_KEY
    assert [r.status for r in fake.requests] == [503, 503, 200]
    assert fake.requests[0].json == {"data": {"api_key": NEW_KEY}}


def test_injected_retry_after_header_reaches_the_client() -> None:
    fake = seeded()
    fake.fail_next(1, status=429, retry_after=7)
    with pytest.raises(puretalk_ai.RateLimitError) as caught:
        fake.client(max_retries=0).integrations.update(ID, api_key=NEW_KEY)
    assert caught.value.response.headers["retry-after"] == "7"


def test_dropped_connections_are_retried(mode: Mode) -> None:
    fake = seeded()
    fake.drop_next(2)
    assert mode.update(fake).data.api_key == NEW_KEY
    assert [r.status for r in fake.requests] == [None, None, 200]


def test_dropped_connections_beyond_the_retries(mode: Mode) -> None:
    fake = seeded()
    fake.drop_next(3)
    with pytest.raises(puretalk_ai.APIConnectionError):
        mode.update(fake)


def test_a_delay_beyond_the_timeout_is_a_timeout(mode: Mode) -> None:
    fake = seeded()
    fake.delay_next(1, seconds=0.5)
    with pytest.raises(puretalk_ai.APITimeoutError):
        mode.update(fake, timeout=0.1, max_retries=0)


def test_a_short_delay_just_delays(mode: Mode) -> None:
    fake = seeded()
    fake.delay_next(1, seconds=0.05)
    assert mode.update(fake, timeout=5).data.api_key == NEW_KEY


def test_recorded_requests_keep_values_but_repr_hides_them() -> None:
    fake = seeded()
    fake.client().integrations.update(ID, api_key=NEW_KEY)
    (request,) = fake.requests
    assert request.method == "PATCH"
    assert request.path == f"/api/ruth-connect/integrations/{ID}"
    assert request.api_key == CALLER_KEY
    assert request.json == {"data": {"api_key": NEW_KEY}}
    for text in (repr(request), str(fake.requests), repr(fake)):
        assert CALLER_KEY not in text
        assert NEW_KEY not in text


def test_server_stops_and_frees_its_port() -> None:
    fake = seeded()
    with fake.serve() as server:
        port = server.port
        assert server.base_url == f"http://127.0.0.1:{port}/api"
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=2),
    ):
        pass


def test_seed_from_json_shape() -> None:
    fake = FakePuretalk(
        api_key=CALLER_KEY,
        integrations=[
            {"integration_id": ID, "data": {"api_key": "k"}, "created_at": "2025-01-01T00:00:00Z"}
        ],
    )
    assert fake.integrations[ID].api_key == "k"
    assert fake.integrations[ID].created_at == T0


def test_readme_pytest_example_runs() -> None:
    """The copy-paste example of the testing guide, verbatim in spirit."""
    from puretalk_ai import IntegrationData
    from puretalk_ai.testing import FakePuretalk

    integration_id = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
    fake = FakePuretalk(api_key="test-key")
    fake.add_integration(integration_id=integration_id, api_key="old-key")
    fake.fail_next(1, status=503, retry_after_ms=1)

    client = fake.client()
    integration = client.integrations.update(integration_id, api_key="new-key")

    assert isinstance(integration.data, IntegrationData)  # every field is optional in the spec
    assert integration.data.api_key == "new-key"
    assert fake.integrations[integration_id].api_key == "new-key"
    assert [r.status for r in fake.requests] == [503, 200]


def test_a_reset_mid_response_is_retried(mode: Mode) -> None:
    fake = seeded()
    fake.reset_next(1)
    assert mode.update(fake).data.api_key == NEW_KEY
    assert [r.status for r in fake.requests] == [None, 200]


def test_a_reset_without_retries_is_a_connection_error_or_an_incomplete_success(
    mode: Mode,
) -> None:
    fake = seeded()
    fake.reset_next(1)
    with pytest.raises(puretalk_ai.PuretalkError) as caught:
        mode.update(fake, max_retries=0)
    if mode.name.startswith("server"):
        # Over HTTP the status line (200) arrived before the reset: the change may have
        # been applied, and the error says so.
        assert type(caught.value) is puretalk_ai.APIResponseValidationError
        assert caught.value.body_incomplete
        assert "may have been applied" in str(caught.value)
    else:  # in-process, the transport raises before any response
        assert type(caught.value) is puretalk_ai.APIConnectionError


def test_the_testing_docstring_example_runs_as_written() -> None:
    import textwrap

    import puretalk_ai.testing

    doc = puretalk_ai.testing.__doc__ or ""
    example = doc.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(textwrap.dedent(example), "testing-docstring", "exec"), {})  # noqa: S102
