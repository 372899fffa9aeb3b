"""Run the test suite on every other supported CPython found on this machine.

The main venv (.venv, Python 3.11, the required one) runs the suite in `make pytest`; this
runs it again on each other minor the classifiers claim (3.12, 3.13) that is installed
here, on PATH or under pyenv, in a venv of its own (.venv-3.12, ...) built from the same
lock. A supported version that is not installed is reported, not faked.
"""

from __future__ import annotations

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


def venv_for(version: str, python: str) -> Path:
    venv = ROOT / f".venv-{version}"
    stamp = venv / ".installed"
    inputs = [
        ROOT / "requirements" / "dev.lock",
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
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
    stamp.touch()
    return venv


def main() -> int:
    versions = supported()
    print(f"supported: {', '.join(versions)} (3.11 runs in .venv, the main suite)")
    failed: list[str] = []
    for version in versions:
        if version == "3.11":
            continue
        python = find(version)
        if python is None:
            print(f"Python {version}: not installed on this machine; not tested here")
            continue
        venv = venv_for(version, python)
        print(f"Python {version}: {python}", flush=True)
        run = subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q"], cwd=ROOT)
        if run.returncode != 0:
            failed.append(version)
    if failed:
        print(f"the suite failed on Python {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
