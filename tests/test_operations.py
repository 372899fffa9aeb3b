"""Any generated operation runs through the wrapper's safety net, and the fake follows the
generated model: proved with a client generated at test time from a fixture spec that adds
a paginated list, a delete, and a new integration field."""

from __future__ import annotations

import asyncio
import http.server
import importlib
import io
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from puretalk_ai import (
    AsyncPuretalk,
    InternalServerError,
    NotFoundError,
    Puretalk,
    RateLimitError,
    UnprocessableEntityError,
)
from puretalk_ai._cli import load_seed
from puretalk_ai.testing import FakeIntegration, FakePuretalk, _fake
from scripts import generate
from tests import audit
from tests.helpers import serving
from tests.secrets import CALLER_KEY

IDS = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(5)]


def fixture_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(generate.SPEC.read_bytes())
    schemas = spec["components"]["schemas"]
    schemas["RuthConnectIntegration"]["properties"]["description"] = {"type": "string"}
    schemas["IntegrationPage"] = {
        "type": "object",
        "properties": {
            "msg": {"type": "string"},
            "err": {"type": "boolean"},
            "page": {"type": "integer"},
            "total": {"type": "integer"},
            "results": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/RuthConnectIntegration"},
            },
        },
    }
    page_params = [
        {"name": name, "in": "query", "required": False, "schema": {"type": "integer"}}
        for name in ("page", "limit")
    ]
    ok = {"description": "OK", "content": {"application/json": {"schema": {}}}}
    spec["paths"]["/ruth-connect/integrations"] = {
        "get": {
            "operationId": "list_integrations",
            "tags": ["integrations"],
            "parameters": page_params,
            "responses": {
                "200": {
                    "description": "A page of integrations",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/IntegrationPage"}
                        }
                    },
                }
            },
        }
    }
    item = spec["paths"]["/ruth-connect/integrations/{integration_id}"]
    item["delete"] = {
        "operationId": "delete_integration",
        "tags": ["integrations"],
        "parameters": item["patch"]["parameters"],
        "responses": {
            "200": {
                **ok,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
    }
    # A form and a multipart operation, with a secret spelt in camelCase.
    schemas["TokenForm"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "clientSecret": {"type": "string"}},
    }
    schemas["LogoUpload"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "logo": {"type": "string", "format": "binary"}},
    }
    answer = {
        "200": {
            **ok,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    }
    for path, operation, media, schema in [
        ("/ruth-connect/tokens", "create_token", "application/x-www-form-urlencoded", "TokenForm"),
        ("/ruth-connect/logos", "upload_logo", "multipart/form-data", "LogoUpload"),
    ]:
        spec["paths"][path] = {
            "post": {
                "operationId": operation,
                "tags": ["integrations"],
                "requestBody": {
                    "required": True,
                    "content": {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
                },
                "responses": answer,
            }
        }
    return spec


@pytest.fixture(scope="module")
def fixture_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The fixture spec, generated now by the pinned generator into package `fixture_api`."""
    work = tmp_path_factory.mktemp("generated")
    spec = work / "spec.yaml"
    spec.write_text(yaml.safe_dump(fixture_spec(), sort_keys=False))
    config = yaml.safe_load(generate.CONFIG.read_bytes())
    config.update(project_name_override="fixture-api", package_name_override="fixture_api")
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    generate.generate_into(work / "fixture_api", spec=spec, config=work / "config.yaml")
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module("fixture_api")
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m.split(".")[0] == "fixture_api"]:
            del sys.modules[name]
        shutil.rmtree(work, ignore_errors=True)


class Api(http.server.BaseHTTPRequestHandler):
    """A local server for the fixture's operations: paginated list and delete."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str | None]] = []  # noqa: RUF012 - reset per test
    faults: list[int] = []  # noqa: RUF012

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"content-type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    bodies: list[tuple[str, bytes]] = []  # noqa: RUF012 - (content type, body) of POSTs

    def _record(self) -> bool:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.command == "POST":
            Api.bodies.append((self.headers.get("content-type") or "", body))
        Api.seen.append((self.command, self.path, self.headers.get("x-api-key")))
        if Api.faults:
            self._send(Api.faults.pop(0), {"err": True, "msg": f"busy {CALLER_KEY}"},
                       {"retry-after-ms": "1"})  # fmt: skip
            return False
        return True

    def do_GET(self) -> None:
        if not self._record():
            return
        query = parse_qs(urlsplit(self.path).query)
        page, limit = int(query.get("page", ["1"])[0]), int(query.get("limit", ["2"])[0])
        chunk = IDS[(page - 1) * limit : page * limit]
        results = [{"integration_id": i, "app_name": "vapi", "description": f"#{i[-1]}"}
                   for i in chunk]  # fmt: skip
        self._send(200, {"msg": "ok", "err": False, "page": page, "total": len(IDS),
                         "results": results})  # fmt: skip

    def do_DELETE(self) -> None:
        if not self._record():
            return
        if self.path.rsplit("/", 1)[1] not in IDS:
            self._send(404, {"err": True, "msg": "Integration not found"})
            return
        self._send(200, {"err": False, "msg": "Integration deleted"})

    def do_POST(self) -> None:
        if not self._record():
            return
        body = Api.bodies[-1][1]
        if b"name=echo" in body or b'name="name"\r\n\r\necho' in body:
            # A server that quotes the whole form back in its error.
            self._send(422, {"err": True, "msg": f"rejected: {body.decode()}"})
            return
        self._send(200, {"err": False, "msg": "created"})

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Api.seen, Api.faults, Api.bodies = [], [], []
    with serving(Api) as base_url:
        yield f"{base_url}/api"


def _ops(fixture_api: ModuleType) -> tuple[Any, Any]:
    package = "fixture_api.api.integrations"
    return (
        importlib.import_module(f"{package}.list_integrations"),
        importlib.import_module(f"{package}.delete_integration"),
    )


def test_a_generated_list_operation_runs_with_retries(fixture_api: ModuleType, server: str) -> None:
    list_op, _ = _ops(fixture_api)
    Api.faults = [503]
    with Puretalk(api_key=CALLER_KEY, base_url=server) as client:
        raw = client.call_raw(list_op.sync_detailed, page=2, limit=2)
    page = raw.parse()
    assert raw.status_code == 200
    assert [str(i.integration_id) for i in page.results] == IDS[2:4]
    assert [i.description for i in page.results] == ["#2", "#3"]  # the new field, typed
    assert [(m, p) for m, p, _ in Api.seen] == [
        ("GET", "/api/ruth-connect/integrations?page=2&limit=2"),
    ] * 2  # the 503 was retried
    assert {key for _, _, key in Api.seen} == {CALLER_KEY}


def test_a_generated_delete_operation_runs_async_with_typed_errors(
    fixture_api: ModuleType, server: str
) -> None:
    _, delete_op = _ops(fixture_api)

    async def run() -> tuple[Any, BaseException]:
        async with AsyncPuretalk(api_key=CALLER_KEY, base_url=server) as client:
            done = await client.call(delete_op.asyncio_detailed, IDS[0])
            try:
                await client.call(
                    delete_op.asyncio_detailed, "00000000-0000-4000-8000-0000000000ff"
                )
            except NotFoundError as exc:
                return done, exc
        raise AssertionError("no error")

    done, error = asyncio.run(run())
    assert done.msg == "Integration deleted"
    assert isinstance(error, NotFoundError)
    assert error.message == "Integration not found"
    assert [m for m, _, _ in Api.seen] == ["DELETE", "DELETE"]


def test_generated_operations_get_the_same_error_hygiene(
    fixture_api: ModuleType, server: str
) -> None:
    list_op, _ = _ops(fixture_api)
    Api.faults = [429, 500]
    with Puretalk(api_key=CALLER_KEY, base_url=server, max_retries=0) as client:
        with pytest.raises(RateLimitError) as limited:
            client.call(list_op.sync_detailed, page=1)
        with pytest.raises(InternalServerError) as failed:
            client.call(list_op.sync_detailed, page=1)
    for exc in (limited.value, failed.value):
        audit.record_exception(exc)
        assert CALLER_KEY not in str(exc)
        assert exc.response.request.headers["x-api-key"] == "***"
    assert limited.value.retry_after == 0.001


def test_the_fake_serves_every_generated_operation(fixture_api: ModuleType) -> None:
    # Downstream tests can exercise what client.call makes callable against the shipped fake.
    list_op, delete_op = _ops(fixture_api)
    fake = FakePuretalk(api_key=CALLER_KEY)
    for n, integration_id in enumerate(IDS):
        fake.add_integration(integration_id=integration_id, app_name=f"app-{n}")
    with fake.serve() as served, Puretalk(api_key=CALLER_KEY, base_url=served.base_url) as c:
        page = c.call(list_op.sync_detailed, page=2, limit=2)
        done = c.call(delete_op.sync_detailed, IDS[0])
        with pytest.raises(NotFoundError):
            c.call(delete_op.sync_detailed, IDS[0])
        rest = c.call(list_op.sync_detailed, page=1, limit=10)
    assert [str(i.integration_id) for i in page.results] == IDS[2:4]
    assert page.total == len(IDS)
    assert done.err is False
    assert [str(i.integration_id) for i in rest.results] == IDS[1:]
    assert IDS[0] not in fake.integrations


def test_form_and_multipart_operations_send_their_bodies(
    fixture_api: ModuleType, server: str
) -> None:
    package = "fixture_api.api.integrations"
    token_op = importlib.import_module(f"{package}.create_token")
    logo_op = importlib.import_module(f"{package}.upload_logo")
    models = importlib.import_module("fixture_api.models")
    types = importlib.import_module("fixture_api.types")
    secret = "cs-form-secret-000111"
    with Puretalk(api_key=CALLER_KEY, base_url=server) as client:
        done = client.call(
            token_op.sync_detailed, body=models.TokenForm(name="n1", client_secret=secret)
        )
        logo = types.File(payload=io.BytesIO(b"\x89PNG..."), file_name="logo.png")
        uploaded = client.call(logo_op.sync_detailed, body=models.LogoUpload(name="n2", logo=logo))
        with pytest.raises(UnprocessableEntityError) as caught:
            client.call(
                token_op.sync_detailed, body=models.TokenForm(name="echo", client_secret=secret)
            )
    assert done.msg == uploaded.msg == "created"
    (form_type, form), (multi_type, multi), _ = Api.bodies
    assert form_type == "application/x-www-form-urlencoded"
    assert parse_qs(form.decode()) == {"name": ["n1"], "clientSecret": [secret]}
    assert multi_type.startswith("multipart/form-data; boundary=")
    assert b'filename="logo.png"' in multi
    assert b"\x89PNG..." in multi
    # clientSecret is a secret in camelCase too: redacted from the error that echoed it.
    audit.record_exception(caught.value)
    for text in (str(caught.value), repr(caught.value.body)):
        assert secret not in text


@pytest.mark.parametrize(
    "name",
    ["api_key", "apiKey", "APIKey", "x-api-key", "X-Api-Key", "accessToken", "clientSecret",
     "privateKey", "client_secret", "refresh-token", "PASSWORD", "credentials"],
)  # fmt: skip
def test_secret_names_are_recognised_in_any_spelling(name: str) -> None:
    from puretalk_ai_openapi.types import is_secret_name

    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["keyboard", "monkey_id", "tokens_used", "name", "secretary"])
def test_ordinary_names_are_not_secret(name: str) -> None:
    from puretalk_ai_openapi.types import is_secret_name

    assert not is_secret_name(name)


def test_call_refuses_what_is_not_a_generated_operation() -> None:
    with Puretalk(api_key=CALLER_KEY) as client, pytest.raises(TypeError, match="generated"):
        client.call(print)  # type: ignore[call-overload]


def test_the_fake_follows_the_generated_model(
    fixture_api: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The fixture spec adds `description`; the fake learns it from the generated model.
    models = importlib.import_module("fixture_api.models")
    # Asked first of the published model (where it is no field), the answer must not stick.
    assert not _fake._is_spec_field("description")
    monkeypatch.setattr(_fake, "spec_model", lambda: models.Integration)
    fake = FakePuretalk(api_key=CALLER_KEY)
    stored = fake.add_integration(integration_id=IDS[0], description="Voice vendor")
    assert stored.to_json()["description"] == "Voice vendor"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps([{"integration_id": IDS[1], "description": "Seeded"}]))
    (seeded,) = [FakeIntegration.from_json(item) for item in load_seed(str(seed))]
    assert seeded.to_json()["description"] == "Seeded"
    updated = fake.client().integrations.update(IDS[0], api_key="new-key-123456")
    assert updated.additional_properties["description"] == "Voice vendor"  # served back
    with pytest.raises(TypeError, match="not a field of the spec"):
        fake.add_integration(integration_id=IDS[2], colour="blue")
