from __future__ import annotations

from pathlib import Path

import pytest

from scripts import extract_spec
from tests.helpers import DOCS_PAGE, VENDORED_SPEC, serve_bytes

# Tests of the dev tooling, which make runs on .venv (3.11) only.
pytestmark = pytest.mark.tooling

PAGE = DOCS_PAGE.read_bytes()


def _block_by_lines(page: bytes) -> bytes:
    """The yaml block, located independently of the script's regex: line by line."""
    lines = page.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.lstrip(b"`").startswith(b"yaml"))
    fence = lines[start][: len(lines[start]) - len(lines[start].lstrip(b"`"))]
    end = next(i for i in range(start + 1, len(lines)) if lines[i].rstrip() == fence)
    return b"".join(lines[start + 1 : end])


EXPECTED = _block_by_lines(PAGE)


def test_the_recorded_page_holds_an_openapi_block() -> None:
    assert EXPECTED.startswith(b"openapi: ")


def test_vendored_spec_is_byte_identical_to_the_docs_block() -> None:
    assert VENDORED_SPEC.read_bytes() == EXPECTED


def test_a_refreshed_spec_needs_no_edit_in_tests(tmp_path: Path) -> None:
    # A new page (a field added): one command writes both the spec and its record, and
    # the record is what the identity check reads.
    indent = b"\n" + b" " * 8
    changed = PAGE.replace(
        indent + b"is_custom_tool:",
        indent + b"description:" + indent + b"  type: string" + indent + b"is_custom_tool:",
        1,
    )
    assert changed != PAGE
    source = tmp_path / "new-page.md"
    source.write_bytes(changed)
    out = tmp_path / "openapi" / "puretalk.yaml"
    out.parent.mkdir()
    assert extract_spec.main([str(source), "--out", str(out)]) == 0
    record = out.parent / "source-page.md"
    assert record.read_bytes() == changed
    assert out.read_bytes() == _block_by_lines(record.read_bytes())
    assert b"description:" in out.read_bytes()


def test_extracts_exact_bytes_from_a_file(tmp_path: Path) -> None:
    out = tmp_path / "puretalk.yaml"
    assert extract_spec.main([str(DOCS_PAGE), "--out", str(out)]) == 0
    assert out.read_bytes() == EXPECTED
    assert (tmp_path / "source-page.md").read_bytes() == PAGE


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
