"""The puretalk-ai console script, run as a subprocess against the fake server."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from puretalk_ai import APIConnectionError, AuthenticationError, NotFoundError
from puretalk_ai._cli import EXIT_CODES, EXIT_SOME_FAILED, EXIT_USAGE
from puretalk_ai.testing import FakePuretalk, FakeServer
from tests import audit
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).parent / "puretalk-ai")
IDS = [str(uuid.UUID(int=i + 100)) for i in range(5)]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakePuretalk(api_key=CALLER_KEY)
    for integration_id in IDS:
        fake.add_integration(integration_id=integration_id, api_key="old", app_name="vapi")
    with fake.serve() as running:
        yield running


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ.get("PATH", ""), "PURETALK_API_KEY": CALLER_KEY}
    environment.update(env or {})
    result = subprocess.run(
        [CLI, *args], input=stdin, env=environment, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    audit.SEEN.extend([result.stdout, result.stderr])
    return result


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}"
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("puretalk-ai: error: ")
    return lines[0]


def test_update_reads_the_key_from_stdin_and_redacts(server: FakeServer) -> None:
    result = run(
        "integrations", "update", IDS[0], "--base-url", server.base_url, stdin=NEW_KEY + "\n"
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["integration_id"] == IDS[0]
    assert printed["data"] == {"api_key": "***"}
    assert server.fake.integrations[IDS[0]].api_key == NEW_KEY  # newline stripped
    assert NEW_KEY not in result.stdout + result.stderr


def test_update_from_env_var_and_show_secrets(server: FakeServer) -> None:
    result = run(
        "integrations", "update", IDS[1], "--api-key-env", "ROTATED", "--show-secrets",
        "--base-url", server.base_url, env={"ROTATED": "shown-on-purpose"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data"] == {"api_key": "shown-on-purpose"}
    assert server.fake.integrations[IDS[1]].api_key == "shown-on-purpose"


def test_timeout_and_retries_options(server: FakeServer) -> None:
    server.fake.fail_next(2, status=503, retry_after_ms=1)
    result = run(
        "integrations", "update", IDS[0], "--base-url", server.base_url,
        "--max-retries", "1", "--timeout", "5", stdin=NEW_KEY,
    )  # fmt: skip
    assert result.returncode == EXIT_CODES[__import__("puretalk_ai").InternalServerError] == 18
    assert len(server.fake.requests) == 2
    assert "InternalServerError" in one_line_error(result)


@pytest.mark.parametrize(
    ("args", "env", "code", "fragment"),
    [
        (["--api-key-env", "NOPE"], {}, EXIT_USAGE, "NOPE is not set"),
        ([], {"PURETALK_API_KEY": "wrong-key"}, 12, "AuthenticationError"),
        ([], {"PURETALK_API_KEY": ""}, 3, "PURETALK_API_KEY"),
    ],
)
def test_update_errors_are_one_line_with_their_exit_code(
    server: FakeServer, args: list[str], env: dict[str, str], code: int, fragment: str
) -> None:
    result = run(
        "integrations", "update", IDS[0], "--base-url", server.base_url, *args,
        stdin=NEW_KEY, env=env,
    )  # fmt: skip
    assert result.returncode == code
    assert fragment in one_line_error(result)
    assert NEW_KEY not in result.stderr
    assert result.stdout == ""


def test_unknown_id_and_bad_id(server: FakeServer) -> None:
    missing = run(
        "integrations", "update", str(uuid.uuid4()), "--base-url", server.base_url, stdin="k"
    )
    assert missing.returncode == 14
    assert "NotFoundError" in one_line_error(missing)
    dots = run("integrations", "update", "..", "--base-url", server.base_url, stdin="k")
    assert dots.returncode == EXIT_USAGE
    assert "integration_id" in one_line_error(dots)


def test_plain_http_to_a_remote_host_is_refused() -> None:
    result = run(
        "integrations", "update", IDS[0], "--base-url", "http://api.puretalk.ai", stdin="k"
    )
    assert result.returncode == 2  # a bad argument: a usage error
    assert "plain-http" in one_line_error(result)


def test_empty_stdin_is_a_usage_error(server: FakeServer) -> None:
    result = run("integrations", "update", IDS[0], "--base-url", server.base_url, stdin="")
    assert result.returncode == EXIT_USAGE
    assert "stdin" in one_line_error(result)


# --- update-many -------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_update_many_csv_reports_per_id(server: FakeServer, tmp_path: Path) -> None:
    rows = "".join(f"{i},{NEW_KEY}-{n}\n" for n, i in enumerate(IDS))
    path = write(tmp_path, "keys.csv", "integration_id,api_key\n" + rows)
    result = run("integrations", "update-many", path, "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:-1] == [f"ok       {i}" for i in IDS]
    assert lines[-1] == "5 ok, 0 failed, 0 unknown, 0 not_sent"
    assert [server.fake.integrations[i].api_key for i in IDS] == [
        f"{NEW_KEY}-{n}" for n in range(5)
    ]
    assert "updated" not in result.stderr  # stderr is not a terminal: no progress


def test_update_many_jsonl_partly_failing(server: FakeServer, tmp_path: Path) -> None:
    missing = str(uuid.UUID(int=7))
    lines = [{"integration_id": i, "api_key": NEW_KEY} for i in [IDS[0], missing, IDS[1]]]
    path = write(tmp_path, "keys.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    result = run("integrations", "update-many", path, "--base-url", server.base_url)
    assert result.returncode == EXIT_SOME_FAILED
    out = result.stdout.splitlines()
    assert out[0] == f"ok       {IDS[0]}"
    assert re.match(
        rf"failed   {missing}  NotFoundError: Error code: 404 - Integration not found", out[1]
    )
    assert out[2] == f"ok       {IDS[1]}"
    assert out[3] == "2 ok, 1 failed, 0 unknown, 0 not_sent"
    assert NEW_KEY not in result.stdout + result.stderr


def test_update_many_with_a_wrong_caller_key_stops_at_the_first_answer(
    server: FakeServer, tmp_path: Path
) -> None:
    ids = [str(uuid.UUID(int=n + 7000)) for n in range(60)]
    rows = "".join(f"{i},new-key-{n:04d}\n" for n, i in enumerate(ids))
    path = write(tmp_path, "k.csv", "integration_id,api_key\n" + rows)
    result = run(
        "integrations", "update-many", path, "--base-url", server.base_url,
        env={"PURETALK_API_KEY": "wrong"},
    )  # fmt: skip
    assert result.returncode == EXIT_CODES[AuthenticationError] == 12
    sent = len(server.fake.requests)
    # With no answer back yet, the pacer sends at most 10/s: a slow first 401 on a busy
    # machine lets a few more out, never the batch.
    assert 1 <= sent <= 20
    assert result.stdout.count("AuthenticationError") == sent
    summary = result.stdout.splitlines()[-1]
    assert summary == f"0 ok, {sent} failed, 0 unknown, {60 - sent} not_sent"
    assert "check the caller key" in result.stdout
    assert f"stopped early: {server.base_url} refused the caller key" in result.stderr
    assert "last error: AuthenticationError" in result.stderr
    assert "wrong" not in result.stdout + result.stderr


@pytest.mark.parametrize("count", [5, 60])
def test_update_many_with_the_server_down_stops_early_whatever_its_size(
    tmp_path: Path, count: int
) -> None:
    """One rule for 5 ids as for 60: exit 4, the "stopped early" note naming the base URL,
    and no id whose connection was refused is unknown."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ids = [str(uuid.UUID(int=n + 8000)) for n in range(count)]
    rows = "".join(f"{i},new-key-{n:04d}\n" for n, i in enumerate(ids))
    path = write(tmp_path, "k.csv", "integration_id,api_key\n" + rows)
    base = f"http://127.0.0.1:{port}/api"
    result = run("integrations", "update-many", path, "--base-url", base, "--http", "httpx")
    assert result.returncode == EXIT_CODES[APIConnectionError] == 4
    assert f"{base} could not be reached: 10 connection failures in a row" in result.stdout
    note = result.stderr.strip().splitlines()[-1]
    assert note.startswith(f"puretalk-ai: stopped early: {base} could not be reached")
    assert "last error: APIConnectionError" in note
    summary = result.stdout.splitlines()[-1]
    ok, failed, unknown, not_sent = (int(part.split()[0]) for part in summary.split(", "))
    assert (ok, unknown) == (0, 0)
    assert failed + not_sent == count
    if count > 10:
        assert not_sent >= count - 12
    assert CALLER_KEY not in result.stdout + result.stderr


def test_dry_run_validates_and_sends_nothing(server: FakeServer, tmp_path: Path) -> None:
    good = write(tmp_path, "good.csv", f"integration_id,api_key\n{IDS[0]},a\n{IDS[1]},b\n")
    result = run("integrations", "update-many", good, "--dry-run", "--base-url", server.base_url)
    assert result.returncode == 0
    assert "2 updates are valid" in result.stdout
    assert server.fake.requests == []


@pytest.mark.parametrize(
    ("name", "text", "problems"),
    [
        (
            "dup.csv",
            f"integration_id,api_key\n{IDS[0]},a\n{IDS[1]},b\n{IDS[0]},c\n",
            ["line 4: duplicate integration_id", "(first on line 2)"],
        ),
        (
            "empty.csv",
            f"integration_id,api_key\n{IDS[0]},\n,key\n{IDS[2]},c,extra\n",
            [
                "line 2: api_key is missing or empty",
                "line 3: integration_id is missing",
                "line 4: expected 2 fields, got 3",
            ],
        ),
        ("header.csv", f"id,key\n{IDS[0]},a\n", ["line 1: the CSV header must be"]),
        (
            "bad.jsonl",
            f'{{"integration_id": "{IDS[0]}", "api_key": "a"}}\n'
            'not json\n[1]\n{"integration_id": ".."}\n',
            [
                "line 2: not valid JSON",
                "line 3: expected an object",
                "line 4: integration_id is not a UUID (value not shown)",
                "line 4: api_key is missing",
            ],
        ),
        ("nothing.csv", "integration_id,api_key\n", ["the file holds no updates"]),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_files_name_their_lines_and_send_nothing(
    server: FakeServer, tmp_path: Path, name: str, text: str, problems: list[str], dry_run: bool
) -> None:
    path = write(tmp_path, name, text.replace(",a\n", f",{NEW_KEY}\n"))
    flags = ["--dry-run"] if dry_run else []
    result = run("integrations", "update-many", path, *flags, "--base-url", server.base_url)
    assert result.returncode == EXIT_USAGE
    for problem in problems:
        assert problem in result.stderr
    assert "nothing was sent" in result.stderr
    assert "Traceback" not in result.stderr
    assert NEW_KEY not in result.stderr
    assert server.fake.requests == []


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run("integrations", "update-many", str(tmp_path / "absent.csv"))
    assert result.returncode == EXIT_USAGE
    assert "cannot read" in one_line_error(result)


def test_progress_is_shown_when_stderr_is_a_terminal(server: FakeServer, tmp_path: Path) -> None:
    path = write(tmp_path, "k.csv", "integration_id,api_key\n" + "".join(f"{i},k\n" for i in IDS))
    leader, follower = pty.openpty()
    env = {"PATH": os.environ.get("PATH", ""), "PURETALK_API_KEY": CALLER_KEY}
    process = subprocess.Popen(
        [CLI, "integrations", "update-many", path, "--base-url", server.base_url],
        stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    os.close(follower)
    captured = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            captured += chunk
        elif process.poll() is not None:
            break
    assert process.wait(timeout=30) == 0
    os.close(leader)
    assert re.search(rb"\r5/5 done, \d+/s, 0 failed *\r?\n", captured), captured
    # The closing line: the elapsed time and the rate.
    assert re.search(rb"5 of 5 updates ended in 0m\d\ds \(\d+\.\d s, \d+/s\)", captured)
    assert process.stdout is not None
    with process.stdout:
        assert process.stdout.read().decode().endswith("5 ok, 0 failed, 0 unknown, 0 not_sent\n")


# --- fake-server ----------------------------------------------------------------------------


def test_fake_server_command_serves_until_terminated(tmp_path: Path) -> None:
    seed = write(
        tmp_path, "seed.json",
        json.dumps([{"integration_id": IDS[3], "app_name": "cartesia", "api_key": "old"}]),
    )  # fmt: skip
    env = {"PATH": os.environ.get("PATH", ""), "PURETALK_API_KEY": CALLER_KEY}
    process = subprocess.Popen(
        [CLI, "fake-server", "--seed", seed], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(
            r"fake Puretalk listening at (http://127\.0\.0\.1:\d+/api)$", first.strip()
        )
        assert match, first
        result = run("integrations", "update", IDS[3], "--base-url", match.group(1), stdin=NEW_KEY)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["app_name"] == "cartesia"
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert CALLER_KEY not in first + stdout + stderr
    assert "Traceback" not in stderr


def test_fake_server_without_a_key_is_one_line() -> None:
    result = run("fake-server", env={"PURETALK_API_KEY": ""})
    assert result.returncode == EXIT_USAGE
    assert "PURETALK_API_KEY" in one_line_error(result)


def test_usage_errors_exit_2() -> None:
    result = run("integrations", "frobnicate")
    assert result.returncode == EXIT_USAGE
    assert "invalid choice" in result.stderr


def test_an_unexpected_error_exits_1_in_one_line_with_no_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bug after the response arrived (the transport's last step broken): not a
    # connection error (exit 4) but an unexpected one, exit 1, one line, no key.
    import io

    from puretalk_ai import _transport
    from puretalk_ai._cli import main

    def broken(*args: object) -> object:
        raise AttributeError("a bug after the response arrived")

    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=IDS[0], api_key="old")
    monkeypatch.setattr(_transport, "_complete", broken)
    monkeypatch.setenv("PURETALK_API_KEY", CALLER_KEY)
    monkeypatch.setattr(sys, "stdin", io.StringIO(NEW_KEY))
    with fake.serve() as server:
        code = main(["integrations", "update", IDS[0], "--base-url", server.base_url])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "UnexpectedError" in err
    assert CALLER_KEY not in err
    assert NEW_KEY not in err
    assert len(fake.requests) == 1  # never retried


def test_a_rate_limit_policy_too_slow_to_wait_for_stops_with_one_line_and_every_id(
    tmp_path: Path,
) -> None:
    """RateLimit-Policy: 1;w=3600 (or any header value, see test_pacing): 0.5.0 sent one
    id and then waited about an hour, with nothing printed."""
    from tests.conftest import integration_json
    from tests.helpers import JsonHandler, serving

    class Slow(JsonHandler):
        def do_PATCH(self) -> None:
            self.read_body()
            answer = integration_json(integration_id=self.path.rsplit("/", 1)[-1])
            self.send_json(200, answer, {"RateLimit-Policy": "1;w=3600"})

    ids = [str(uuid.UUID(int=n + 9000)) for n in range(3)]
    path = write(
        tmp_path, "k.csv", "integration_id,api_key\n" + "".join(f"{i},k-{i}\n" for i in ids)
    )
    with serving(Slow) as base:
        result = run("integrations", "update-many", path, "--base-url", base, "--concurrency", "1")
    assert result.returncode == 25
    assert result.stdout.splitlines()[-1] == "1 ok, 0 failed, 0 unknown, 2 not_sent"
    (note,) = result.stderr.strip().splitlines()
    assert note.startswith("puretalk-ai: stopped early: the server's rate-limit policy allows")


def test_api_reads_any_path_and_masks_secret_fields(server: FakeServer, tmp_path: Path) -> None:
    base = ["--base-url", server.base_url]
    result = run("api", "get", f"/ruth-connect/integrations/{IDS[0]}", *base)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["results"]["integration_id"] == IDS[0]
    assert answer["results"]["data"] == {"api_key": "***"}  # unless --show-secrets
    shown = run("api", "GET", f"/ruth-connect/integrations/{IDS[0]}", *base, "--show-secrets")
    assert json.loads(shown.stdout)["results"]["data"] == {"api_key": "old"}
    listed = run("api", "GET", "/ruth-connect/integrations", "--param", "limit=2", *base)
    assert len(json.loads(listed.stdout)["results"]) == 2
    missing = run("api", "GET", "/ruth-connect/integrations/nope", *base)
    assert missing.returncode == EXIT_CODES[NotFoundError] == 14
    assert "NotFoundError" in one_line_error(missing)
    body = write(tmp_path, "body.json", json.dumps({"data": {"api_key": NEW_KEY}}))
    patched = run("api", "PATCH", f"/ruth-connect/integrations/{IDS[1]}", "--input", body, *base)
    assert patched.returncode == 0, patched.stderr
    assert NEW_KEY not in patched.stdout + patched.stderr
    assert server.fake.integrations[IDS[1]].api_key == NEW_KEY
    bad = run("api", "GET", "ruth-connect", *base)  # not under the base URL
    assert bad.returncode == 2
    assert "path must start with '/'" in one_line_error(bad)


def test_allow_insecure_http_accepts_a_gateway_and_warns_in_one_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys.csv"
    keys.write_text(f"integration_id,api_key\n{IDS[0]},{NEW_KEY}\n")
    gateway = "http://gateway.internal.example/api"
    refused = run("integrations", "update-many", str(keys), "--dry-run", "--base-url", gateway)
    assert refused.returncode == 2
    assert "plain-http" in one_line_error(refused)
    allowed = run(
        "integrations", "update-many", str(keys), "--dry-run", "--base-url", gateway,
        "--allow-insecure-http",
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stderr.splitlines() == [
        "puretalk-ai: warning: plain-http base_url for non-loopback host "
        "'gateway.internal.example' (allow_insecure_http=True): the API key travels in clear "
        "text"
    ]
    assert "nothing was sent" in allowed.stdout


def test_main_in_process_leaves_the_warning_display_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    from puretalk_ai._cli import main

    keys = tmp_path / "keys.csv"
    keys.write_text(f"integration_id,api_key\n{IDS[0]},{NEW_KEY}\n")
    monkeypatch.setenv("PURETALK_API_KEY", CALLER_KEY)
    host = f"gw-{uuid.uuid4().hex[:8]}.internal.example"  # warned once per host
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # as a plain process shows it (pytest's: error)
        before = warnings.showwarning
        code = main(
            ["integrations", "update-many", str(keys), "--dry-run",
             "--base-url", f"http://{host}/api", "--allow-insecure-http"]
        )  # fmt: skip
        assert warnings.showwarning is before
    assert code == 0
    assert f"puretalk-ai: warning: plain-http base_url for non-loopback host '{host}'" in (
        capsys.readouterr().err
    )
