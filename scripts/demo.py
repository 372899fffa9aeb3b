"""make demo: rotate an integration key against the bundled fake Puretalk, end to end.

Starts the fake on 127.0.0.1, updates an integration through the public wrapper, then
again through the puretalk-ai CLI, prints the results with secrets redacted, and stops
the server.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from puretalk_ai import Puretalk
from puretalk_ai.testing import FakePuretalk

INTEGRATION_ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "puretalk-ai"
    return [str(script)] if script.exists() else [sys.executable, "-m", "puretalk_ai._cli"]


def main() -> int:
    caller_key = "demo-" + secrets.token_hex(8)  # never printed
    fake = FakePuretalk(api_key=caller_key)
    fake.add_integration(
        integration_id=INTEGRATION_ID,
        app_name="elevenlabs",
        friendly_app_name="ElevenLabs",
        tools=["text_to_speech", "voice_clone"],
        api_key="old-" + secrets.token_hex(8),
    )
    with fake.serve() as server:
        print(f"== fake Puretalk listening at {server.base_url}")

        print("\n== 1. through the wrapper: client.integrations.update(...)")
        with Puretalk(api_key=caller_key, base_url=server.base_url) as client:
            print(f"   {client!r}")
            integration = client.integrations.update(
                INTEGRATION_ID, api_key="sk-wrapper-" + secrets.token_hex(8)
            )
        print(f"   {integration!r}")
        stored = fake.integrations[INTEGRATION_ID]
        print(f"   stored key changed: {stored.api_key.startswith('sk-wrapper-')}")

        print("\n== 2. through the CLI: puretalk-ai integrations update ID --api-key-env VAR")
        new_key = "sk-cli-" + secrets.token_hex(8)
        env = dict(os.environ, PURETALK_API_KEY=caller_key, NEW_KEY=new_key)
        result = subprocess.run(
            [*_cli(), "integrations", "update", INTEGRATION_ID,
             "--api-key-env", "NEW_KEY", "--base-url", server.base_url],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        sys.stdout.write("   " + result.stdout.replace("\n", "\n   ").rstrip() + "\n")
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            return result.returncode
        print(f"   stored key changed: {fake.integrations[INTEGRATION_ID].api_key == new_key}")
        print(f"\n== the fake received {len(fake.requests)} requests:")
        for request in fake.requests:
            print(f"   {request!r}")
    print("\n== fake stopped. Done.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
