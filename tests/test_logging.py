"""One DEBUG line per attempt, with no header values or bodies; PURETALK_LOG turns it on."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

import pytest
from pytest_httpx import HTTPXMock

from tests.conftest import INTEGRATION_ID, Api, integration_json
from tests.secrets import CALLER_KEY, NEW_KEY

LINE = re.compile(
    r"^PATCH /api/ruth-connect/integrations/(?P<id>\S+) -> (?P<result>\S+) in "
    r"(?P<ms>\d+\.\d) ms \(attempt (?P<attempt>\d)/(?P<of>\d); "
    r"(?P<then>retrying in [\d.]+ s|no retry|giving up|.*; giving up)\)$"
)


def test_one_debug_line_per_attempt(
    api: Api, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(status_code=503, text=f"echo {NEW_KEY}")
    httpx_mock.add_response(json=integration_json())
    with caplog.at_level(logging.DEBUG, logger="puretalk_ai"):
        api.update()
    lines = [r.getMessage() for r in caplog.records if r.name == "puretalk_ai"]
    assert len(lines) == 2
    first, second = (LINE.match(line) for line in lines)
    assert first is not None
    assert second is not None
    assert (first["id"], first["result"], first["attempt"], first["of"]) == (
        INTEGRATION_ID, "503", "1", "3",
    )  # fmt: skip
    assert first["then"].startswith("retrying in ")
    assert (second["result"], second["attempt"], second["then"]) == ("200", "2", "no retry")
    for line in lines:
        assert CALLER_KEY not in line
        assert NEW_KEY not in line
        assert "x-api-key" not in line.lower()


def test_a_transport_error_is_logged_by_class_name(
    api: Api, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx

    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_response(json=integration_json())
    with caplog.at_level(logging.DEBUG, logger="puretalk_ai"):
        api.update()
    first = LINE.match(caplog.records[0].getMessage())
    assert first is not None
    assert first["result"] == "ConnectError"


def test_nothing_is_logged_at_the_default_level(
    api: Api, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(json=integration_json())
    with caplog.at_level(logging.WARNING):
        api.update()
    assert [r for r in caplog.records if r.name == "puretalk_ai"] == []


@pytest.mark.parametrize(("value", "shown"), [("debug", True), ("info", False), ("", False)])
def test_puretalk_log_env_turns_on_a_stderr_handler(value: str, shown: bool) -> None:
    code = (
        "import httpx, puretalk_ai\n"
        "t = httpx.MockTransport(lambda r: httpx.Response(404, json={'err': True, 'msg': 'nf'}))\n"
        f"c = puretalk_ai.Puretalk(api_key={CALLER_KEY!r}, http_client=httpx.Client(transport=t))\n"
        "try:\n"
        f"    c.integrations.update('abc', api_key={NEW_KEY!r})\n"
        "except puretalk_ai.NotFoundError:\n"
        "    pass\n"
        "import logging; print(logging.getLevelName(logging.getLogger('puretalk_ai').level))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PURETALK_LOG": value, "PATH": ""},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert ("-> 404 in" in result.stderr) is shown
    assert result.stdout.strip() == {"debug": "DEBUG", "info": "INFO", "": "NOTSET"}[value]
    assert CALLER_KEY not in result.stderr + result.stdout
    assert NEW_KEY not in result.stderr + result.stdout


def test_puretalk_log_info_shows_each_retry_and_each_give_up() -> None:
    code = (
        "import httpx, puretalk_ai\n"
        "t = httpx.MockTransport(lambda r: httpx.Response(503, json={'err': True, 'msg': 'x'}))\n"
        "fast = puretalk_ai.RetryPolicy(initial_delay=0.001)\n"
        f"c = puretalk_ai.Puretalk(api_key={CALLER_KEY!r}, retry_policy=fast,\n"
        "                          http_client=httpx.Client(transport=t))\n"
        "try:\n"
        f"    c.integrations.update('abc', api_key={NEW_KEY!r})\n"
        "except puretalk_ai.InternalServerError:\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PURETALK_LOG": "info", "PATH": ""},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr  # two retries, one give-up
    assert all(" INFO puretalk_ai] PATCH " in line for line in lines)
    assert "(attempt 1/3; retrying in" in lines[0]
    assert "(attempt 2/3; retrying in" in lines[1]
    assert "(attempt 3/3; giving up)" in lines[2]
