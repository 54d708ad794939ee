# pylender: every target sets itself up (venv, pinned Python deps, npm packages, compiler bridge).
# `make demo` runs the main job on an embedded anvil; `make test` runs every test.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMPS := .stamps

export APE_DATA_FOLDER := $(CURDIR)/.ape
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

SOLIDITY := $(shell find contracts -name '*.sol' -not -path '*/.cache/*' 2>/dev/null)
PYSOURCES := $(shell find pylender -name '*.py' 2>/dev/null)

SOURCE_ONLY_TESTS := tests/audit/test_replay.py tests/audit/test_tamper.py tests/audit/test_records.py \
	tests/audit/test_layout.py tests/audit/test_export.py tests/audit/test_index.py tests/audit/test_prefetch.py \
	tests/audit/test_snapshot.py tests/audit/test_e2e_anvil.py tests/statements tests/math tests/test_native.py

.PHONY: all setup demo test test-foundry bench lint typecheck format artifacts compile clean

all: setup

setup: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/solc $(STAMPS)/native

$(STAMPS)/python: requirements.lock pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# `npm install` with the committed lock installs exactly the locked versions. Not `npm ci`: it
# refuses a lock that lacks anvil's other-platform optional packages (darwin, win32, arm64),
# and registries that serve only this platform's (as here) cannot produce such a lock.
$(STAMPS)/node: package-lock.json package.json
	@mkdir -p $(STAMPS)
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMPS)/solc: $(STAMPS)/python $(STAMPS)/node tools/solc.py tools/solc-bridge.js
	$(BIN)/python -m tools.solc
	@touch $@

# ape compiles the test contracts; pylender's toolchain builds the ledger and its linked libraries into
# pylender/artifacts (with their link references), which the client and the contract tests deploy from.
$(STAMPS)/compile: $(STAMPS)/solc ape-config.yaml $(SOLIDITY)
	$(BIN)/ape compile
	$(BIN)/python -m tools.artifacts
	@touch $@

# The audit's hot modules compiled with mypyc (about 50 s; pylender.native). Without a C compiler the
# build reports why and everything runs from source; a build older than its sources is never used.
$(STAMPS)/native: $(STAMPS)/python $(PYSOURCES)
	$(BIN)/python -m tools.native build --optional
	@touch $@

compile: $(STAMPS)/compile

artifacts: $(STAMPS)/solc
	$(BIN)/python -m tools.artifacts

demo: setup $(STAMPS)/compile
	$(BIN)/pylender demo

# The linter and the type checker first (either fails the run), then every test (with the compiled
# modules when built), the unit tests of the compiled modules again from source, then the contract
# suite again on anvil, with its default hardfork and as a pre-Shanghai (london) EVM: ape's local:test is
# py-evm in process, local:foundry is anvil (ape-foundry starts and stops it).
test: lint typecheck $(STAMPS)/compile
	$(BIN)/python -m pytest -q tests
	PYLENDER_NATIVE=0 $(BIN)/python -m pytest -q $(SOURCE_ONLY_TESTS)
	$(MAKE) --no-print-directory test-foundry

# The contract suite on anvil alone: its default hardfork, then london (ape-foundry's --hardfork). ape-foundry
# finds anvil on PATH: tools/ape-anvil/anvil runs it with its persisted states in a directory removed at exit.
APE_ANVIL := PATH="$(CURDIR)/tools/ape-anvil:$$PATH" REAL_ANVIL="$(CURDIR)/node_modules/.bin/anvil"
test-foundry: setup $(STAMPS)/compile
	$(APE_ANVIL) $(BIN)/python -m pytest -q tests/contracts --network ethereum:local:foundry
	$(APE_ANVIL) APE_EVM_VERSION=london $(BIN)/python -m pytest -q tests/contracts --network ethereum:local:foundry

bench: setup $(STAMPS)/compile
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check pylender tests scripts bench tools
	$(BIN)/ruff format --check pylender tests scripts bench tools

# mypy over the package ([tool.mypy] in pyproject.toml): 0 errors, or the run fails.
typecheck: setup
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format pylender tests scripts bench tools
	$(BIN)/ruff check --fix pylender tests scripts bench tools

clean:
	rm -rf $(STAMPS) .build .ape contracts/.cache .pytest_cache .hypothesis bench/out pylender/native.json
	find pylender -name '*.so' -delete
