"""A faithful local fake of Puretalk's integration endpoint, for your own tests.

    from puretalk_ai.testing import FakePuretalk

    fake = FakePuretalk(api_key="test-key")
    fake.add_integration(integration_id="int-1", api_key="old")
    client = fake.client()                     # in-process, through an httpx transport
    client.integrations.update("int-1", api_key="new")
    assert fake.integrations["int-1"].api_key == "new"

    with fake.serve() as server:               # a real HTTP server on 127.0.0.1
        Puretalk(api_key="test-key", base_url=server.base_url)

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
