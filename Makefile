# Two commands for a fresh clone: `make render` and `make test`. Each bootstraps .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The generator alone for render/check/validate/diff; the test extra (checkov, yamllint, pytest,
# the 270M model) only for the targets that need it.
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: render check validate policy test test-proxy nginx-lua test-packages diff lint e2e e2e-arm64 cross-arm64 \
	budget-table bench bench-serving update-crd-schemas

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $(TEST_STAMP)

## render: render every values/<env>.yaml to rendered/<env>/ and argocd/<env>.yaml
render: $(STAMP) generator/schemas/values.schema.json
	$(BIN)/gemma-gitops render

# The package carries a copy of the values schema, which an installed gemma-gitops validates with;
# schemas/values.schema.json is its source (tests/test_packaging.py fails when the two differ).
generator/schemas/values.schema.json: schemas/values.schema.json
	cp $< $@

## check: exit 1 when rendered/ or argocd/ differ from a fresh render, or the render fails validation:
## one process that renders in memory, compares and validates (what CI and pre-commit run)
check: $(STAMP)
	$(BIN)/gemma-gitops check

## validate: offline schema and cross-resource checks of rendered/ and argocd/
validate: $(STAMP)
	$(BIN)/gemma-gitops validate

## policy: checkov (offline) and yamllint on every rendered environment
policy: $(TEST_STAMP)
	$(BIN)/python -m testkit.policy rendered/*/ argocd/

## test: the whole test suite
test: $(TEST_STAMP)
	$(BIN)/python -m pytest

## nginx-lua: install nginx with the Lua module for the proxy tests (Debian/Ubuntu, as root)
nginx-lua:
	scripts/install-nginx-lua.sh

## test-packages: install strace, binutils, git, make, cmake and g++ for the fresh-clone, AMX and
## end-to-end tests (Debian/Ubuntu, as root)
test-packages:
	scripts/install-test-packages.sh

## test-proxy: the auth proxy's tests in a real nginx; fails instead of skipping without it
test-proxy: $(TEST_STAMP)
	GEMMA_GITOPS_REQUIRE_NGINX=1 $(BIN)/python -m pytest tests/proxy

## diff: what the working tree changes in the deployment, per resource, against the merge base with main
diff: $(STAMP)
	$(BIN)/gemma-gitops diff

## e2e: install the pinned llama-server and Gemma 3 270M into .venv (llama.cpp is compiled once per
## CPU into ~/.cache/gemma-gitops/wheels, then reused) and preflight it on this CPU, then run
## tests/e2e: the rendered llama-server behind the rendered proxy in a real nginx, and the memory
## matrix (every buffer, every shape; results in build/e2e-memory.json). Fails instead of skipping
## when either is missing.
e2e: $(TEST_STAMP)
	$(BIN)/python scripts/install-llama-server.py
	GEMMA_GITOPS_REQUIRE_E2E=1 GEMMA_GITOPS_REQUIRE_NGINX=1 GEMMA_GITOPS_E2E_RESULTS=build/e2e-memory.json \
		$(BIN)/python -m pytest tests/e2e

## cross-arm64: install Debian's aarch64 cross toolchain and QEMU user-mode (Debian/Ubuntu, as root)
cross-arm64:
	scripts/install-cross-arm64.sh

## e2e-arm64: cross-build the same llama-server for aarch64 (Neoverse N1, cached in
## ~/.cache/gemma-gitops/cross), then run tests/e2e/arm64 under QEMU as a Neoverse N1: serving, and the
## memory matrix against the budget for an arm64 node (results in build/e2e-arm64-memory.json).
## Minutes, not seconds: its own pass/fail, not part of `make test` or CI.
e2e-arm64: $(TEST_STAMP)
	$(BIN)/python scripts/build-llama-server-arm64.py
	GEMMA_GITOPS_E2E_ARM64=1 GEMMA_GITOPS_REQUIRE_E2E=1 GEMMA_GITOPS_E2E_RESULTS=build/e2e-arm64-memory.json \
		$(BIN)/python -m pytest tests/e2e/arm64

## budget-table: write the budget table of bench/e2e-build.md and bench/results.md from the matrices
## `make e2e` and `make e2e-arm64` measured
budget-table: $(STAMP)
	$(BIN)/python scripts/budget-table.py build/e2e-memory.json build/e2e-arm64-memory.json

## lint: ruff and mypy over the package, the tests and the scripts
lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lint]'
	$(BIN)/ruff check generator tests bench testkit scripts
	$(BIN)/mypy
	$(BIN)/mypy scripts/install-llama-server.py
	$(BIN)/mypy scripts/update-crd-schemas.py

## bench: measure render/check/validate (committed, 1, 10 and 100 environments) and the auth proxy in a
## real nginx on 127.0.0.1; prints tables and rewrites bench/results.md (keeping its serving section);
## asserts nothing (about 4 minutes). `make bench SERVING=1` runs bench-serving after it.
bench: $(STAMP)
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y wrk || \
		{ apt-get update && apt-get install -y wrk; }
	$(BIN)/python -m bench $(BENCH_ARGS)
	@if [ "$(SERVING)" = 1 ]; then $(MAKE) bench-serving; fi

## bench-serving: the rendered llama-server (Gemma 3 270M) behind the rendered proxy under the pod's CPU
## limit (a CFS quota as root, else taskset): memory bandwidth, a defaults sweep, clients x slots;
## rewrites the serving section of bench/results.md; asserts nothing (about 40 minutes on 2 quiet cores)
bench-serving: $(TEST_STAMP)
	$(BIN)/python scripts/install-llama-server.py
	$(BIN)/python -m bench.serving $(SERVING_ARGS)

## update-crd-schemas: download the vendored CRD schemas (generator/schemas/crds) again from the public
## CRDs-catalog, check them, write them atomically and rewrite their PROVENANCE.md. Online; CI never
## runs it. Standard library only, so no .venv is needed.
update-crd-schemas:
	$(PYTHON) scripts/update-crd-schemas.py
