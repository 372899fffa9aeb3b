# puretalk-ai: every task a developer or CI runs. `make test` works on a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# Python caches compiled modules (and pytest its rewritten tests) in __pycache__: every
# xdist worker and every CLI subprocess the suite starts reuses them instead of compiling
# again. Some machines set PYTHONDONTWRITEBYTECODE; make's recipes leave it unset.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
SRC ?=

.PHONY: help install spec generate check-generated check-api release-prep validate-spec lint typecheck docs pytest pythons suites check test build demo bench bench-bulk faults clean lock

help:
	@echo "make demo             run an integration update against the bundled fake server (~35 s first)"
	@echo "make check            the contributors' loop: ruff, mypy, tests not marked slow/e2e (~30 s quiet)"
	@echo "make test             every check: spec, check-generated, check-api, ruff, mypy --strict,"
	@echo "                      pyright, docs, pytest on 3.11, 3.12 (lowest deps) and 3.13 side by side (~7 min; ~14 busy)"
	@echo "make pytest           the whole suite on 3.11 in parallel workers (~4 min)"
	@echo "make generate         regenerate generated/ from openapi/, then the API change summary (~5 s)"
	@echo "make check-generated  fail with a diff if generated/ is stale (~5 s)"
	@echo "make check-api        the semver guard: API changes vs version bump and CHANGELOG (~5 s)"
	@echo "make release-prep     after the bump and CHANGELOG: check them, snapshot the release's API"
	@echo "make spec SRC=...     refresh openapi/puretalk.yaml from a docs page (path or URL)"
	@echo "make bench            per-call figures side by side (~1 min)"
	@echo "make bench-bulk       bulk rotation over a grid of rate limits: paced vs fixed (~5 min)"
	@echo "make faults           1000 updates through injected faults (~3.5 min)"
	@echo "make docs             build the docs site into site/ (mkdocs, strict: a broken link fails; ~5 s)"
	@echo "make lint | build | lock | clean"

# The venv is rebuilt whenever the lock or the project metadata changes.
$(STAMP): requirements/dev.lock pyproject.toml wrapper/puretalk_ai/_version.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "puretalk-ai needs Python >= 3.11 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# Prism (the contract tests' independent mock of the spec), pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: make test needs Node.js and npm for the Prism contract tests (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(STAMP) $(NODE_STAMP)

lock: $(STAMP)
	$(BIN)/pip-compile --quiet --strip-extras --no-header --allow-unsafe --output-file requirements/dev.lock requirements/dev.in
	sed -i '/^--extra-index-url/d;/^--find-links/d;/^--index-url/d' requirements/dev.lock && sed -i '/./,$$!d' requirements/dev.lock

spec: $(STAMP)
	@test -n "$(SRC)" || { echo "usage: make spec SRC=path-or-url-of-the-docs-page" >&2; exit 2; }
	$(PY) -m scripts.extract_spec "$(SRC)"

generate: $(STAMP)
	$(PY) -m scripts.generate
	@$(PY) -m scripts.api_guard summary

# The semver guard (griffe): api/public-api.json is the current release's API. Fails when
# the API changed and the version is not bumped enough, when the version was bumped but
# the release is not prepared, or when CHANGELOG.md has no entry for the version.
check-api: $(STAMP)
	$(PY) -m scripts.api_guard check

# The release step, after the bump and the CHANGELOG entry: checks the bump covers the API
# changes, then takes the snapshot of this release.
release-prep: $(STAMP)
	$(PY) -m scripts.api_guard release-prep

check-generated: $(STAMP)
	$(PY) -m scripts.generate --check

validate-spec: $(STAMP)
	$(BIN)/openapi-spec-validator openapi/puretalk.yaml

lint: $(STAMP)
	$(BIN)/ruff check --no-cache wrapper scripts tests
	$(BIN)/ruff format --no-cache --check wrapper scripts tests

typecheck: $(STAMP) $(NODE_STAMP)
	$(BIN)/mypy --cache-dir=/dev/null
	@# The report is printed, then checked (`tee /dev/stderr` would reopen, and so truncate,
	@# a log file that stderr is redirected to).
	report="$$(PATH="$(abspath $(BIN)):$$PATH" node_modules/.bin/pyright --verifytypes \
		puretalk_ai --ignoreexternal || true)"; echo "$$report"; \
		grep -q '^Type completeness score: 100%' <<< "$$report"

# The docs site, in strict mode: a broken link or anchor, a page left out of the nav or an
# unresolved API reference fails the build. NO_MKDOCS_2_WARNING: Material's notice of its
# successor, printed on every build, is news once (see docs/maintaining/dependencies.md).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The whole suite on 3.11, in parallel workers (it mostly waits on sockets and clocks).
pytest: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest -n 4

# The suite minus `slow` on the other supported CPythons installed here (3.12, 3.13).
pythons: $(STAMP) $(NODE_STAMP)
	$(PY) -m scripts.pythons

# 3.11's whole suite and the others', side by side.
suites: $(STAMP) $(NODE_STAMP)
	$(PY) -m scripts.pythons --all

# The contributors' loop, under a minute: lint, types, and the tests that need no server,
# subprocess or real time (not marked e2e or slow).
check: $(STAMP)
	$(BIN)/ruff check --no-cache wrapper scripts tests
	$(BIN)/mypy --cache-dir=/dev/null
	$(PY) -m pytest -n 4 -m "not slow and not e2e"

test: validate-spec check-generated check-api lint typecheck docs suites

build: $(STAMP)
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .

demo: $(STAMP)
	$(PY) -m scripts.demo

bench: $(STAMP)
	$(PY) -m scripts.bench

bench-bulk: $(STAMP)
	$(PY) -m scripts.bench_bulk

faults: $(STAMP)
	$(PY) -m scripts.faults

clean:
	rm -rf $(VENV) $(VENV)-3.* node_modules dist build .mypy_cache .pytest_cache .ruff_cache .hypothesis site
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
