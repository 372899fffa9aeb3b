"""Small test utilities shared by several test modules."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from puretalk_ai import RetryPolicy
from puretalk_ai.testing import FakePuretalk
from tests.secrets import CALLER_KEY

# Backoff in milliseconds, so retry tests run fast; passed to the clients that retry.
FAST_RETRIES = RetryPolicy(initial_delay=0.001, max_delay=0.004)


def source_files() -> list[str]:
    """The project's files: git's list in a checkout, the tree itself in an unpacked sdist."""
    import shutil
    import subprocess

    if (ROOT / ".git").exists():
        listed = subprocess.run(
            [shutil.which("git") or "git", "ls-files"],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        return listed.stdout.split()
    skip = {".venv", "node_modules", "dist", "build", "__pycache__", ".hypothesis", "PKG-INFO"}
    return [
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("*")
        if p.is_file()
        and not any(part in skip or part.startswith(".venv") for part in p.parts)
        and "egg-info" not in p.as_posix()
    ]


def spec_fields() -> set[str]:
    """The JSON fields of the generated Integration model: tests read them from the model,
    so a spec change (a field removed through `make generate`) needs no edit here."""
    import attrs

    from puretalk_ai_openapi.models import Integration

    return {f.name for f in attrs.fields(Integration) if f.name != "additional_properties"}


def optional_text_field() -> str:
    """An optional plain-string field of the model other than app_name (the last one)."""
    import attrs

    from puretalk_ai_openapi.models import Integration

    names = [
        f.name
        for f in attrs.fields(Integration)
        if str(f.type) in ("str | Unset", "Union[str, Unset]") and f.name != "app_name"
    ]
    assert names, "the model has no optional string field besides app_name"
    return names[-1]


ROOT = Path(__file__).resolve().parent.parent
# The docs page `make spec` read, recorded beside the spec it yielded.
DOCS_PAGE = ROOT / "openapi" / "source-page.md"
VENDORED_SPEC = ROOT / "openapi" / "puretalk.yaml"


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 with `handler`; yield its base URL, then stop."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """A keep-alive request handler for the tests' scripted servers: ``send_json`` writes
    one JSON answer, and nothing is logged."""

    protocol_version = "HTTP/1.1"

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_bytes(body: bytes, content_type: str = "text/markdown") -> Iterator[str]:
    """Serve `body` at every GET path on 127.0.0.1; yield the base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as base_url:
        yield base_url


def fake_with(ids: list[str], **options: Any) -> FakePuretalk:
    """A fake that knows the caller key and holds `ids` with an old key each."""
    fake = FakePuretalk(api_key=CALLER_KEY, **options)
    for integration_id in ids:
        fake.add_integration(integration_id=integration_id, api_key="old-key-000")
    return fake


def wait_for_successes(fake: FakePuretalk, count: int, seconds: float = 30.0) -> None:
    """Wait, bounded, until the fake has answered `count` requests with 200."""
    deadline = time.monotonic() + seconds
    while len([r for r in fake.requests if r.status == 200]) < count:
        assert time.monotonic() < deadline, f"fewer than {count} updates succeeded in {seconds} s"
        time.sleep(0.01)
