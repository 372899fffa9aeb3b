"""The journal: group commit that keeps 'durable before the send', fingerprints instead of
keys, and journals read in one streaming pass whatever their size."""

from __future__ import annotations

import asyncio
import errno
import io
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from puretalk_ai._cli import MAX_FILE_BYTES, _journal
from puretalk_ai._cli._journal import Journal, fingerprint, read_journal
from tests.secrets import NEW_KEY

IDS = [str(uuid.UUID(int=n + 1)) for n in range(100)]


def test_one_fsync_serves_every_line_written_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.jsonl"
    synced: list[int] = []  # how many bytes were on disk at each fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(0.02)  # a disk that takes its time: lines pile up meanwhile
        synced.append(os.fstat(fd).st_size)

    monkeypatch.setattr(os, "fsync", slow_fsync)

    async def go() -> list[int]:
        journal = Journal(str(path), "ids", None, ends_cut=False)
        sizes = []

        async def send(integration_id: str) -> None:
            await journal.sending(integration_id, "fp")
            # Durable before the send: an fsync covered this id's line.
            sizes.append(max(synced))
            assert integration_id in path.read_text()[: max(synced)]

        await asyncio.gather(*(send(i) for i in IDS))
        await journal.aclose()
        return sizes

    asyncio.run(go())
    assert 1 <= len(synced) <= 10  # not one fsync per line
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["format"] == _journal.FORMAT
    assert [entry["integration_id"] for entry in lines[1:]] == IDS


def test_a_failed_write_fails_every_waiter_and_writes_nothing_more(tmp_path: Path) -> None:
    full = tmp_path / "full.jsonl"

    class Full(io.StringIO):
        """A journal file on a full disk: every write fails."""

        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def fileno(self) -> int:
            return 0

    async def go() -> list[Any]:
        journal = Journal(str(full), "ids", None, ends_cut=False)
        journal._file.close()
        journal._file = Full()
        results = await asyncio.gather(
            *(journal.sending(i, "fp") for i in IDS[:5]), return_exceptions=True
        )
        journal.finished(IDS[0], "ok", "fp", None)
        await journal.aclose()
        assert journal.failed is not None
        return results

    results = asyncio.run(go())
    assert all(isinstance(r, OSError) and f"journal {full}" in str(r) for r in results)
    assert full.read_text() == ""  # nothing was written


def test_fingerprints_are_keyed_by_salt_id_and_key_and_hide_the_key() -> None:
    salt = b"s" * 16
    print_ = fingerprint(salt, IDS[0], NEW_KEY)
    assert NEW_KEY not in print_
    assert print_ == fingerprint(salt, IDS[0], NEW_KEY)
    assert print_ != fingerprint(b"t" * 16, IDS[0], NEW_KEY)
    assert print_ != fingerprint(salt, IDS[1], NEW_KEY)
    assert print_ != fingerprint(salt, IDS[0], NEW_KEY + "x")


def test_a_journal_larger_than_the_input_cap_is_read_in_one_pass(tmp_path: Path) -> None:
    salt = os.urandom(16)
    path = tmp_path / "big.jsonl"
    header = {"format": _journal.FORMAT, "version": 1, "salt": salt.hex(), "ids": "x"}
    filler = [
        json.dumps({"integration_id": str(uuid.UUID(int=n + 10_000)), "state": "ok", "key": "0"})
        for n in range(200_000)
    ]
    wanted = {"integration_id": IDS[0], "state": "ok", "key": fingerprint(salt, IDS[0], "k")}
    path.write_text("\n".join([json.dumps(header), *filler, json.dumps(wanted)]) + "\n")
    assert path.stat().st_size > MAX_FILE_BYTES  # past the cap of input files
    contents = read_journal(str(path))
    assert len(contents.states) == 200_001
    assert contents.states[IDS[0]].key == fingerprint(salt, IDS[0], "k")
    assert contents.salt == salt
    assert not contents.ends_cut


def test_a_second_run_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "run.jsonl")
    first = Journal(path, "ids", None, ends_cut=False)
    with pytest.raises(_journal.JournalError, match="in use by another run"):
        Journal(path, "ids", None, ends_cut=False)
    asyncio.run(first.aclose())
    second = Journal(path, "ids", None, ends_cut=False)  # free again once the first ends
    asyncio.run(second.aclose())


def test_a_journal_path_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("someone else's file\n")
    link = tmp_path / "run.jsonl"
    link.symlink_to(target)
    with pytest.raises(_journal.JournalError, match="is a symbolic link"):
        Journal(str(link), "ids", None, ends_cut=False)
    assert target.read_text() == "someone else's file\n"
