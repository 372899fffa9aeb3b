"""Property tests: any response yields an Integration or a PuretalkError; any id is one segment."""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import unquote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import puretalk_ai
from puretalk_ai import Puretalk
from tests.conftest import integration_json
from tests.helpers import spec_fields

BASE = "https://api.puretalk.test/api"
PREFIX = "/api/ruth-connect/integrations/"

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
# Bodies near the spec's shape reach deeper than random bytes do.
near_spec = st.builds(
    lambda overrides, err: {**integration_json(**overrides), "err": err},
    st.dictionaries(
        st.sampled_from(sorted(spec_fields())),
        json_values,
        max_size=3,
    ),
    st.sampled_from([False, True, None, "no", 0]),
)
bodies = (
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | near_spec.map(lambda v: json.dumps(v).encode())
)
header_text = st.text(alphabet=string.ascii_letters + string.digits + " -_.:/;=,", max_size=30)
headers = st.dictionaries(
    st.sampled_from(
        ["content-type", "content-encoding", "retry-after", "retry-after-ms", "x-custom"]
    ),
    header_text,
    max_size=3,
)


def client_answering(status: int, head: dict[str, str], body: bytes) -> Puretalk:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=head, content=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return Puretalk(api_key="fuzz-key", base_url=BASE, http_client=http, max_retries=0)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=st.integers(min_value=200, max_value=599), head=headers, body=bodies)
def test_any_response_is_an_integration_or_a_puretalk_error(
    status: int, head: dict[str, str], body: bytes
) -> None:
    client = client_answering(status, head, body)
    outcome: puretalk_ai.Integration | puretalk_ai.PuretalkError
    try:
        outcome = client.integrations.update("abc", api_key="k")
    except puretalk_ai.PuretalkError as exc:  # anything else fails the test
        outcome = exc
    if isinstance(outcome, puretalk_ai.PuretalkError):
        assert isinstance(outcome.message, str)
        # a non-2xx is always a status error, unless the body could not even be read
        expected = puretalk_ai.PuretalkError if 200 <= status < 300 else puretalk_ai.APIStatusError
        assert isinstance(outcome, expected | puretalk_ai.APIConnectionError)
        if 200 <= status < 300:
            assert not isinstance(outcome, puretalk_ai.APIStatusError)
        return
    integration = outcome
    assert 200 <= status < 300
    assert isinstance(integration, puretalk_ai.Integration)
    for stamp in (integration.created_at, integration.updated_at):
        assert isinstance(stamp, puretalk_ai.Unset) or stamp.tzinfo is not None
    repr(integration)  # the redacting repr copes with whatever came back


@settings(max_examples=400, deadline=None)
@given(
    integration_id=st.text(max_size=40) | st.text(min_size=250, max_size=300) | st.from_type(object)
)
def test_any_id_is_refused_or_sent_as_exactly_one_segment(integration_id: Any) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=integration_json(integration_id=integration_id))

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = Puretalk(api_key="fuzz-key", base_url=BASE, http_client=http, max_retries=0)
    try:
        client.integrations.update(integration_id, api_key="k")
    except (ValueError, TypeError):
        assert sent == []
        return
    (request,) = sent
    raw_path = request.url.raw_path.decode("ascii")
    assert raw_path.startswith(PREFIX)
    segment = raw_path[len(PREFIX) :]
    assert segment
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert unquote(segment) == integration_id
    assert request.url.query == b""
