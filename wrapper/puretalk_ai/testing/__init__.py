"""A faithful local fake of Puretalk's integration endpoint, for your own tests.

```python
from puretalk_ai import Puretalk
from puretalk_ai.testing import FakePuretalk

ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"  # Puretalk's integration ids are UUIDs
fake = FakePuretalk(api_key="test-key")
fake.add_integration(integration_id=ID, api_key="old")
with fake.client() as client:  # in-process, through an httpx transport
    client.integrations.update(ID, api_key="new-key-0123")
assert fake.integrations[ID].api_key == "new-key-0123"

with fake.serve() as server:  # a real HTTP server on 127.0.0.1
    with Puretalk(api_key="test-key", base_url=server.base_url) as client:
        client.integrations.update(ID, api_key="newer-key-0123")
```

For cassettes (vcrpy, pytest-recording) that hold no key: ``vcr.VCR(**vcr_config())``.

Nothing here is imported by ``import puretalk_ai``, and it needs no extra dependency.
"""

from ._cassettes import CassetteScrubber, vcr_config
from ._fake import Answer, FakeIntegration, FakePuretalk, Fault, RecordedRequest
from ._server import FakeServer
from ._transport import AsyncFakeTransport, FakeTransport

__all__ = [
    "Answer",
    "AsyncFakeTransport",
    "CassetteScrubber",
    "FakeIntegration",
    "FakePuretalk",
    "FakeServer",
    "FakeTransport",
    "Fault",
    "RecordedRequest",
    "vcr_config",
]
