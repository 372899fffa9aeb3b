"""Secrets never appear in a log line, repr, str, exception text or traceback.

The audit test drives the public surface with the secret values from tests/secrets.py,
including servers that echo the keys back, and checks everything its process captured: its
own driving (so it means something alone or with ``-k``) and whatever the rest of the suite
recorded before it. Every process also scans its whole record at its end (conftest.py).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pytest_httpx import HTTPXMock

import puretalk_ai
from puretalk_ai.testing import FakePuretalk
from tests import audit
from tests.conftest import Api, integration_json
from tests.secrets import ALL, CALLER_KEY, NEW_KEY

ECHO = f"caller {CALLER_KEY} new {NEW_KEY}"


def _responses(httpx_mock: HTTPXMock) -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = [("ok", {"json": integration_json(msg=ECHO, note=ECHO)})]
    for status in (301, 400, 401, 403, 404, 409, 418, 422, 429, 500, 503):
        cases.append(
            (f"json-{status}", {"status_code": status, "json": {"err": True, "msg": ECHO}})
        )
        cases.append((f"text-{status}", {"status_code": status, "text": ECHO * 3}))
    cases += [
        ("html-200", {"text": f"<html>{ECHO}</html>"}),
        (
            "err-200",
            {"json": {"err": True, "msg": ECHO, "results": {"data": {"api_key": NEW_KEY}}}},
        ),
        ("bad-uuid", {"json": integration_json(integration_id=ECHO)}),
        ("bad-date", {"json": integration_json(created_at=ECHO)}),
        ("bad-type", {"json": integration_json(app_name=[ECHO])}),
    ]
    return cases


def _drive_the_surface_with_debug_logging(
    api: Api, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outcomes = 0
    for _name, response in _responses(httpx_mock):
        httpx_mock.add_response(**response, headers={"retry-after-ms": "0"})
        try:
            result = api.update(max_retries=0)
            assert isinstance(result.data, puretalk_ai.IntegrationData)
            assert result.data.api_key == NEW_KEY  # the value is there, only hidden in reprs
        except puretalk_ai.PuretalkError:
            pass
        outcomes += 1
    # retries through transport errors and a final timeout
    httpx_mock.add_exception(httpx.ConnectError(ECHO))
    httpx_mock.add_response(status_code=503, text=ECHO)
    httpx_mock.add_exception(httpx.ReadTimeout("slow"))
    with pytest.raises(puretalk_ai.APITimeoutError):
        api.update()
    httpx_mock.add_response(json=integration_json(app_name=ECHO))
    raw = api.raw()
    # Echoed into a plain field: masked in the data itself (only data.api_key holds a key).
    assert raw.parse().app_name == "caller *** new ***"
    client = puretalk_ai.Puretalk(api_key=CALLER_KEY)
    audit.record_object(client)
    audit.record_object(client.with_options(timeout=3))
    audit.record_object(client.integrations)
    audit.SEEN.extend(caplog.messages)
    audit.SEEN.extend(caplog.text.splitlines())
    assert outcomes == len(_responses(httpx_mock))
    assert any("-> 503" in line for line in caplog.messages)


def _drive_bulk_and_the_cli_with_echoing_faults(tmp_path: Path) -> None:
    ids = [str(uuid.UUID(int=n + 500)) for n in range(4)]
    fake = FakePuretalk(api_key=CALLER_KEY)
    for integration_id in ids:
        fake.add_integration(integration_id=integration_id, api_key="old")
    echo = json.dumps({"err": True, "msg": ECHO}).encode()
    fake.fail_next(1, status=422, body=echo)
    fake.fail_next(1, status=503, body=echo, retry_after_ms=1)
    results = fake.client().integrations.update_many({i: NEW_KEY for i in ids}, concurrency=1)
    assert [r.ok for r in results] == [False, True, True, True]
    audit.record_object(results)
    # A refused caller key stops a run: the ids after it are reported as not sent.
    fake.fail_next(1, status=401, body=echo)
    stopped = fake.client().integrations.update_many({i: NEW_KEY for i in ids}, concurrency=1)
    assert [r.state for r in stopped if not r.ok][1:] == ["not_sent"] * 3
    audit.record_object(stopped)
    audit.record_object(fake)
    audit.record_object(fake.requests)

    csv_file = tmp_path / "keys.csv"
    csv_file.write_text("integration_id,api_key\n" + "".join(f"{i},{NEW_KEY}\n" for i in ids))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PURETALK_API_KEY": CALLER_KEY,
        "PURETALK_LOG": "debug",
    }
    cli = str(Path(sys.executable).parent / "puretalk-ai")
    with fake.serve() as server:
        fake.fail_next(1, status=401, body=echo)
        fake.fail_next(1, status=500, body=echo, retry_after_ms=1)
        runs = [
            [cli, "integrations", "update", ids[0], "--base-url", server.base_url],
            [cli, "integrations", "update", ids[1], "--base-url", server.base_url],
            [cli, "integrations", "update-many", str(csv_file), "--base-url", server.base_url],
            [cli, "integrations", "update-many", str(csv_file), "--dry-run"],
        ]
        codes = []
        for argv in runs:
            result = subprocess.run(
                argv, input=NEW_KEY, env=env, capture_output=True, text=True, timeout=60,
                check=False,
            )  # fmt: skip
            audit.SEEN.extend([result.stdout, result.stderr])
            codes.append(result.returncode)
    assert codes == [12, 0, 0, 0]  # the 401 echo, then retried 500, then all ok
    assert any("-> 500 in" in text for text in audit.SEEN)  # DEBUG lines were captured


def test_no_secret_in_anything_the_suite_saw(
    api: Api, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    _drive_the_surface_with_debug_logging(api, httpx_mock, caplog)
    _drive_bulk_and_the_cli_with_echoing_faults(tmp_path)
    # Enough material to mean something, whether or not the rest of the suite ran first.
    assert len(audit.SEEN) > 300
    assert any("api_key='***'" in text for text in audit.SEEN)
    assert any("Error code: 404" in text for text in audit.SEEN)
    assert any("Traceback" in text for text in audit.SEEN)
    assert any("x-api-key': '***'" in text for text in audit.SEEN)  # redacted requests
    assert any(text.startswith("\x80") for text in audit.SEEN)  # pickles were checked
    assert any("not_sent" in text for text in audit.SEEN)  # interrupted bulk reports
    found = audit.leaks()
    assert not found, audit.describe(found)


def test_the_scan_finds_every_spelling_of_every_secret() -> None:
    for which, secret in enumerate(ALL):
        planted = [
            "clean",
            f"raw {secret}",
            "".join(f"\\u{ord(c):04x}" for c in secret),
            f"q={quote(secret, safe='')}",
        ]
        assert {(w, i) for w, i in audit.leaks(planted)} == {(which, 1), (which, 2), (which, 3)}
