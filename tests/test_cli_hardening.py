"""The CLI never shows a traceback, never carries or echoes a key, and never loses a state."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from puretalk_ai import InternalServerError
from puretalk_ai._cli import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_JOURNAL,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
)
from puretalk_ai.testing import FakePuretalk, FakeServer
from tests import audit
from tests.helpers import fake_with, wait_for_successes
from tests.secrets import CALLER_KEY, NEW_KEY
from tests.test_cli import CLI, one_line_error, run

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

IDS = [str(uuid.UUID(int=i + 500)) for i in range(40)]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakePuretalk(api_key=CALLER_KEY)
    for integration_id in IDS:
        fake.add_integration(integration_id=integration_id, api_key="old-key-000")
    with fake.serve() as running:
        yield running


def csv_file(tmp_path: Path, rows: list[tuple[str, str]], name: str = "keys.csv") -> str:
    path = tmp_path / name
    path.write_text("integration_id,api_key\n" + "".join(f"{i},{k}\n" for i, k in rows))
    return str(path)


class Terminal:
    """The CLI on a real terminal: a pty is its controlling tty, so \\x03 is Ctrl-C and
    \\x04 ends input. (subprocess, not pty.fork: forking a threaded process is deprecated.)"""

    def __init__(self, argv: list[str]) -> None:
        self.fd, child_tty = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=child_tty, stdout=child_tty, stderr=child_tty,
            env={"PATH": os.environ.get("PATH", ""), "PURETALK_API_KEY": CALLER_KEY},
            preexec_fn=lambda: os.login_tty(child_tty),
        )  # fmt: skip
        os.close(child_tty)
        self.output = b""

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def _read(self) -> bool:
        """Read what is there; False once the program is gone."""
        if not select.select([self.fd], [], [], 0.5)[0]:
            return self.process.poll() is None
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            return False
        self.output += chunk
        return bool(chunk)

    def read_until(self, text: bytes, deadline: float) -> None:
        while text not in self.output and time.monotonic() < deadline and self._read():
            pass

    def finish(self, deadline: float) -> tuple[int, bytes]:
        """Read to the end; the exit status and everything the terminal showed."""
        while time.monotonic() < deadline and self._read():
            pass
        status = self.process.wait(timeout=30)
        os.close(self.fd)
        return status, self.output


# --- argv -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["integrations", "update", IDS[0], "--api-key", NEW_KEY],
        ["integrations", "update", IDS[0], f"--api-key={NEW_KEY}"],
        ["integrations", "update-many", "f.csv", "--token", NEW_KEY],
        ["fake-server", "--api-key", NEW_KEY],
    ],
)
def test_a_key_on_argv_is_refused_without_echo(argv: list[str]) -> None:
    result = run(*argv)
    assert result.returncode == EXIT_USAGE
    line = one_line_error(result)
    assert "stdin" in line
    assert "--api-key-env" in line
    assert NEW_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["integrations", "update", IDS[0], "--api-k", NEW_KEY],  # no prefix matching
        ["integrations", "update", IDS[0], NEW_KEY],  # a stray positional
        ["integrations", "update-many", "f.csv", "--concurrency", NEW_KEY],
        ["integrations", "frobnicate", NEW_KEY],
    ],
)
def test_argparse_errors_never_echo_values(argv: list[str]) -> None:
    result = run(*argv)
    assert result.returncode == EXIT_USAGE
    assert NEW_KEY not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "soon"])
def test_non_finite_or_negative_timeouts_are_one_line_usage_errors(value: str) -> None:
    result = run("integrations", "update", IDS[0], "--timeout", value, stdin=NEW_KEY)
    assert result.returncode == EXIT_USAGE
    assert "Traceback" not in result.stderr
    assert "--timeout" in result.stderr


# --- files ------------------------------------------------------------------------------------


def test_swapped_columns_are_reported_by_line_without_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "swapped.csv"
    path.write_text(f"integration_id,api_key\n{NEW_KEY},{IDS[0]}\n{NEW_KEY}x,{IDS[1]}\n")
    result = run("integrations", "update-many", str(path), "--dry-run")
    assert result.returncode == EXIT_USAGE
    assert "line 2: integration_id is not a UUID (value not shown)" in result.stderr
    assert "line 3: integration_id is not a UUID" in result.stderr
    assert NEW_KEY not in result.stdout + result.stderr


def test_a_csv_with_a_bom_is_read(server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfintegration_id,api_key\r\n" + f"{IDS[0]},{NEW_KEY}\r\n".encode())
    result = run("integrations", "update-many", str(path), "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    assert server.fake.integrations[IDS[0]].api_key == NEW_KEY


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (f"integration_id,api_key\n{IDS[0]},{'k' * 200_000}\n", "line 2: longer than 16384"),
        (f'integration_id,api_key\n{IDS[0]},"unclosed\n{IDS[1]},b\n', "malformed CSV"),
        (f"integration_id,api_key\n{IDS[0]}, padded-key-000\n", "line 2: api_key has leading"),
        (b"\xff\xfe".decode("latin-1") + "x\n", "not UTF-8"),
    ],
)
def test_hostile_files_are_one_named_problem_no_traceback(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content.encode("latin-1" if "not UTF-8" in problem else "utf-8"))
    result = run("integrations", "update-many", str(path), "--dry-run")
    assert result.returncode == EXIT_USAGE
    assert problem in result.stderr
    assert "Traceback" not in result.stderr


def test_dev_zero_is_refused_quickly() -> None:
    started = time.monotonic()
    result = run("integrations", "update-many", "/dev/zero")
    assert result.returncode == EXIT_USAGE
    assert "larger than 16 MiB" in one_line_error(result)
    assert time.monotonic() - started < 30


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    result = run("integrations", "update-many", str(tmp_path))  # a directory
    assert result.returncode == EXIT_USAGE
    assert "cannot read" in one_line_error(result)


def test_dry_run_checks_options_and_the_caller_key(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [(IDS[0], NEW_KEY)])
    assert (
        run("integrations", "update-many", path, "--dry-run", "--concurrency", "0").returncode == 2
    )
    no_key = run("integrations", "update-many", path, "--dry-run", env={"PURETALK_API_KEY": ""})
    assert no_key.returncode == 3
    assert "PURETALK_API_KEY" in one_line_error(no_key)
    plain = run("integrations", "update-many", path, "--dry-run", "--base-url", "http://a.test")
    assert plain.returncode == 2


@pytest.mark.parametrize("http", ["httpx", "aiohttp"])
def test_update_many_runs_on_either_transport(
    server: FakeServer, tmp_path: Path, http: str
) -> None:
    path = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS)])
    result = run("integrations", "update-many", path, "--http", http, "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "40 ok, 0 failed, 0 unknown, 0 not_sent"
    assert all(server.fake.integrations[i].api_key.startswith(NEW_KEY) for i in IDS)


# --- keys from stdin --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "accepted"),
    [
        (NEW_KEY + "\n", True),
        (NEW_KEY + "\r\n", True),
        (NEW_KEY, True),
        (" " + NEW_KEY, False),
        (NEW_KEY + " \n", False),
        (NEW_KEY + "\n\n", False),
        ("line-one-key\nline-two-key", False),
    ],
)
def test_update_treats_keys_like_update_many(
    server: FakeServer, stdin: str, accepted: bool
) -> None:
    result = run("integrations", "update", IDS[0], "--base-url", server.base_url, stdin=stdin)
    if accepted:
        assert result.returncode == 0, result.stderr
        assert server.fake.integrations[IDS[0]].api_key == NEW_KEY
    else:
        assert result.returncode == EXIT_USAGE
        assert "it was not sent" in one_line_error(result)
        assert server.fake.requests == []
    assert NEW_KEY not in result.stdout + result.stderr


def test_ctrl_d_at_the_key_prompt_is_one_line(server: FakeServer) -> None:
    terminal = Terminal([CLI, "integrations", "update", IDS[0], "--base-url", server.base_url])
    deadline = time.monotonic() + 30
    terminal.read_until(b"New integration API key", deadline)
    terminal.type(b"\x04")  # Ctrl-D: end of input at the prompt
    status, output = terminal.finish(deadline)
    assert status == EXIT_USAGE
    text = output.decode(errors="replace")
    audit.SEEN.append(text)
    assert "Traceback" not in text
    assert "puretalk-ai: error: no new API key on stdin" in text
    assert server.fake.requests == []


# --- output -----------------------------------------------------------------------------------


def test_server_text_with_terminal_escapes_is_escaped(tmp_path: Path) -> None:
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=IDS[0], api_key="old-key-000")
    evil = b'{"err": true, "msg": "\\u001b[2J\\u001b[HALL KEYS ROTATED OK\\u0007"}'
    fake.fail_next(5, status=400, body=evil)
    with fake.serve() as server:
        single = run("integrations", "update", IDS[0], "--base-url", server.base_url, stdin=NEW_KEY)
        many = run(
            "integrations", "update-many", csv_file(tmp_path, [(IDS[0], NEW_KEY)]),
            "--base-url", server.base_url,
        )  # fmt: skip
    for result in (single, many):
        assert "\x1b" not in result.stdout + result.stderr
        assert "\x07" not in result.stdout + result.stderr
        assert "\\x1b[2J" in result.stdout + result.stderr


def test_a_broken_pipe_is_one_line(server: FakeServer, tmp_path: Path) -> None:
    path = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS)])
    env = {"PATH": os.environ.get("PATH", ""), "PURETALK_API_KEY": CALLER_KEY}
    process = subprocess.Popen(
        [CLI, "integrations", "update-many", path, "--base-url", server.base_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.close()  # the reader goes away before the report is written
    _, stderr = process.communicate(timeout=60)
    text = stderr.decode()
    audit.SEEN.append(text)
    assert process.returncode == EXIT_BROKEN_PIPE
    assert text.strip().splitlines() == ["puretalk-ai: error: output closed early (broken pipe)"]


# --- journal, resume, interruption -------------------------------------------------------------


def read_journal(path: Path) -> list[dict[str, str]]:
    """The journal's entries (its header lines aside)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [entry for entry in lines if "state" in entry]


def test_sigkill_loses_nothing_and_resume_sends_no_ok_id_again(tmp_path: Path) -> None:
    fake = fake_with(IDS, latency=0.05)
    keys = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS)])
    journal = tmp_path / "journal.jsonl"
    env = {"PATH": os.environ.get("PATH", ""), "PURETALK_API_KEY": CALLER_KEY}
    with fake.serve() as server:
        args = ["integrations", "update-many", keys, "--base-url", server.base_url]
        process = subprocess.Popen(
            [CLI, *args, "--concurrency", "4", "--journal", str(journal)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        wait_for_successes(fake, 10)
        process.kill()
        process.wait(timeout=10)
        time.sleep(0.2)  # let requests already in flight land at the fake
        live = {i for i in IDS if fake.integrations[i].api_key.startswith(NEW_KEY)}
        entries = read_journal(journal)
        ok = {e["integration_id"] for e in entries if e["state"] == "ok"}
        sending = {e["integration_id"] for e in entries if e["state"] == "sending"}
        assert 10 <= len(live) < len(IDS)
        assert live <= ok | (sending - ok)  # every live key is journaled ok or was in flight
        assert ok <= live
        text = journal.read_text()
        assert NEW_KEY not in text
        assert CALLER_KEY not in text

        before = len(fake.requests)
        resumed = run(*args, "--resume", str(journal))
        assert resumed.returncode == 0, resumed.stderr
        again = {r.path.rsplit("/", 1)[1] for r in fake.requests[before:]}
        assert not again & ok  # no id the journal marks ok was sent again
        assert {i for i in IDS if fake.integrations[i].api_key.startswith(NEW_KEY)} == set(IDS)
        assert f"{len(ok)} already ok" in resumed.stderr
        if sending - ok:
            assert "were in flight when that run stopped" in resumed.stderr
        assert "resume:" not in resumed.stdout  # stdout: one line per id and the summary
        lines = resumed.stdout.splitlines()
        assert len(lines) == len(IDS) + 1  # every input id, the skipped ones too
        assert {line.split()[1] for line in lines if line.startswith("skipped ")} == ok


def test_resume_tolerates_a_last_line_cut_by_a_crash_but_not_a_bad_middle_one(
    server: FakeServer, tmp_path: Path
) -> None:
    rows = [(IDS[0], f"{NEW_KEY}-0"), (IDS[1], f"{NEW_KEY}-1")]
    first = csv_file(tmp_path, rows[:1], "first.csv")
    keys = csv_file(tmp_path, rows)
    cut = tmp_path / "cut.jsonl"
    base = ["--base-url", server.base_url]
    assert run("integrations", "update-many", first, *base, "--journal", str(cut)).returncode == 0
    with cut.open("a") as journal:
        journal.write('{"integration_id": "' + IDS[1][:10])  # killed mid-write
    server.fake.requests.clear()
    args = ["integrations", "update-many", keys, *base]
    resumed = run(*args, "--resume", str(cut))
    assert resumed.returncode == 0, resumed.stderr
    assert "1 already ok" in resumed.stderr
    assert [r.path.rsplit("/", 1)[1] for r in server.fake.requests] == [IDS[1]]
    again = run(*args, "--resume", str(cut))  # the cut line was ended: still readable
    assert again.returncode == 0, again.stderr
    assert "2 already ok" in again.stderr
    bad = tmp_path / "bad.jsonl"
    lines = cut.read_text().splitlines(keepends=True)  # header, sending, ok, ...
    bad.write_text("".join([*lines[:2], "not json\n", *lines[2:]]))
    refused = run(*args, "--resume", str(bad))
    assert refused.returncode == EXIT_JOURNAL
    assert "bad.jsonl: line 3: not a journal entry" in one_line_error(refused)
    # A line nested past any journal's depth, too long, or not UTF-8: the same one line.
    for name, line in [
        ("deep", "[" * 100_000 + "]" * 100_000),
        ("long", '{"integration_id": "' + "x" * 100_000 + '"}'),
        ("latin1", '{"integration_id": "caf\xe9"}'),
    ]:
        broken = tmp_path / f"{name}.jsonl"
        raw = "".join([*lines[:2], line + "\n", *lines[2:]]).encode("utf-8", "surrogateescape")
        broken.write_bytes(raw.replace(b"\xc3\xa9", b"\xe9"))
        refused = run(*args, "--resume", str(broken))
        assert refused.returncode == EXIT_JOURNAL, (name, refused.stderr)
        assert f"{name}.jsonl: line 3: " in one_line_error(refused)


def test_a_journal_that_is_not_a_regular_file_is_refused_without_blocking(
    server: FakeServer, tmp_path: Path
) -> None:
    keys = csv_file(tmp_path, [(IDS[0], f"{NEW_KEY}-0")])
    fifo = tmp_path / "journal.fifo"
    os.mkfifo(fifo)
    base = ["integrations", "update-many", keys, "--base-url", server.base_url]
    for option in ("--journal", "--resume"):
        started = time.monotonic()
        result = run(*base, option, str(fifo))  # 0.5.0 blocked forever in open()
        assert time.monotonic() - started < 30
        assert result.returncode == EXIT_JOURNAL
        assert "is not a regular file" in one_line_error(result)
    assert server.fake.requests == []


def test_dry_run_refuses_what_the_run_would(tmp_path: Path) -> None:
    """A JSONL key holding a lone surrogate, or a key that is not a string: refused by
    --dry-run as by the run, by line, without the value."""
    path = tmp_path / "keys.jsonl"
    rows = [
        {"integration_id": IDS[0], "api_key": "sk-lone-\udc80-surrogate"},
        {"integration_id": IDS[1], "api_key": 123},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run("integrations", "update-many", str(path), "--dry-run")
    assert result.returncode == EXIT_USAGE
    assert "line 1: api_key cannot be encoded as UTF-8 (a lone surrogate)" in result.stderr
    assert "line 2: api_key must be a str, not int" in result.stderr
    assert "surrogate-" not in result.stderr + result.stdout


def test_resume_sends_a_new_key_for_an_id_the_journal_marks_ok_with_another(
    server: FakeServer, tmp_path: Path
) -> None:
    old = csv_file(tmp_path, [(i, f"{NEW_KEY}-old-{n}") for n, i in enumerate(IDS[:5])], "old.csv")
    new = csv_file(tmp_path, [(i, f"{NEW_KEY}-new-{n}") for n, i in enumerate(IDS[:5])], "new.csv")
    journal = tmp_path / "run.jsonl"
    base = ["--base-url", server.base_url]
    assert run("integrations", "update-many", old, *base, "--journal", str(journal)).returncode == 0
    resumed = run("integrations", "update-many", new, *base, "--resume", str(journal))
    assert resumed.returncode == 0, resumed.stderr
    assert "0 already ok" in resumed.stderr
    assert "5 are ok there with a different key; sending the new keys" in resumed.stderr
    for n, integration_id in enumerate(IDS[:5]):
        assert server.fake.integrations[integration_id].api_key == f"{NEW_KEY}-new-{n}"
    text = journal.read_text()
    assert NEW_KEY not in text
    assert CALLER_KEY not in text
    # The same file again: now every id is ok with these keys, and nothing is sent.
    server.fake.requests.clear()
    again = run("integrations", "update-many", new, *base, "--resume", str(journal))
    assert "5 already ok" in again.stderr
    assert server.fake.requests == []


def test_resume_sends_again_what_a_journal_without_fingerprints_marks_ok(
    server: FakeServer, tmp_path: Path
) -> None:
    keys = csv_file(tmp_path, [(IDS[0], f"{NEW_KEY}-0"), (IDS[1], f"{NEW_KEY}-1")])
    old = tmp_path / "old.jsonl"  # as puretalk-ai 0.2.0 wrote it: no header, no key
    old.write_text(json.dumps({"integration_id": IDS[0], "state": "ok", "time": "t"}) + "\n")
    resumed = run("integrations", "update-many", keys, "--base-url", server.base_url,
                  "--resume", str(old))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "0 already ok" in resumed.stderr
    assert "1 are ok there without a key fingerprint" in resumed.stderr
    assert sorted(r.path.rsplit("/", 1)[1] for r in server.fake.requests) == sorted(IDS[:2])


def test_resume_says_when_the_journal_was_for_another_file(
    server: FakeServer, tmp_path: Path
) -> None:
    one = csv_file(tmp_path, [(IDS[0], f"{NEW_KEY}-0")], "one.csv")
    two = csv_file(tmp_path, [(IDS[1], f"{NEW_KEY}-1")], "two.csv")
    journal = tmp_path / "run.jsonl"
    base = ["--base-url", server.base_url]
    assert run("integrations", "update-many", one, *base, "--journal", str(journal)).returncode == 0
    resumed = run("integrations", "update-many", two, *base, "--resume", str(journal))
    assert resumed.returncode == 0
    assert "was written for another input file" in resumed.stderr


def test_journal_and_resume_naming_different_files_is_refused(
    server: FakeServer, tmp_path: Path
) -> None:
    keys = csv_file(tmp_path, [(IDS[0], f"{NEW_KEY}-0")])
    result = run(
        "integrations", "update-many", keys, "--base-url", server.base_url,
        "--journal", str(tmp_path / "a.jsonl"), "--resume", str(tmp_path / "b.jsonl"),
    )  # fmt: skip
    assert result.returncode == EXIT_USAGE
    assert "--journal and --resume name different files" in one_line_error(result)
    assert server.fake.requests == []


def test_a_journal_that_cannot_be_written_stops_the_batch_before_that_send(
    server: FakeServer, tmp_path: Path
) -> None:
    keys = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS[:10])])
    # A regular file that cannot grow (the process may write no byte to a file: a full
    # disk, as the OS reports it: EFBIG; Python ignores the SIGXFSZ that comes with it).
    import resource

    def no_room() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    environment = {"PATH": os.environ.get("PATH", ""), "PURETALK_API_KEY": CALLER_KEY}
    result = subprocess.run(
        [CLI, "integrations", "update-many", keys, "--base-url", server.base_url,
         "--journal", str(tmp_path / "full.jsonl")],
        env=environment, capture_output=True, text=True, timeout=60, check=False,
        preexec_fn=no_room,
    )  # fmt: skip
    audit.SEEN.extend([result.stdout, result.stderr])
    assert result.returncode == EXIT_JOURNAL
    assert "Traceback" not in result.stderr
    assert "cannot write the journal" in result.stderr
    assert server.fake.requests == []  # no update left without its sending line
    assert result.stdout.splitlines()[-1] == "0 ok, 0 failed, 0 unknown, 10 not_sent"


def test_sigterm_gets_the_same_report_as_ctrl_c(tmp_path: Path) -> None:
    fake = fake_with(IDS, latency=0.1)
    keys = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS)])
    env = {"PATH": os.environ.get("PATH", ""), "PURETALK_API_KEY": CALLER_KEY}
    journal = tmp_path / "j.jsonl"
    with fake.serve() as server:
        process = subprocess.Popen(
            [CLI, "integrations", "update-many", keys, "--base-url", server.base_url,
             "--concurrency", "2", "--journal", str(journal)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        wait_for_successes(fake, 3)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == EXIT_INTERRUPTED
    lines = out.splitlines()
    assert len(lines) == len(IDS) + 1
    assert {line.split()[1] for line in lines[:-1]} == set(IDS)
    assert "interrupted: the report on stdout is every id's state" in err
    assert f"--resume {journal}" in err
    assert "Traceback" not in err


def test_ctrl_c_in_a_terminal_prints_every_state_and_a_second_one_no_traceback(
    tmp_path: Path,
) -> None:
    fake = fake_with(IDS, latency=0.1)
    keys = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS)])
    with fake.serve() as server:
        argv = [CLI, "integrations", "update-many", keys, "--base-url", server.base_url]
        terminal = Terminal([*argv, "--concurrency", "2"])
        deadline = time.monotonic() + 30
        wait_for_successes(fake, 4)
        terminal.type(b"\x03")  # Ctrl-C
        time.sleep(0.05)
        terminal.type(b"\x03")  # and again, while it winds down
        status, output = terminal.finish(deadline)
    text = output.decode(errors="replace")
    audit.SEEN.append(text)
    assert status == EXIT_INTERRUPTED
    assert "Traceback" not in text
    assert "interrupted: the report above is every id's state" in text
    assert "run with --journal FILE next time" in text
    for integration_id in IDS:
        assert integration_id in text
    summary = next(line for line in text.splitlines() if line.strip().endswith("not_sent"))
    counts = {state: n for n, state in (part.split() for part in summary.strip().split(", "))}
    assert sum(int(n) for n in counts.values()) == len(IDS)
    assert int(counts["not_sent"]) > 0
    live = len([i for i in IDS if fake.integrations[i].api_key.startswith(NEW_KEY)])
    assert live <= int(counts["ok"]) + int(counts["unknown"])


def test_exit_code_when_some_fail_is_documented() -> None:
    assert EXIT_SOME_FAILED == 25
    assert signal.SIGINT + 128 == EXIT_INTERRUPTED


def test_a_mistyped_option_is_named_but_no_value_is_shown() -> None:
    result = run("integrations", "update-many", "f.csv", "--concurency", "4", "--jurnal=x.jsonl")
    assert result.returncode == EXIT_USAGE
    line = result.stderr.splitlines()[-1]
    assert "--concurency (did you mean --concurrency?)" in line
    assert "--jurnal (did you mean --journal?)" in line
    assert "x.jsonl" not in line
    for pasted in (f"-{NEW_KEY}", f"--{NEW_KEY}", f"--{NEW_KEY}=x"):
        refused = run("integrations", "update-many", "f.csv", pasted)
        assert refused.returncode == EXIT_USAGE
        assert NEW_KEY not in refused.stdout + refused.stderr  # not a near miss: hidden


def test_update_checks_the_id_is_a_uuid_before_reading_the_key(server: FakeServer) -> None:
    result = run("integrations", "update", NEW_KEY, "--base-url", server.base_url, stdin=NEW_KEY)
    assert result.returncode == EXIT_USAGE
    assert "integration_id is not a UUID (value not shown)" in one_line_error(result)
    assert NEW_KEY not in result.stdout + result.stderr
    assert server.fake.requests == []


def test_the_fake_server_counts_a_body_cut_by_a_disconnect_as_dropped(
    server: FakeServer,
) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
        client.sendall(
            f"PATCH /api/ruth-connect/integrations/{IDS[0]} HTTP/1.1\r\n"
            'Host: x\r\ncontent-length: 100\r\n\r\n{"data": '.encode()
        )
    deadline = time.monotonic() + 10
    while not server.fake.requests:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert [r.status for r in server.fake.requests] == [None]


def test_a_server_message_cannot_forge_report_lines(server: FakeServer, tmp_path: Path) -> None:
    forged = f"bad key\nok       {IDS[5]}\r\n1 ok, 0 failed\u2028ok {IDS[6]}\tx"
    server.fake.fail_next(1, status=422, body=json.dumps({"err": True, "msg": forged}).encode())
    keys = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS[:2])])
    result = run("integrations", "update-many", keys, "--base-url", server.base_url,
                 "--concurrency", "1")  # fmt: skip
    assert result.returncode == EXIT_SOME_FAILED
    lines = result.stdout.splitlines()  # splitlines also splits on \u2028
    assert len(lines) == 3
    assert [line.split()[1] for line in lines[:2]] == IDS[:2]
    assert lines[0].startswith("failed ")
    assert "bad key\\x0aok" in lines[0]
    assert "\\u2028ok" in lines[0]
    assert lines[2] == "1 ok, 1 failed, 0 unknown, 0 not_sent"


@pytest.mark.slow
def test_resume_from_a_100000_id_journal_sends_only_what_is_left(tmp_path: Path) -> None:
    # The journal of a 100,000-id run that stopped 20 short: written as the run writes it
    # (a header, then sending/ok lines with key fingerprints), 47 MB, past the input cap.
    from puretalk_ai._cli._journal import FORMAT, fingerprint, ids_digest

    n, left = 100_000, 20
    ids = [str(uuid.UUID(int=10**6 + i)) for i in range(n)]
    keys = [f"{NEW_KEY}-{i}" for i in range(n)]
    keys_csv = tmp_path / "keys.csv"
    keys_csv.write_text(
        "integration_id,api_key\n" + "".join(f"{i},{k}\n" for i, k in zip(ids, keys, strict=True))
    )
    salt = os.urandom(16)
    journal = tmp_path / "run.jsonl"
    header = {"format": FORMAT, "version": 1, "salt": salt.hex(), "ids": ids_digest(ids)}
    with journal.open("w") as out:
        out.write(json.dumps(header) + "\n")
        for i, k in zip(ids[:-left], keys[:-left], strict=True):
            mark = fingerprint(salt, i, k)
            out.write(json.dumps({"integration_id": i, "state": "sending", "key": mark}) + "\n")
            out.write(json.dumps({"integration_id": i, "state": "ok", "key": mark}) + "\n")
    fake = FakePuretalk(api_key=CALLER_KEY)
    for integration_id in ids[-left:]:
        fake.add_integration(integration_id=integration_id, api_key="old-key-000")
    with fake.serve() as served:
        result = run(
            "integrations", "update-many", str(keys_csv), "--base-url", served.base_url,
            "--resume", str(journal),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resume: {n - left} already ok in {journal} with the same key" in result.stderr
    assert sorted(r.path.rsplit("/", 1)[1] for r in fake.requests) == sorted(ids[-left:])
    # The report covers every input id: those the journal marks done are listed as skipped.
    lines = result.stdout.splitlines()
    assert lines[-1] == f"{left} ok, 0 failed, 0 unknown, 0 not_sent, {n - left} skipped"
    assert len(lines) == n + 1
    assert sum(line.startswith("skipped ") for line in lines) == n - left


def test_a_piped_run_shows_progress_and_max_rate_caps_it(tmp_path: Path) -> None:
    """Under CI, nohup or a pipe, progress is a line every few seconds, then a closing
    line with the elapsed time; --max-rate keeps the run below the rate asked (an operator
    sharing a quota); --output json is one object per id, then the summary."""
    fake = fake_with(IDS[:36])
    keys = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS[:36])])
    with fake.serve() as served:
        started = time.monotonic()
        result = run(
            "integrations", "update-many", keys, "--base-url", served.base_url,
            "--max-rate", "5", "--output", "json",
        )  # fmt: skip
        took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert took >= 36 / 5 * 0.8  # the cap held (a token's burst at the start aside)
    progress = [line for line in result.stderr.splitlines() if " done, " in line]
    assert progress, result.stderr  # at least one line while it ran, though piped
    assert all(line.startswith("puretalk-ai: ") for line in progress)
    assert "36 of 36 updates ended in" in result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["state"] for e in entries[:-1]] == ["ok"] * 36
    summary = entries[-1]["summary"]
    assert 0 < summary.pop("elapsed_seconds") <= took
    assert summary == {
        "ok": 36, "failed": 0, "unknown": 0, "not_sent": 0, "skipped": 0, "rate_limited": 0
    }  # fmt: skip
    assert NEW_KEY not in result.stdout + result.stderr


def test_progress_never_keeps_stderr_quiet(tmp_path: Path) -> None:
    fake = fake_with(IDS[:3])
    keys = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(IDS[:3])])
    with fake.serve() as served:
        result = run(
            "integrations", "update-many", keys, "--base-url", served.base_url,
            "--progress", "never", "--max-rate", "0.5",
        )  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == ""


def test_messages_that_point_the_right_way(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run("integrations", "update-many", str(empty))
    assert result.returncode == EXIT_USAGE
    assert "the file is empty" in result.stderr
    other = run("integrations", "update-many", str(empty), "--api-key-env", "NEWK")
    assert (
        "--api-key-env (not an option of puretalk-ai integrations update-many)"
        in (
            other.stderr.splitlines()[-1]  # after argparse's usage line
        )
    )
    assert "did you mean" not in other.stderr
    typo = run("integrations", "update-many", str(empty), "--journl", "j.jsonl")
    assert "--journl (did you mean --journal?)" in typo.stderr.splitlines()[-1]
    seed = tmp_path / "seed.json"
    seed.write_text('[{"integration_id": "not-a-uuid"}]')
    bad_seed = run("fake-server", "--seed", str(seed))
    assert "bad seed data in integration #1: integration_id must be a UUID" in (
        one_line_error(bad_seed)
    )


def test_an_unknown_log_level_is_said_not_ignored() -> None:
    import sys

    script = "import puretalk_ai"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PURETALK_LOG": "verbose"}, check=False,
    )  # fmt: skip
    assert "PURETALK_LOG='verbose' is not a level (debug or info)" in result.stderr


def test_the_fake_server_injects_faults_from_the_command_line(tmp_path: Path) -> None:
    from puretalk_ai.testing import FakePuretalk as Fake

    fake = Fake(api_key=CALLER_KEY, fail_rate=1.0, fail_status=500, seed=1)
    stored = fake.add_integration(api_key="old-key-000")
    with fake.client(max_retries=0) as client, pytest.raises(InternalServerError):
        client.integrations.update(stored.integration_id, api_key=NEW_KEY)
    half = Fake(api_key=CALLER_KEY, fail_rate=0.5, seed=7)
    half.add_integration(integration_id=stored.integration_id, api_key="old-key-000")
    with half.client(max_retries=0) as client:
        outcomes = []
        for _ in range(40):
            try:
                client.integrations.update(stored.integration_id, api_key=NEW_KEY)
                outcomes.append("ok")
            except InternalServerError:
                outcomes.append("503")
    assert 5 < outcomes.count("503") < 35
    usage = run("fake-server", "--fail-rate", "2")
    assert usage.returncode == EXIT_USAGE


def test_the_summary_counts_the_servers_429s(tmp_path: Path) -> None:
    """Against a rate limit, the summary (text and JSON) counts the answers that were 429,
    as many as the server sent."""
    ids = IDS[:20]
    keys = csv_file(tmp_path, [(i, f"{NEW_KEY}-{n}") for n, i in enumerate(ids)])
    for output in ("text", "json"):
        fake = fake_with(ids, rate_limit=5)
        with fake.serve() as served:
            result = run(
                "integrations", "update-many", keys, "--base-url", served.base_url,
                "--concurrency", "16", "--output", output,
            )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        sent_429 = sum(r.status == 429 for r in fake.requests)
        assert sent_429 > 0  # slow start passes 5/s within a few round trips
        last = result.stdout.splitlines()[-1]
        if output == "json":
            assert json.loads(last)["summary"]["rate_limited"] == sent_429
        else:
            counts = "20 ok, 0 failed, 0 unknown, 0 not_sent"
            assert last == f"{counts}; {sent_429} answers were 429 (rate limited)"


def test_progress_and_its_closing_line_count_429s(capsys: pytest.CaptureFixture[str]) -> None:
    from puretalk_ai import UpdateNotOk
    from puretalk_ai._cli._report import Progress

    progress = Progress(2, "always", terminal=False)
    progress._drawn = progress.started - 60  # the next line is due
    progress.add(UpdateNotOk(IDS[0], "not_sent", reason="stopped", rate_limited=3))
    progress.add(UpdateNotOk(IDS[1], "not_sent", reason="stopped", rate_limited=2))
    progress.end()
    err = capsys.readouterr().err
    assert "1/2 done" in err
    assert "1 failed, 3 answers 429" in err
    assert "2 of 2 updates ended in" in err
    assert "2 not ok, 5 answers 429" in err
