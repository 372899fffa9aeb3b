"""A raw-socket HTTP server on 127.0.0.1 that misbehaves on purpose, and an RSS sampler.

Each behaviour gets the connected socket after the request has been read, and a stop
event; every loop is bounded by that event and by its own time or byte budget, so a test
that fails never leaves a server running.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

Behaviour = Callable[[socket.socket, threading.Event], None]

MAX_SECONDS = 30.0  # no behaviour runs longer than this, whatever the client does


def read_request(conn: socket.socket) -> None:
    """Read one whole request (head and Content-Length body) from the connection."""
    _read_request(conn)


def _read_request(conn: socket.socket) -> None:
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        rest += chunk


class HostileServer:
    """Serves `behaviour` to every connection; use as ``with HostileServer(b) as url:``."""

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.tls = tls  # serve https with this context (a self-signed certificate)
        self.stop = threading.Event()
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._threads: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._sock.getsockname()[1]}/api"

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            if self.tls is not None:
                conn.settimeout(5)
                conn = self.tls.wrap_socket(conn, server_side=True)  # the client may refuse
            _read_request(conn)
            conn.settimeout(5)
            self.behaviour(conn, self.stop)

    def __enter__(self) -> str:
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self.base_url

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)


def self_signed_tls(directory: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1 (openssl CLI)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl")
    assert openssl is not None, "the TLS tests need the openssl command (Debian: openssl)"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def hang_up() -> Behaviour:
    """Read the request, then close the connection without a word."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        return

    return behaviour


def silence() -> Behaviour:
    """Read the request, then never answer (until the server stops)."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(MAX_SECONDS)

    return behaviour


# --- behaviours ------------------------------------------------------------------------------


def drip(data: bytes, every: float = 0.5) -> Behaviour:
    """Send `data` one byte at a time, `every` seconds apart."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        started = time.monotonic()
        for byte in data:
            if stop.wait(every) or time.monotonic() - started > MAX_SECONDS:
                return
            conn.sendall(bytes([byte]))

    return behaviour


OK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


def endless_headers(every: float = 0.2) -> Behaviour:
    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        started = time.monotonic()
        while not stop.wait(every) and time.monotonic() - started < MAX_SECONDS:
            conn.sendall(b"x-more: 1\r\n")

    return behaviour


def _stream(conn: socket.socket, stop: threading.Event, head: bytes, piece: bytes) -> None:
    conn.sendall(head)
    started = time.monotonic()
    while not stop.is_set() and time.monotonic() - started < MAX_SECONDS:
        conn.sendall(piece)


def endless_chunked() -> Behaviour:
    piece = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    return lambda conn, stop: _stream(conn, stop, head, piece)


def one_byte_chunks() -> Behaviour:
    """An endless chunked body whose every chunk holds one byte (65,536 chunks per send)."""
    piece = b"1\r\na\r\n" * 0x10000
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    return lambda conn, stop: _stream(conn, stop, head, piece)


def huge_content_length(status: int = 200) -> Behaviour:
    head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n".encode()
    head += b"content-length: 2000000000\r\n\r\n"
    return lambda conn, stop: _stream(conn, stop, head, b"a" * 0x10000)


_BOMB: bytes | None = None


def gzip_compress(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # byte-identical in every process (xdist ids)


def gzip_bomb() -> bytes:
    """512 MiB of JSON-ish zeros, gzipped twice: a few KiB on the wire."""
    global _BOMB
    if _BOMB is None:
        inner = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        block = b"0" * (1 << 20)
        parts = [inner.compress(b"[") for _ in range(1)]
        parts += [inner.compress(block) for _ in range(512)]
        parts.append(inner.flush())
        _BOMB = gzip.compress(b"".join(parts), 9, mtime=0)
    return _BOMB


def serve_bytes(head: bytes, body: bytes) -> Behaviour:
    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head + f"content-length: {len(body)}\r\n\r\n".encode() + body)

    return behaviour


def serve_bytes_then_close(head: bytes, body: bytes) -> Behaviour:
    """Send `head` (framing included) and `body` as they are, then close."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head + body)

    return behaviour


# --- memory ------------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def peak_rss_growth() -> Iterator[list[int]]:
    """Yields a list that holds, afterwards, the peak RSS growth in bytes (sampled every 2 ms)."""
    base = rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], rss_bytes())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    result: list[int] = [0]
    try:
        yield result
    finally:
        done.set()
        thread.join(timeout=5)
        peak[0] = max(peak[0], rss_bytes())
        result[0] = peak[0] - base
