"""The fake as a real HTTP/1.1 server on 127.0.0.1, started and stopped by a context manager."""

from __future__ import annotations

import http.server
import socket
import struct
import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the fake imports this module to serve itself
    from ._fake import FakePuretalk

__all__ = ["FakeServer"]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its proxy
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms a request on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if len(body) < length:  # the client went away mid-body: dropped, not malformed
            self.server.fake.record_dropped(self.command, self.path, headers, body)
            self.close_connection = True
            return
        answer = self.server.fake.handle(self.command, self.path, headers, body)
        if answer.delay:
            time.sleep(answer.delay)
        if answer.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if answer.reset:
            # Promise a body, send a few bytes of it, then RST (SO_LINGER with 0 timeout).
            self.close_connection = True
            self.wfile.write(b'HTTP/1.1 200 OK\r\ncontent-length: 512\r\n\r\n{"msg": "Integ')
            self.wfile.flush()
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.close()
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_PATCH = do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass  # the fake records requests itself; stderr stays quiet


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops SYNs under concurrent clients
    fake: FakePuretalk

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that timed out and went away is expected here (injected delays).
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FakeServer:
    """Serves a FakePuretalk on 127.0.0.1 (a free port unless one is given)."""

    def __init__(self, fake: FakePuretalk, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._server = _Server((host, port), _Handler)
        self._server.fake = fake
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url``: ``http://127.0.0.1:<port>/api``."""
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}{self.fake.base_path}"

    def start(self) -> FakeServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the CLI's fake-server command)."""
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
