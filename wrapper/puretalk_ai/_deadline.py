"""A deadline-aware httpcore network backend for the wrapper's own sync transport.

httpx's timeouts bound each socket operation, so a server that drips one byte at a time
never trips them. This backend clamps every connect, read, write and TLS handshake to the
time left before the attempt's deadline (a context variable the sender sets), so the attempt
ends on time whatever the server does. A connect by host name runs in a thread waited on
for the time left: the name lookup inside it takes no timeout of its own.
"""

from __future__ import annotations

import contextvars
import ipaddress
import threading
import time
from collections.abc import Callable
from typing import Any

from ._httpx import httpcore

# The monotonic time by which the current attempt must end, or None (set by the sender).
Deadline = contextvars.ContextVar[float | None]

__all__ = ["DeadlineBackend"]


def _clamp(deadline_var: Deadline, timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = deadline_var.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the attempt's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(self._deadline, timeout, httpcore.ConnectTimeout)
        tls = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Connecting:
    """One connect in a thread; a stream that arrives after its caller gave up is closed."""

    def __init__(self, connect: Callable[[], httpcore.NetworkStream]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.stream: httpcore.NetworkStream | None = None
        self.error: BaseException | None = None
        self.abandoned = False

    def run(self) -> None:
        try:
            stream = self._connect()
        except BaseException as exc:  # handed to the waiting caller as it is
            self.error = exc
        else:
            with self._lock:
                if self.abandoned:
                    stream.close()
                else:
                    self.stream = stream
        finally:
            self.done.set()

    def abandon(self) -> None:
        with self._lock:
            self.abandoned = True
            if self.stream is not None:
                self.stream.close()
                self.stream = None


def _within(connect: Callable[[], httpcore.NetworkStream], timeout: float) -> Any:
    attempt = _Connecting(connect)
    threading.Thread(target=attempt.run, name="puretalk-connect", daemon=True).start()
    if not attempt.done.wait(timeout):
        attempt.abandon()
        raise httpcore.ConnectTimeout("the name lookup or connect outlasted the deadline")
    if attempt.error is not None:
        raise attempt.error
    return attempt.stream


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._backend = backend
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(self._deadline, timeout, httpcore.ConnectTimeout)

        def connect() -> httpcore.NetworkStream:
            return self._backend.connect_tcp(host, port, timeout, local_address, socket_options)

        if timeout is None or _is_ip_address(host):
            return _DeadlineStream(connect(), self._deadline)
        # A name lookup takes no timeout: a slow resolver would hold the call past its
        # deadline. The connect runs in a thread of its own, waited on for the time left.
        return _DeadlineStream(_within(connect, timeout), self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        timeout = _clamp(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_unix_socket(path, timeout, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
