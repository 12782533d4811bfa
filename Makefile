# Every target bootstraps what it needs from PyPI: nothing but python3.11 and make is assumed.
SHELL := /bin/bash
PYTHON ?= python3.11
UV := .tools/uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: dev test unit lint build bench clean venv

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

venv: $(VENV)/.synced

## make test: every test (unit, integration with moto, end-to-end over HTTP)
test: $(VENV)/.synced
	$(PY) -m pytest

unit: $(VENV)/.synced
	$(PY) -m pytest tests/unit tests/integration

clean:
	rm -rf .venv .tools .aws-sam .pytest_cache
