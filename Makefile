# The two commands a new user needs are `make run` and `make test` (see README.md, DEVELOPERS.md).
# Everything they depend on is installed here: the virtual environment, Python packages pinned by
# pyproject.toml and constraints.txt, the portal's browser modules (frontend/, built with Debian's
# node and npm), and the Debian packages the tests start (PostgreSQL, openssl, Chromium, CJK fonts).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test lint check-types unit integration e2e bench native system-packages frontend screenshots clean

help:
	@echo "make run    - install, migrate, load the demo once, serve http://127.0.0.1:8000"
	@echo "make test   - install everything the tests need and run lint, types and the whole suite"
	@echo "make screenshots - save a PNG of each portal screen under docs/screens/"
	@echo "make lint / check-types / unit / integration / e2e / bench / native / frontend / clean"

$(BIN)/python:
	scripts/make-venv "$(PYTHON)" "$(VENV)"

$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# The matching engine's hot path compiled with mypyc (needs the dev tools; pure Python otherwise).
NATIVE_SOURCES := $(wildcard src/backbone/exchange/*.py) scripts/build-native scripts/build_native.py

$(VENV)/.native-built: $(NATIVE_SOURCES) | $(VENV)/.installed-test
	scripts/build-native $(BIN)/python
	touch $@

native: $(VENV)/.native-built

# The portal's browser modules, bundled by esbuild from the packages package-lock.json pins.
FRONTEND_BUILT := src/backbone/web/static/build/.built
FRONTEND_SOURCES := frontend/package.json frontend/package-lock.json frontend/build.mjs \
	$(wildcard frontend/src/*.js) scripts/build-frontend

$(FRONTEND_BUILT): $(FRONTEND_SOURCES)
	scripts/build-frontend

frontend: $(FRONTEND_BUILT)

run: $(VENV)/.installed-run $(FRONTEND_BUILT)
	$(BIN)/backbone db upgrade
	$(BIN)/backbone demo seed --if-empty
	$(BIN)/backbone serve --demo-market

system-packages:
	scripts/install-system-packages

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

check-types: $(VENV)/.installed-test
	$(BIN)/mypy

test: $(VENV)/.installed-test $(VENV)/.native-built $(FRONTEND_BUILT) system-packages lint check-types
	$(BIN)/pytest $(PYTEST_ARGS)
	@# The pure-Python engine must behave exactly as the compiled one: its own tests run again on it.
	BACKBONE_PURE_PYTHON=1 $(BIN)/pytest -q tests/unit/exchange tests/property/exchange

unit: $(VENV)/.installed-test $(VENV)/.native-built
	$(BIN)/pytest tests/unit tests/property $(PYTEST_ARGS)

integration: $(VENV)/.installed-test system-packages
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

e2e: $(VENV)/.installed-test $(FRONTEND_BUILT) system-packages
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

# A PNG of each portal screen built so far, in Korean, from a fresh portal walked by Chromium.
screenshots: $(VENV)/.installed-test $(FRONTEND_BUILT) system-packages
	$(BIN)/python -m tests.e2e.web.screenshots docs/screens

bench: $(VENV)/.installed-test $(VENV)/.native-built system-packages
	@for script in benchmarks/[a-z]*.py; do name=$$(basename $$script .py); echo "== $$name"; $(BIN)/python -m benchmarks.$$name || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build
	rm -f src/backbone/exchange/*.so src/backbone/exchange/native-build.json
	rm -rf src/backbone/web/static/build frontend/node_modules
