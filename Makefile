# The two commands of the README are `make up` and `make test`; the rest are chores.
SHELL := /bin/bash
PY := .venv/bin/python
BIN := .venv/bin
ANVIL_DIR := $(CURDIR)/node_modules/@foundry-rs/anvil-linux-amd64/bin
export PATH := $(CURDIR)/$(BIN):$(ANVIL_DIR):$(PATH)

.PHONY: install up test lint unit contracts artifacts deploy lock clean client

# Fresh clone -> venv + node_modules, from the lock files. Re-runs only when they change.
install: .venv/.installed node_modules/.installed

.venv/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

node_modules/.installed: package.json package-lock.json
	@# `npm ci` rejects a lock without the other platforms' optional binaries; install keeps the lock as is.
	npm install --no-fund --no-audit --loglevel=error
	@touch $@

# README command 1: the whole stack in the foreground; Ctrl-C stops it.
up: install
	$(PY) -m anvil.up

# README command 2: lint, contract tests (ape, default provider and anvil), service tests.
test: install lint contracts unit

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict core
	$(BIN)/mypy
	$(BIN)/lint-imports

contracts:
	cd contracts && ape test -q
	cd contracts && ape test -q --network ethereum:local:foundry

unit:
	$(BIN)/pytest -q

artifacts: install
	$(PY) -m anvil.artifacts

deploy: install
	$(PY) -m anvil.deploy --rpc-url $${RPC_URL:-http://127.0.0.1:8545}

# Regenerate the TypeScript client's types (api/client/src/schema.d.ts) from the served OpenAPI document.
client: install
	UPDATE_CLIENT=1 $(BIN)/pytest -q tests/integration/api/test_ts_client.py -k committed

lock:
	$(BIN)/pip freeze --exclude-editable | (echo "# Exact, tested dependency set (pip freeze). Regenerate with: make lock"; cat) > requirements.lock

clean:
	rm -rf var contracts/.build .pytest_cache .mypy_cache .ruff_cache
