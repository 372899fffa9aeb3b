"""Cassettes without keys (issue 16): a real rotation recorded with vcrpy through
``puretalk_ai.testing.vcr_config()`` holds neither key, and replays offline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import vcr

from puretalk_ai import AsyncPuretalk, Puretalk
from puretalk_ai.testing import FakePuretalk, vcr_config
from tests.secrets import CALLER_KEY, NEW_KEY

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = pytest.mark.e2e

ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"


def _spellings(key: str) -> list[str]:
    return [key, key.replace("/", "\\/"), "".join(f"\\u{ord(c):04x}" for c in key)]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_recorded_rotation_holds_no_key_and_replays_offline(tmp_path: Path, kind: str) -> None:
    cassette = tmp_path / "rotation.yaml"
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=ID, api_key="old-key-123")
    # The server echoes both keys in its message, and the new key where it belongs: the
    # scrubber masks what it learnt from the request wherever it shows up again.
    echo = {
        "err": False,
        "msg": f"rotated by {CALLER_KEY} to {NEW_KEY}",
        "results": {"integration_id": ID, "app_name": "elevenlabs", "data": {"api_key": NEW_KEY}},
    }
    fake.fail_next(1, status=200, body=json.dumps(echo).encode())

    def update(base_url: str) -> str:
        if kind == "sync":
            with Puretalk(api_key=CALLER_KEY, base_url=base_url, max_retries=0) as client:
                return str(client.integrations.update(ID, api_key=NEW_KEY).app_name)

        async def run() -> str:
            async with AsyncPuretalk(api_key=CALLER_KEY, base_url=base_url, max_retries=0) as c:
                return str((await c.integrations.update(ID, api_key=NEW_KEY)).app_name)

        return asyncio.run(run())

    with fake.serve() as server:
        base_url = server.base_url
        with vcr.VCR(**vcr_config()).use_cassette(str(cassette), record_mode="once"):
            recorded = update(base_url)
    assert len(fake.requests) == 1
    text = cassette.read_text()
    assert "ruth-connect/integrations" in text  # the rotation is in there
    for key in (CALLER_KEY, NEW_KEY):
        for spelling in _spellings(key):
            assert spelling not in text, "a key was recorded"
    # The server is gone: only the cassette can answer.
    with vcr.VCR(**vcr_config()).use_cassette(str(cassette), record_mode="none"):
        assert update(base_url) == recorded
    assert len(fake.requests) == 1


def test_the_usual_config_would_have_recorded_both_keys(tmp_path: Path) -> None:
    # What the issue observed, kept as proof that the check above can fail.
    cassette = tmp_path / "usual.yaml"
    fake = FakePuretalk(api_key=CALLER_KEY)
    fake.add_integration(integration_id=ID, api_key="old-key-123")
    usual = vcr.VCR(filter_headers=["authorization"])
    with (
        fake.serve() as server,
        Puretalk(api_key=CALLER_KEY, base_url=server.base_url) as client,
        usual.use_cassette(str(cassette)),
    ):
        client.integrations.update(ID, api_key=NEW_KEY)
    text = cassette.read_text()
    assert CALLER_KEY in text
    assert NEW_KEY in text
