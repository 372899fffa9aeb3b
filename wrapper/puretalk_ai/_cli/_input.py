"""Reading keys (stdin or an environment variable) and the input and seed files, bounded."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

import attrs

from .._redaction import MaskedKey
from .._request import check_api_key
from ._exit import (
    MAX_FILE_BYTES,
    MAX_LINE_CHARS,
    CliError,
)

# --- reading keys and files -----------------------------------------------------------------


def key_problem(api_key: object) -> str | None:
    """Why a new key read from a file, stdin or the environment is refused (never echoed):
    the SDK's own check first (what sending would refuse), then the CLI's."""
    try:
        check_api_key(MaskedKey(api_key))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        return str(exc).removeprefix("api_key ")
    assert isinstance(api_key, str)
    if api_key != api_key.strip():
        return "has leading or trailing whitespace"
    if "\n" in api_key or "\r" in api_key:
        return "contains a line break"
    return None


def _drop_one_newline(text: str) -> str:
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


def read_new_key(env_var: str | None, stdin: TextIO) -> str:
    """The new key from $VAR, or stdin (one trailing newline dropped), checked."""
    if env_var:
        if not _ENV_NAME.fullmatch(env_var):
            raise CliError("--api-key-env takes the NAME of an environment variable")
        api_key = os.environ.get(env_var, "")
        where = f"environment variable {env_var}"
        if not api_key:
            raise CliError(f"{where} is not set or empty")
    else:
        where = "the new API key on stdin"
        try:
            if stdin.isatty():
                api_key = getpass.getpass("New integration API key: ")
            else:
                api_key = _drop_one_newline(stdin.read(MAX_LINE_CHARS + 2))
        except EOFError:
            api_key = ""
        if not api_key:
            raise CliError("no new API key on stdin (or pass --api-key-env VAR)")
    problem = key_problem(api_key)
    if problem is not None:
        raise CliError(f"{where} {problem}; it was not sent")
    return api_key


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class Row:
    line: int
    integration_id: str
    api_key: str = attrs.field(repr=False)


def _looks_like_jsonl(path: Path, text: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    return text.lstrip().startswith("{")


def read_input(name: str) -> str:
    """The whole update file (or stdin for "-"), capped at MAX_FILE_BYTES, as UTF-8
    (a BOM, as Excel writes, is dropped)."""
    try:
        if name == "-":
            data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with open(name, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CliError(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CliError(f"{name}: line {line}: not UTF-8") from None


def parse_rows(path: Path, text: str) -> tuple[list[Row], list[str]]:
    """Rows and the problems found, each problem naming its line. Values never shown."""
    rows: list[Row] = []
    problems: list[str] = []
    if not text.strip():
        return [], ["the file is empty: nothing to send"]
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE_CHARS:
            return [], [f"line {number}: longer than {MAX_LINE_CHARS} characters"]
    if _looks_like_jsonl(path, text):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except (ValueError, RecursionError):
                problems.append(f"line {number}: not valid JSON")
                continue
            if not isinstance(item, dict):
                problems.append(f"line {number}: expected an object")
                continue
            rows.append(_row(number, item.get("integration_id"), item.get("api_key"), problems))
    else:
        reader = csv.reader(io.StringIO(text), strict=True)
        try:
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != ["integration_id", "api_key"]:
                problems.append("line 1: the CSV header must be exactly: integration_id,api_key")
                return [], problems
            for fields in reader:
                number = reader.line_num
                if not fields or not any(f.strip() for f in fields):
                    continue
                if len(fields) != 2:
                    problems.append(f"line {number}: expected 2 fields, got {len(fields)}")
                    continue
                rows.append(_row(number, fields[0], fields[1], problems))
        except csv.Error:
            problems.append(f"line {reader.line_num}: malformed CSV (a stray or unbalanced quote?)")
    rows = [r for r in rows if r.integration_id and r.api_key]
    seen: dict[str, int] = {}
    for row in rows:
        if row.integration_id in seen:
            first = seen[row.integration_id]
            problems.append(f"line {row.line}: duplicate integration_id (first on line {first})")
        else:
            seen[row.integration_id] = row.line
    if not rows and not problems:
        problems.append("the file holds no updates")
    return rows, problems


def _row(number: int, integration_id: Any, api_key: Any, problems: list[str]) -> Row:
    """One checked row. Puretalk's integration ids are UUIDs, so anything else is refused
    by line number, without echoing the cell (swapped columns would print a key)."""
    canonical = ""
    if not isinstance(integration_id, str) or not integration_id.strip():
        problems.append(f"line {number}: integration_id is missing or empty")
    else:
        try:
            canonical = str(uuid.UUID(integration_id.strip()))
        except ValueError:
            problems.append(f"line {number}: integration_id is not a UUID (value not shown)")
    if api_key is None or api_key == "":
        problems.append(f"line {number}: api_key is missing or empty")
        api_key = ""
    elif (problem := key_problem(api_key)) is not None:
        problems.append(f"line {number}: api_key {problem}")
        api_key = ""
    return Row(number, canonical, api_key)


def load_seed(path: str | None) -> list[dict[str, Any]]:
    if path is None:
        return [
            {
                "integration_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "puretalk-fake/elevenlabs")),
                "app_name": "elevenlabs",
                "friendly_app_name": "ElevenLabs",
                "tools": ["text_to_speech"],
                "api_key": "seeded-key",
            }
        ]
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read seed file {path}: {exc}") from None
    items = data.get("integrations") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CliError("the seed file must hold a JSON list of integrations")
    return items
