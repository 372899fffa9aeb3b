from __future__ import annotations

from pathlib import Path

import pytest

from scripts import extract_spec
from tests.helpers import DOCS_PAGE, VENDORED_SPEC, serve_bytes

PAGE = DOCS_PAGE.read_bytes()
# Located independently of the script's regex: the bytes between the fence lines.
OPEN_FENCE = b"````yaml openapi-ruth-connect PATCH /ruth-connect/integrations/{integration_id}\n"
EXPECTED = PAGE.split(OPEN_FENCE, 1)[1].rsplit(b"\n````", 1)[0] + b"\n"


def test_fixture_page_is_the_seed_and_block_is_located_independently() -> None:
    assert EXPECTED.startswith(b"openapi: 3.0.1\n")
    assert EXPECTED.endswith(b"the dashboard under 'API Keys'.\n\n")


def test_vendored_spec_is_byte_identical_to_the_docs_block() -> None:
    assert VENDORED_SPEC.read_bytes() == EXPECTED


def test_extracts_exact_bytes_from_a_file(tmp_path: Path) -> None:
    out = tmp_path / "puretalk.yaml"
    assert extract_spec.main([str(DOCS_PAGE), "--out", str(out)]) == 0
    assert out.read_bytes() == EXPECTED


def test_extracts_exact_bytes_from_loopback_http(tmp_path: Path) -> None:
    out = tmp_path / "puretalk.yaml"
    with serve_bytes(PAGE) as base:
        assert extract_spec.main([f"{base}/update-integration.md", "--out", str(out)]) == 0
    assert out.read_bytes() == EXPECTED


@pytest.mark.parametrize(
    ("page", "found"),
    [
        (b"# Update Integration\n\nno code here\n", 0),
        (PAGE + b"\n\n```yaml\nopenapi: 3.0.1\n```\n", 2),
    ],
    ids=["no-block", "two-blocks"],
)
def test_zero_or_two_blocks_is_an_error_and_leaves_the_file_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], page: bytes, found: int
) -> None:
    source = tmp_path / "page.md"
    source.write_bytes(page)
    out = tmp_path / "puretalk.yaml"
    out.write_bytes(b"previous contents\n")
    assert extract_spec.main([str(source), "--out", str(out)]) == 1
    assert out.read_bytes() == b"previous contents\n"
    assert f"found {found}" in capsys.readouterr().err
    # no temp file left behind either
    assert {p.name for p in tmp_path.iterdir()} == {"page.md", "puretalk.yaml"}


def test_a_yaml_block_that_is_not_openapi_is_refused(tmp_path: Path) -> None:
    with pytest.raises(extract_spec.SpecExtractionError, match="not an OpenAPI document"):
        extract_spec.extract_yaml_block(b"```yaml\nkey: value\n```\n")


def test_unreachable_url_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "puretalk.yaml"
    out.write_bytes(b"keep")
    with serve_bytes(PAGE) as base:
        pass  # the server is gone: the port now refuses connections
    assert extract_spec.main([f"{base}/page.md", "--out", str(out)]) == 1
    assert out.read_bytes() == b"keep"
