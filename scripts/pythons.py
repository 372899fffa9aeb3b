"""Run the test suite on every supported CPython found on this machine, at once.

`make test` calls this after the static checks. The main venv (.venv, Python 3.11, the
required one) runs the whole suite; each other minor the classifiers claim (3.12, 3.13)
that is installed here, on PATH or under pyenv, runs the suite minus the tests marked
`slow` (real-time runs of many seconds, whose logic the 3.11 run covers) and `tooling`
(tests of scripts/ and packaging, which make runs on 3.11 only), in a venv of its
own (.venv-3.12, ...) built from the same lock. 3.12's venv then takes the lowest versions
the runtime ranges allow (requirements/lowest.txt), so the floors are tested too. The
suites mostly wait on sockets and clocks, so the three run side by side in xdist workers,
and the other venvs are built while 3.11 runs. A supported version that is not installed is
reported, not faked.

    python -m scripts.pythons            # 3.12, 3.13 (make pythons)
    python -m scripts.pythons --all      # 3.11's full suite too (make test)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def supported() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    return sorted(found, key=lambda v: tuple(map(int, v.split("."))))


def find(version: str) -> str | None:
    """A working interpreter of this minor version, or None."""
    candidates = [shutil.which(f"python{version}") or ""]
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


LOWEST = ROOT / "requirements" / "lowest.txt"
LOWEST_ON = "3.12"  # the Python whose venv runs on the lowest runtime versions


def venv_for(version: str, python: str) -> Path:
    venv = ROOT / f".venv-{version}"
    stamp = venv / ".installed"
    inputs = [
        ROOT / "requirements" / "dev.lock",
        LOWEST,
        ROOT / "pyproject.toml",
        ROOT / "wrapper" / "puretalk_ai" / "_version.py",  # editable metadata names it
    ]
    if stamp.exists() and all(stamp.stat().st_mtime >= p.stat().st_mtime for p in inputs):
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]  # fmt: skip
    subprocess.run([*pip, "-r", str(ROOT / "requirements" / "dev.lock")], check=True)
    if version == LOWEST_ON:
        subprocess.run([*pip, "--no-deps", "-r", str(LOWEST)], check=True)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
    stamp.touch()
    return venv


MAIN_WORKERS = "3"
OTHER_WORKERS = "2"
# The other Pythons skip the real-time runs (their logic is covered on 3.11) and the tests
# of the dev tooling, which make itself only ever runs on .venv (3.11).
OTHER_TESTS = "not slow and not tooling"
SUITE_TIMEOUT = 1800  # seconds; a hung suite fails the run instead of holding CI


def _suite(python: Path, log: Path, *pytest_args: str) -> subprocess.Popen[bytes]:
    # The same property-test examples on every run (tests/conftest.py): reproducible.
    env = {**os.environ, "PURETALK_HYPOTHESIS": "release"}
    with log.open("wb") as handle:  # the child has its own copy of the descriptor
        return subprocess.Popen(
            [str(python), "-m", "pytest", "-q", *pytest_args],
            cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip


def _counts(text: str) -> tuple[int, int]:
    """(passed, failed + errors) from pytest's closing line."""
    last = text.strip().splitlines()[-1] if text.strip() else ""
    passed = re.search(r"(\d+) passed", last)
    failed = sum(int(n) for n in re.findall(r"(\d+) (?:failed|errors?)", last))
    return (int(passed.group(1)) if passed else 0), failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The suite on every supported CPython.")
    parser.add_argument("--all", action="store_true", help="3.11's full suite too")
    args = parser.parse_args(argv)
    versions = supported()
    logs = ROOT / ".venv" / "suite-logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"supported: {', '.join(versions)}", flush=True)
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    if args.all:
        log = logs / "3.11.log"
        main_python = ROOT / ".venv" / "bin" / "python"
        runs["3.11"] = (_suite(main_python, log, "-n", MAIN_WORKERS), log)
        print("Python 3.11: the full suite, in .venv", flush=True)
    others = {}
    for version in versions:
        if version == "3.11":
            continue
        python = find(version)
        if python is None:
            print(f"Python {version}: not installed on this machine; not tested here")
            continue
        others[version] = python
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(others))) as pool:
        venvs = {v: pool.submit(venv_for, v, p) for v, p in others.items()}
        for version, future in venvs.items():
            venv = future.result()
            log = logs / f"{version}.log"
            which = "the lowest runtime versions" if version == LOWEST_ON else "the lock"
            print(f"Python {version}: -m '{OTHER_TESTS}' on {which}, in {venv.name}", flush=True)
            runs[version] = (
                _suite(venv / "bin" / "python", log, "-n", OTHER_WORKERS, "-m", OTHER_TESTS),
                log,
            )
    failed: list[str] = []
    total_passed = total_failed = 0
    for version, (process, log) in runs.items():
        try:
            code = process.wait(timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
            print(f"Python {version}: the suite ran past {SUITE_TIMEOUT} s and was stopped")
        text = log.read_text(errors="replace")
        print(f"\n===== Python {version} =====\n{text}", end="", flush=True)
        passed, failures = _counts(text)
        total_passed += passed
        total_failed += failures
        if code != 0:
            failed.append(version)
    print(f"\nevery Python: {total_passed} passed, {total_failed} failed")
    if failed:
        print(f"the suite failed on Python {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
