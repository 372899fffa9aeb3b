"""Build the wheel and sdist, install the wheel into a fresh venv outside the repo."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import puretalk_ai
from tests.helpers import ROOT, source_files

# Servers, subprocesses or real time: `make test`, not the quick `make check` loop.
pytestmark = [pytest.mark.e2e, pytest.mark.tooling]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return out


def test_one_wheel_and_one_sdist_named_puretalk_ai(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    version = puretalk_ai.__version__
    assert names == [f"puretalk_ai-{version}-py3-none-any.whl", f"puretalk_ai-{version}.tar.gz"]


def test_wheel_ships_both_packages_with_py_typed(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "puretalk_ai/py.typed" in names
    assert "puretalk_ai_openapi/py.typed" in names
    assert "puretalk_ai_openapi/api/integrations/update_integration.py" in names
    assert "puretalk_ai/testing/_fake.py" in names  # the testing kit ships too
    assert not any(n.startswith(("wrapper/", "generated/", "tests/")) for n in names)


def test_sdist_carries_everything_make_test_needs(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    tracked = source_files()
    # Every tracked file but git's own (the checks run from an unpacked sdist too).
    assert set(tracked) - {".gitignore"} <= names
    assert {"LICENSE", "package.json", "package-lock.json", "openapi/source-page.md"} <= names


def test_the_wheel_carries_the_license(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        licenses = [n for n in archive.namelist() if n.endswith("/LICENSE")]
        assert licenses
        assert "MIT License" in archive.read(licenses[0]).decode()


@pytest.mark.slow
def test_wheel_installs_and_imports_in_a_clean_venv(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(ROOT / "requirements" / "dev.lock"), str(wheel)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    probe = (
        "import importlib.metadata as m, pathlib, puretalk_ai, puretalk_ai_openapi\n"
        "for mod in (puretalk_ai, puretalk_ai_openapi):\n"
        "    assert (pathlib.Path(mod.__file__).parent / 'py.typed').is_file(), mod\n"
        "    assert 'site-packages' in mod.__file__, mod.__file__\n"
        "print(puretalk_ai.__version__, m.version('puretalk-ai'))\n"
        "import re\n"
        "reqs = m.distribution('puretalk-ai').requires or []\n"
        "core = [r for r in reqs if 'extra ==' not in r]\n"
        "print(','.join(sorted(re.split('[<>=;! ]', r)[0] for r in core)))\n"
        "import sys\n"
        "assert 'aiohttp' not in sys.modules and 'httpx_aiohttp' not in sys.modules\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    versions, requires = result.stdout.splitlines()
    installed, metadata = versions.split()
    assert installed == metadata == puretalk_ai.__version__
    # The runtime dependencies (httpcore: the deadline transport); aiohttp is an extra.
    assert requires == "attrs,httpcore,httpx"
    cli = subprocess.run(
        [str(env_dir / "bin" / "puretalk-ai"), "--version"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert cli.stdout.strip() == f"puretalk-ai {puretalk_ai.__version__}"


def test_import_does_not_load_the_fast_transport() -> None:
    # aiohttp is installed in the dev venv: importing the SDK must still not load it.
    probe = (
        "import sys, puretalk_ai\n"
        "from puretalk_ai import AsyncPuretalk, Puretalk\n"
        "Puretalk(api_key='k' * 10); AsyncPuretalk(api_key='k' * 10)\n"
        "assert 'aiohttp' not in sys.modules and 'httpx_aiohttp' not in sys.modules\n"
        "AsyncPuretalk(api_key='k' * 10, http_backend='aiohttp')\n"
        "assert 'httpx_aiohttp' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_every_package_the_wrapper_imports_is_declared(dist: Path) -> None:
    """httpcore was imported but not declared once; each import must be a requirement
    (runtime, or of the extra whose feature imports it)."""
    import ast
    import importlib.metadata
    import sys

    imported: set[str] = set()
    for source in (ROOT / "wrapper" / "puretalk_ai").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"puretalk_ai", "puretalk_ai_openapi"}
    distributions = importlib.metadata.packages_distributions()
    needed = {distributions[name][0].lower() for name in third_party if name in distributions}
    assert {"httpx", "httpcore", "attrs"} <= needed
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    declared = {
        line.split(":", 1)[1].strip().split(";")[0].split(">")[0].split("=")[0].split("<")[0]
        .strip().lower()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    }  # fmt: skip
    # trio and anyio are imported only under a running trio (anyio comes with httpx).
    missing = needed - declared - {"trio", "anyio"}
    assert not missing, f"imported by puretalk_ai but not declared in pyproject: {missing}"
