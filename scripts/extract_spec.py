"""Refresh the vendored OpenAPI document from Puretalk's docs page.

Usage: python -m scripts.extract_spec SOURCE [--out openapi/puretalk.yaml]

SOURCE is a file path or an http(s) URL of a docs page (Markdown) holding exactly one
fenced ``yaml`` block. The block's bytes, from the line after the opening fence to the
line before the closing fence, are written unchanged. The page itself is recorded beside
it as ``source-page.md``, so the byte-identity check needs no other copy. On any error
neither file is touched.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

import httpx
import yaml

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "openapi" / "puretalk.yaml"

# A CommonMark fence: 3+ backticks, an info string starting with "yaml", and a closing
# fence of the same backticks. The content keeps its exact bytes, trailing blank lines too.
_YAML_FENCE = re.compile(
    rb"^(?P<fence>`{3,})[ \t]*yaml\b[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


class SpecExtractionError(Exception):
    """The docs page did not yield exactly one valid OpenAPI YAML block."""


def read_source(source: str, *, timeout: float = 10.0) -> bytes:
    if source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, timeout=timeout, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SpecExtractionError(f"could not fetch {source}: {exc}") from None
        return response.content
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise SpecExtractionError(f"could not read {source}: {exc.strerror}") from None


def extract_yaml_block(page: bytes) -> bytes:
    blocks = [m.group("body") for m in _YAML_FENCE.finditer(page)]
    if len(blocks) != 1:
        raise SpecExtractionError(
            f"expected exactly one fenced yaml block in the page, found {len(blocks)}"
        )
    body = blocks[0]
    try:
        document = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise SpecExtractionError(f"the yaml block does not parse: {exc}") from None
    if not isinstance(document, dict) or "openapi" not in document:
        raise SpecExtractionError("the yaml block is not an OpenAPI document (no 'openapi' key)")
    return body


def write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


PAGE_RECORD = "source-page.md"


def refresh_spec(source: str, out: Path = DEFAULT_OUT) -> bytes:
    page = read_source(source)
    body = extract_yaml_block(page)
    write_atomically(out.parent / PAGE_RECORD, page)
    write_atomically(out, body)
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", help="docs page: a file path or an http(s) URL")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        body = refresh_spec(args.source, args.out)
    except SpecExtractionError as exc:
        print(f"extract_spec: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(body)} bytes to {args.out}, and the page to {PAGE_RECORD} beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
