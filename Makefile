# Every target bootstraps what it needs from PyPI: nothing but python3.11 and make is assumed.
SHELL := /bin/bash
PYTHON ?= python3.11
UV := .tools/uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
LOCAL_STATE ?= .local-state

.PHONY: dev dev-clean test unit lint build bench clean venv

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

venv: $(VENV)/.synced

## make dev: the API of template.yaml on http://127.0.0.1:3000 (PORT=...) with an embedded moto
## DynamoDB/SSM, web/ and a demo user; settings by env name, e.g. `ACCESS_TOKEN_TTL=20s make dev`
dev: $(VENV)/.synced
	$(PY) -m localdev --state-dir $(LOCAL_STATE)

## make dev-clean: forget what make dev kept in .local-state/ (users, sessions, key, mail); refused while it runs
dev-clean: $(VENV)/.synced
	$(PY) -m localdev.state clean --state-dir $(LOCAL_STATE)

## make test: every test (unit, integration with moto, end-to-end over HTTP)
# TEST_WORKERS processes (pytest-xdist); --dist loadfile keeps each file's module-scoped runner in
# one of them. 2 matches these 2-core machines: 633 s -> 352 s for the whole suite.
TEST_WORKERS ?= 2
test: $(VENV)/.synced tools tests/e2e/strapi_sdk/node_modules/.installed
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

unit: $(VENV)/.synced
	$(PY) -m pytest tests/unit tests/integration

# strapi-sdk-js for tests/e2e/test_strapi_sdk.py, exactly as package-lock.json pins it (npm ci);
# without npm a developer's run skips that test, and CI (CI set) fails here.
tests/e2e/strapi_sdk/node_modules/.installed: tests/e2e/strapi_sdk/package.json tests/e2e/strapi_sdk/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/e2e/strapi_sdk --no-audit --no-fund && touch $@; \
	elif [ -n "$$CI" ]; then \
		echo "npm not found: CI needs Node.js and npm for tests/e2e/test_strapi_sdk.py" >&2; exit 1; \
	else \
		echo "note: npm not found, tests/e2e/test_strapi_sdk.py will skip" >&2; \
	fi

clean:
	rm -rf .venv .tools .aws-sam .pytest_cache

# ---- SAM tooling, lint and build (issue 6) -------------------------------------------------
# aws-sam-cli and cfn-lint pin old boto3/pydantic: they live in their own uv tool environment
# under .tools/, never in the project's venv. tools/sam runs that sam offline (no telemetry, no
# version check, dummy credentials, AWS endpoints on a closed loopback port).
SAM_CLI_VERSION ?= 1.170.0
CFN_LINT_VERSION ?= 1.58.0
SAM_TOOLS_STAMP := .tools/sam-$(SAM_CLI_VERSION)-cfnlint-$(CFN_LINT_VERSION).installed
SAM_TOOL_PY := .tools/uv-tools/aws-sam-cli/bin/python
SAM := tools/sam
CFN_LINT := tools/samenv .tools/uv-tools/aws-sam-cli/bin/cfn-lint
SMOKE_VENV := .tools/smoke-venv
BUILD_DIR := .aws-sam/build
TRANSFORMED := .aws-sam/transformed/template.json
# The layer ships what uv.lock pins, minus boto3 and what only boto3 needs: the python3.11
# Lambda runtime provides boto3, and the smoke test runs against a boto3-only environment.
EXPORT_LAYER_REQUIREMENTS := export --no-dev --no-hashes --no-emit-project --frozen --prune boto3

.PHONY: tools requirements smoke

$(SAM_TOOLS_STAMP): $(UV)
	UV_TOOL_DIR=.tools/uv-tools UV_TOOL_BIN_DIR=.tools/bin $(UV) tool install --quiet --force \
		"aws-sam-cli==$(SAM_CLI_VERSION)" --with "cfn-lint==$(CFN_LINT_VERSION)"
	rm -f .tools/sam-*-cfnlint-*.installed
	touch $@

## make tools: aws-sam-cli and cfn-lint in their own environment (.tools/uv-tools)
tools: $(SAM_TOOLS_STAMP)

## make lint: ruff, mypy, sam validate --lint, sam validate, SAM transform + cfn-lint (all offline)
lint: $(VENV)/.synced tools
	$(PY) -m ruff check .
	$(PY) -m mypy $(wildcard shared functions localdev tools authfixtures)
	$(SAM) validate --lint --template template.yaml
	$(SAM) validate --region us-east-1 --template template.yaml
	tools/samenv $(SAM_TOOL_PY) tools/sam_transform.py template.yaml -o $(TRANSFORMED)
	$(CFN_LINT) --regions us-east-1 -- $(TRANSFORMED)

## make requirements: shared/requirements.txt (the layer's pins) from uv.lock
shared/requirements.txt: uv.lock pyproject.toml | $(UV)
	$(UV) $(EXPORT_LAYER_REQUIREMENTS) --quiet > $@.tmp && mv $@.tmp $@

requirements: shared/requirements.txt

## make build: sam build (arm64 wheels from PyPI), .pyc for the layer and functions, smoke test
build: tools shared/requirements.txt
	rm -rf $(BUILD_DIR)
	$(SAM) build --template template.yaml
	# Lambda's /opt and /var/task are read-only and SAM zips every file dated 1980-01-01, so
	# timestamp-checked .pyc would be stale there: unchecked-hash .pyc are always used.
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash \
		-d /opt/python $(BUILD_DIR)/AuthLayer/python
	for fn in $$(cd $(BUILD_DIR) && ls -d *Function); do \
		$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash -d /var/task $(BUILD_DIR)/$$fn || exit 1; \
	done
	$(MAKE) --no-print-directory smoke

$(SMOKE_VENV)/.ready: uv.lock | $(UV)
	rm -rf $(SMOKE_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(SMOKE_VENV)
	$(UV) export --no-dev --no-hashes --no-emit-project --frozen --quiet \
		| grep -E '^(boto3|botocore|s3transfer|jmespath|python-dateutil|six|urllib3)==' > $(SMOKE_VENV)/requirements.txt
	$(UV) pip install --quiet --python $(SMOKE_VENV)/bin/python -r $(SMOKE_VENV)/requirements.txt
	touch $@

## make smoke: import and invoke every built function in a fresh boto3-only python3.11 (moto behind)
smoke: $(VENV)/.synced $(SMOKE_VENV)/.ready
	$(PY) tools/smoke_built.py --build-dir $(BUILD_DIR) --python $(abspath $(SMOKE_VENV))/bin/python

# ---- benchmarks (issue 8) ------------------------------------------------------------------
# make bench measures the built artifacts, so it rebuilds them (make build, ~1 min) when they are
# missing or older than the sources they come from; an up-to-date build is reused as is.
BENCH_SOURCES := template.yaml shared/requirements.txt \
	$(shell find shared functions -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)

$(BUILD_DIR)/template.yaml: $(BENCH_SOURCES)
	$(MAKE) --no-print-directory build

## make bench: cold starts, warm CPU and DynamoDB requests of the built functions, as ratios
## measured in one run (tools/bench.py); the table also goes to docs/bench.md
bench: $(VENV)/.synced $(SMOKE_VENV)/.ready $(BUILD_DIR)/template.yaml
	$(PY) tools/bench.py --build-dir $(BUILD_DIR) --python $(abspath $(SMOKE_VENV))/bin/python \
		--markdown docs/bench.md

# ---- sam local start-api with Docker (issue 18) ---------------------------------------------
# Not part of make test: it needs a Docker engine (and, on x86_64, qemu-user-static for arm64).
.PHONY: lambda-image sam-local test-sam-local

## make lambda-image: public.ecr.aws/lambda/python:3.11-arm64 for sam local: present, pulled, or
## a stand-in built once from Debian arm64 + awslambdaric + uv.lock's boto3 (root; REBUILD=1 redoes it)
lambda-image: $(SMOKE_VENV)/.ready
	tools/lambda_image/build.sh --requirements $(SMOKE_VENV)/requirements.txt $(if $(REBUILD),--rebuild)

## make sam-local: sam local start-api on http://127.0.0.1:3000 against make dev's moto (the data
## side, API on :3001); builds what is missing; Ctrl-C stops both. SAM_LOCAL_ARGS for tools/sam_local.sh
sam-local: $(VENV)/.synced $(BUILD_DIR)/template.yaml lambda-image
	tools/sam_local.sh $(SAM_LOCAL_ARGS)

## make test-sam-local: login, me, cookie refresh, reuse, logout, JWKS and discovery over HTTP
## against sam local start-api (tests/sam_local; fails without Docker when CI is set)
test-sam-local: $(VENV)/.synced $(BUILD_DIR)/template.yaml lambda-image
	$(PY) -m pytest -p no:cacheprovider -s tests/sam_local
