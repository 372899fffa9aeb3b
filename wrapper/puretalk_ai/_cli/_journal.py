"""The CLI's ``--journal``: a JSON-lines record of every update sent and finished.

- Durable before the send: an id's ``sending`` line is on disk (fsynced) before its request
  leaves, so after a crash every key that may be live is journaled.
- Group commit: one fsync serves every line written while the previous one was running, so
  the journal costs little at hundreds of updates per second.
- No key, ever: each line carries a fingerprint of the new key, an HMAC-SHA256 under a
  random salt kept in the journal's header line, from which the key cannot practically be
  recovered (for high-entropy API keys; a guessable key is guessable from any hash).
  ``--resume`` skips an id only when the journal marks it ``ok`` for the same key.
"""

from __future__ import annotations

import asyncio
import datetime
import errno
import hashlib
import hmac
import json
import os
import secrets
import stat
import uuid
from collections.abc import Iterable
from typing import IO, Any

import attrs

from .._redaction import loads_bounded

__all__ = ["Journal", "JournalState", "fingerprint", "ids_digest", "read_journal"]

FORMAT = "puretalk-ai journal"


class JournalError(Exception):
    """A journal that cannot be read (the message names the file and line)."""


def fingerprint(salt: bytes, integration_id: str, api_key: str) -> str:
    message = f"{integration_id}\0{api_key}".encode("utf-8", "surrogatepass")
    return hmac.new(salt, message, hashlib.sha256).hexdigest()[:32]


def ids_digest(ids: Iterable[str]) -> str:
    """Which input a journal was written for: a digest of its ids (not of its keys)."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


@attrs.frozen
class JournalState:
    """What a journal says of one id: its last state, and the fingerprint it was for."""

    state: str
    key: str | None  # None: written before fingerprints (0.2.0)
    salt: bytes | None


@attrs.frozen
class JournalContents:
    states: dict[str, JournalState]
    salt: bytes | None  # the salt of the last header, to go on with
    ids: str | None  # the ids digest of the last header
    ends_cut: bool  # the last line has no newline: a crash cut it


# A journal line is a few hundred bytes; anything far longer is not one of ours.
MAX_LINE_BYTES = 64 * 1024


def _open_regular(path: str, flags: int) -> int:
    """A descriptor of `path` if it is a regular file (or absent, when creating): never a
    FIFO or device, which could block the run forever or take the record elsewhere.
    Opened without blocking, then checked."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise JournalError(
                f"journal {path} is a symbolic link; give the path of the file itself"
            ) from None
        if exc.errno == errno.ENXIO:  # a FIFO with no reader
            raise JournalError(f"journal {path} is not a regular file") from None
        raise JournalError(f"cannot open journal {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise JournalError(f"journal {path} is not a regular file")
    return fd


def read_journal(path: str) -> JournalContents:
    """Every id's last state, in one streaming pass (no size cap). A line cut short by a
    crash is ignored when it is the last one, or when the next run's header follows it
    (that run ended it before appending); a bad line anywhere else (not JSON, nested too
    deep, too long, not UTF-8) is an error naming its line."""
    states: dict[str, JournalState] = {}
    salt: bytes | None = None
    ids: str | None = None
    ends_cut = False
    with open(_open_regular(path, os.O_RDONLY), "rb") as handle:
        pending: int | None = None  # a bad line's number: an error unless it is last
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            ends_cut = not raw.endswith(b"\n")
            if len(raw) > MAX_LINE_BYTES:
                raise JournalError(f"{path}: line {number}: longer than {MAX_LINE_BYTES} bytes")
            if not raw.strip():
                continue
            entry, ok = loads_bounded(raw)
            try:
                if not ok:
                    raise ValueError
                if entry.get("format") == FORMAT:
                    salt, ids = bytes.fromhex(entry["salt"]), entry.get("ids")
                    pending = None  # a crash cut the line before: a new run began here
                    continue
                if pending is not None:
                    break
                integration_id = str(uuid.UUID(entry["integration_id"]))
                states[integration_id] = JournalState(
                    str(entry["state"]), entry.get("key"), salt if "key" in entry else None
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                if pending is not None:
                    break
                pending = number
        else:
            if pending is not None:
                ends_cut = True  # the last line, cut short by a crash
            pending = None
        if pending is not None:
            raise JournalError(f"{path}: line {pending}: not a journal entry")
    return JournalContents(states, salt, ids, ends_cut)


def _open_exclusively(path: str) -> IO[str]:
    """The journal, opened to append: never through a symbolic link (a link planted where
    a journal is expected would send the record elsewhere), and locked, so a second run on
    the same journal is refused instead of interleaving its lines (POSIX; where there is no
    ``fcntl``, as on Windows, the lock is skipped)."""
    fd = _open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None  # type: ignore[assignment]
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise JournalError(
                    f"journal {path} is in use by another run; wait for it to end, or "
                    "give this run a journal of its own"
                ) from None
            raise JournalError(f"cannot lock journal {path}: {exc.strerror}") from None
    return os.fdopen(fd, "a", encoding="utf-8")


class Journal:
    """Appends to the journal from the asyncio loop; fsyncs in a worker thread."""

    def __init__(self, path: str, ids: str, salt: bytes | None, *, ends_cut: bool) -> None:
        self.path = path
        self._file: IO[str] = _open_exclusively(path)
        self.salt = salt if salt is not None else secrets.token_bytes(16)
        self._lines: list[str] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._failed: OSError | None = None
        if ends_cut:
            self._lines.append("")  # end the line a crash cut, so ours start on their own
        # Every run starts with a header (the salt of the journal, kept across runs).
        header = {"format": FORMAT, "version": 1, "salt": self.salt.hex(), "ids": ids}
        self._lines.append(json.dumps(header))

    def sending(self, integration_id: str, key: str) -> asyncio.Future[None]:
        """Journal that the update is about to be sent; await the result before sending."""
        entry = {"integration_id": integration_id, "state": "sending", "key": key}
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._add(entry)
        return waiter

    def finished(
        self, integration_id: str, state: str, key: str, error: BaseException | None
    ) -> None:
        entry: dict[str, Any] = {"integration_id": integration_id, "state": state, "key": key}
        if error is not None:
            entry["error"] = type(error).__name__
            entry["message"] = str(error)
        self._add(entry)

    def _add(self, entry: dict[str, Any]) -> None:
        entry["time"] = _now()
        self._lines.append(json.dumps(entry))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._lines:
            lines, self._lines = self._lines, []
            waiters, self._waiters = self._waiters, []
            error = self._failed  # once a write failed, nothing more is written
            if error is None:
                try:
                    self._file.write("\n".join(lines) + "\n")
                    self._file.flush()
                    # One fsync for every line written meanwhile (group commit).
                    await asyncio.to_thread(os.fsync, self._file.fileno())
                except OSError as exc:
                    error = self._failed = exc
            for waiter in waiters:
                if waiter.done():
                    continue
                if error is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(
                        OSError(error.errno, f"journal {self.path}: {error.strerror}")
                    )

    async def aclose(self) -> None:
        """Write what is pending, then close."""
        if self._flushing is not None:
            await asyncio.shield(self._flushing)
        if self._lines:
            await self._flush()
        try:
            self._file.close()
        except OSError as exc:
            self._failed = self._failed or exc

    @property
    def failed(self) -> OSError | None:
        return self._failed
