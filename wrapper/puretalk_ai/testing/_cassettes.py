"""Cassettes without keys: scrubbing hooks for vcrpy and pytest-recording.

Cassettes get committed; a recorded rotation would publish the caller's key (the
``X-API-KEY`` header) and the new key (the request body, and the response's
``results.data.api_key``). ``vcr_config()`` returns the options that keep both out::

    # conftest.py, with pytest-recording
    @pytest.fixture(scope="module")
    def vcr_config():
        return puretalk_ai.testing.vcr_config()

    # or with vcrpy directly
    my_vcr = vcr.VCR(**puretalk_ai.testing.vcr_config())

One ``CassetteScrubber`` learns each key from the requests it scrubs (the header and every
secret-named body field), and masks those keys wherever a response echoes them too. Replay
still matches: vcrpy matches on method and URL by default, never on the masked parts.
"""

from __future__ import annotations

import json
from typing import Any

from .._operation import secret_values
from .._redaction import REDACTED, KeyRing, Secrets, loads_bounded

__all__ = ["CassetteScrubber", "vcr_config"]

_AUTH_HEADERS = ("x-api-key", "authorization")


class CassetteScrubber:
    """``before_record_request``/``before_record_response`` hooks for vcrpy."""

    def __init__(self) -> None:
        self._keys = KeyRing()

    def __repr__(self) -> str:
        return "CassetteScrubber(***)"

    # pytest-recording deep-copies its config (the hooks included) for every test. The
    # scrubber is one shared memory of keys, and its ring holds secrets that must never be
    # pickled, so a copy is the scrubber itself.
    def __copy__(self) -> CassetteScrubber:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> CassetteScrubber:
        return self

    def before_record_request(self, request: Any) -> Any:
        """Mask the auth header and every secret-named body field; remember their values."""
        for name in list(request.headers):
            if name.lower() in _AUTH_HEADERS:
                self._keys.add(str(request.headers[name]))
                request.headers[name] = REDACTED
        body = request.body
        if body:
            request.body = self._scrub_body(body, learn=True)
        return request

    def before_record_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """Mask secret-named fields and every key seen in a request, in headers and body."""
        headers = response.get("headers") or {}
        for name, values in headers.items():
            headers[name] = [self._keys.redact(str(v)) for v in values]
        body = response.get("body") or {}
        if body.get("string"):
            body["string"] = self._scrub_body(body["string"], learn=False)
        return response

    def _scrub_body(self, body: bytes | str, *, learn: bool) -> bytes:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        parsed, ok = loads_bounded(raw)
        if not ok:
            return self._keys.redact(raw.decode("utf-8", "replace")).encode("utf-8")
        if learn:  # the keys a request carries in its secret-named fields
            for value in secret_values(parsed):
                self._keys.add(value)
        masked = Secrets(()).redact_json(parsed)  # secret-named fields, any length
        text = json.dumps(masked, ensure_ascii=False)
        return self._keys.redact(text).encode("utf-8")


def vcr_config() -> dict[str, Any]:
    """vcrpy/pytest-recording options that record no key (a fresh scrubber each call)."""
    scrubber = CassetteScrubber()
    return {
        "before_record_request": scrubber.before_record_request,
        "before_record_response": scrubber.before_record_response,
        # Bodies are stored decoded, so the scrubber sees the text a server sent.
        "decode_compressed_response": True,
    }
