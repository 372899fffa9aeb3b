"""The commands: update, update-many (its async driver, journal and signals) and fake-server."""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

from .._bulk import UpdateResult
from .._client import AsyncPuretalk, ClientOptions, Puretalk
from .._config import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from .._httpx import has_aiohttp
from .._operation import secret_values
from .._redaction import loads_bounded, redact_json
from .._transport import HttpBackend
from ._exit import (
    EXIT_INTERRUPTED,
    EXIT_JOURNAL,
    EXIT_OK,
    PROG,
    CliError,
    exit_code_for,
)
from ._input import (
    _ENV_NAME,
    Row,
    load_seed,
    parse_rows,
    read_input,
    read_new_key,
)
from ._journal import Journal, JournalError, fingerprint, ids_digest, read_journal
from ._report import (
    Progress,
    _interrupted_note,
    _note,
    doomed,
    integration_json,
    printable,
    report,
    stop_reason,
)

# --- commands -------------------------------------------------------------------------------


def _client_options(args: argparse.Namespace) -> ClientOptions:
    """The connection options shared by every command's client."""
    return {
        "base_url": args.base_url,
        "allow_insecure_http": args.allow_insecure_http,
        "timeout": args.timeout if args.timeout is not None else DEFAULT_TIMEOUT,
        "max_retries": args.max_retries if args.max_retries is not None else DEFAULT_MAX_RETRIES,
    }


def _client(args: argparse.Namespace) -> Puretalk:
    return Puretalk(**_client_options(args))


def cmd_update(args: argparse.Namespace, out: TextIO) -> int:
    try:  # Puretalk's integration ids are UUIDs; anything else may be a pasted key
        uuid.UUID(args.integration_id)
    except ValueError:
        raise CliError("integration_id is not a UUID (value not shown); nothing was sent") from None
    api_key = read_new_key(args.api_key_env, sys.stdin)
    with _client(args) as client:
        integration = client.integrations.update(args.integration_id, api_key=api_key)
        shown = integration_json(integration, args.show_secrets, (client._config.api_key, api_key))
    json.dump(shown, out, indent=2)
    out.write("\n")
    return EXIT_OK


def cmd_api(args: argparse.Namespace, out: TextIO) -> int:
    """Any path of the API, as ``gh api``: the JSON answer, secret-named fields masked."""
    params: dict[str, str] = {}
    for pair in args.param:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError("--param takes NAME=VALUE")
        params[name] = value
    body = None
    if args.input is not None:
        text = read_input(args.input)
        body, ok = loads_bounded(text)
        if not ok:
            raise CliError(f"{args.input}: not JSON, or nested too deep")
    with _client(args) as client:
        raw = client.with_raw_response.request(args.method, args.path, params=params, json=body)
        secrets = (client._config.api_key, *secret_values([body]))
    data = raw.parse()
    shown = data if args.show_secrets else redact_json(data, secrets)
    json.dump(shown, out, indent=2)
    out.write("\n")
    return EXIT_OK


def _resume_plan(
    args: argparse.Namespace, rows: list[Row], input_ids: str
) -> tuple[list[Row], list[str], bytes | None, bool]:
    """The rows still to send after ``--resume``, the ids skipped (already ok with the same
    key), the journal's salt, and whether it ends cut."""
    try:
        journal = read_journal(args.resume)
    except JournalError as exc:
        raise CliError(str(exc), EXIT_JOURNAL) from None
    if journal.ids is not None and journal.ids != input_ids:
        _note(
            f"resume: {args.resume} was written for another input file; only the ids it marks "
            "ok with the same key are skipped"
        )
    same, other_key, unverified, in_flight, todo = 0, 0, 0, 0, []
    skipped: list[str] = []
    for row in rows:
        entry = journal.states.get(row.integration_id)
        if entry is not None and entry.state == "ok":
            if entry.salt is None:
                unverified += 1
            elif entry.key == fingerprint(entry.salt, row.integration_id, row.api_key):
                same += 1
                skipped.append(row.integration_id)
                continue
            else:
                other_key += 1
        elif entry is not None and entry.state == "sending":
            in_flight += 1
        todo.append(row)
    _note(f"resume: {same} already ok in {args.resume} with the same key; not sent again")
    if other_key:
        _note(f"resume: {other_key} are ok there with a different key; sending the new keys")
    if unverified:
        _note(
            f"resume: {unverified} are ok there without a key fingerprint (written by "
            "puretalk-ai < 0.3); sending them again"
        )
    if in_flight:
        _note(
            f"resume: {in_flight} were in flight when that run stopped (state unknown); "
            "sending them again"
        )
    return todo, skipped, journal.salt, journal.ends_cut


def cmd_update_many(args: argparse.Namespace, out: TextIO) -> int:
    if (
        args.journal
        and args.resume
        and os.path.realpath(args.journal) != os.path.realpath(args.resume)
    ):
        raise CliError(
            "--journal and --resume name different files: --resume JOURNAL already goes on "
            "journaling to JOURNAL"
        )
    text = read_input(args.file)
    rows, problems = parse_rows(Path(args.file), text)
    del text
    if problems:
        for problem in problems:
            print(f"{PROG}: {args.file}: {problem}", file=sys.stderr)
        raise CliError(f"{len(problems)} problem(s) in {args.file}; nothing was sent")
    input_ids = ids_digest(r.integration_id for r in rows)
    salt: bytes | None = None
    ends_cut = False
    skipped: list[str] = []
    if args.resume:
        rows, skipped, salt, ends_cut = _resume_plan(args, rows, input_ids)
    backend: HttpBackend = args.http or ("aiohttp" if has_aiohttp() else "httpx")
    # Building the client checks the key, base URL and options, sending nothing.
    bulk_client = AsyncPuretalk(**_client_options(args), http_backend=backend)
    if args.dry_run:
        print(f"{args.file}: {len(rows)} updates are valid; nothing was sent (--dry-run)", file=out)
        return EXIT_OK
    journal_path = args.journal or args.resume
    try:
        journal = (
            Journal(journal_path, input_ids, salt, ends_cut=ends_cut) if journal_path else None
        )
    except JournalError as exc:
        raise CliError(str(exc), EXIT_JOURNAL) from None
    pairs = [(r.integration_id, r.api_key) for r in rows]
    del rows
    progress = Progress(len(pairs), args.progress, sys.stderr.isatty(), len(skipped))
    if args.progress == "always":
        progress.terminal = False  # a line every few seconds, whatever stderr is
    results, interrupted, journal_error = asyncio.run(
        _bulk(bulk_client, pairs, args.concurrency, journal, progress, args.max_rate)
    )
    if interrupted:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut the report
    elapsed = time.monotonic() - progress.started
    code = report(results, out, skipped, as_json=args.output == "json", elapsed=elapsed)
    if journal_error is not None:
        _note(
            f"error: cannot write the journal ({journal_error}); the batch stopped before "
            "sending the update it could not journal"
        )
        return EXIT_JOURNAL
    if interrupted:
        _interrupted_note(args, results, journal_path)
        return EXIT_INTERRUPTED
    wall = doomed(results, bulk_client.base_url)
    if wall is not None:
        _note(wall[1])
        return exit_code_for(wall[0])
    why = stop_reason(results)
    if why is not None:  # the server's pause or policy, too long to wait: resume later
        _note(f"stopped early: {why}")
    return code


async def _bulk(
    client: AsyncPuretalk,
    pairs: list[tuple[str, str]],
    concurrency: int,
    journal: Journal | None,
    progress: Progress,
    max_rate: float | None,
) -> tuple[list[UpdateResult], bool, OSError | None]:
    """Run update_many; Ctrl-C cancels it, and the states come back with the cancellation."""
    keys: dict[str, str] = {}
    if journal is not None:  # fingerprints, computed once: never the keys themselves
        keys = {i: fingerprint(journal.salt, i, k) for i, k in pairs}

    def on_start(integration_id: str) -> Any:
        if journal is not None:
            return journal.sending(integration_id, keys[integration_id])
        return None

    def on_result(result: UpdateResult) -> None:
        if journal is not None:
            journal.finished(
                result.integration_id, result.state, keys[result.integration_id], result.error
            )
        progress.add(result)

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(
        client.integrations.update_many(
            pairs,
            concurrency=concurrency,
            on_start=on_start,
            on_result=on_result,
            max_rate=max_rate,
        )
    )
    del pairs
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel("interrupted")  # a second Ctrl-C lands here too: no traceback

    restore_signals = _handle_signals(loop, interrupt)
    try:
        try:
            return await task, False, None
        except asyncio.CancelledError as exc:
            if not interrupted:
                raise
            return exc.update_results, True, None  # type: ignore[attr-defined]
        except OSError as exc:  # the journal could not be written: nothing more was sent
            if journal is None or journal.failed is None:
                raise
            return exc.update_results, False, journal.failed  # type: ignore[attr-defined]
    finally:
        progress.end()
        for restore in restore_signals:
            restore()
        await client.aclose()
        if journal is not None:
            await journal.aclose()


def _handle_signals(loop: asyncio.AbstractEventLoop, interrupt: Any) -> list[Any]:
    """Ctrl-C and SIGTERM (kill, systemd, CI runners) both interrupt with a full report.

    Returns the functions that put the previous handling back. Where the loop has no
    signal handlers (Windows), a plain ``signal.signal`` handler hands the signal to the
    loop instead; a signal the platform lacks is skipped.
    """
    undo: list[Any] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, interrupt)
        except (NotImplementedError, RuntimeError):
            try:
                previous = signal.signal(signum, lambda *_: loop.call_soon_threadsafe(interrupt))
            except (ValueError, OSError):  # not the main thread, or no such signal here
                continue
            undo.append(functools.partial(signal.signal, signum, previous))
            continue
        undo.append(functools.partial(loop.remove_signal_handler, signum))
    return undo


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # leave serve_forever through the same path as Ctrl-C


def cmd_fake_server(args: argparse.Namespace, out: TextIO) -> int:
    from ..testing import FakeIntegration, FakePuretalk

    if not _ENV_NAME.fullmatch(args.api_key_env):
        raise CliError("--api-key-env takes the NAME of an environment variable")
    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        raise CliError(f"set {args.api_key_env}: the fake accepts that value as X-API-KEY")
    seeded: list[FakeIntegration] = []
    for position, data in enumerate(load_seed(args.seed)):
        try:  # the messages name a field or an id, never a key
            seeded.append(FakeIntegration.from_json(data))
        except (TypeError, ValueError) as exc:
            raise CliError(f"bad seed data in integration #{position + 1}: {exc}") from None
    if not 400 <= args.fail_status <= 599:
        raise CliError("--fail-status must be an error status (400-599)")
    fake = FakePuretalk(
        api_key=api_key,
        integrations=seeded,
        rate_limit=args.rate_limit,
        rate_limiter=args.rate_limiter,
        rate_window=args.rate_window,
        latency=args.latency,
        fail_rate=args.fail_rate,
        fail_status=args.fail_status,
    )
    try:
        server = fake.serve(port=args.port)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"fake Puretalk listening at {server.base_url}", file=out)
    print(f"accepts X-API-KEY = ${args.api_key_env}; integrations:", file=out)
    for item in seeded[:10]:
        print(f"  {item.integration_id}  {printable(item.app_name)}", file=out)
    if len(seeded) > 10:
        print(f"  ... and {len(seeded) - 10} more", file=out)
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        statuses = collections.Counter(
            "dropped" if r.status is None else str(r.status) for r in fake.requests
        )
        shown = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
        print(f"served {len(fake.requests)} requests: {shown or 'none'}", file=out)
        out.flush()
    return EXIT_OK
