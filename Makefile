# Two commands on a fresh machine:  `make synth`  and  `make test`.
# Both create .venv and node_modules when missing (or when their lock files change) and skip
# installation otherwise.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
# jsii prints a Node end-of-life banner on every start under Node 20.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# cdk.json turns CLI telemetry off too ("cli-telemetry": false); this covers the CLI in other folders.
export CDK_DISABLE_CLI_TELEMETRY := 1

RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
NODE_STAMP := node_modules/.installed

.PHONY: help install synth synth-delivery test lint bench local-deploy clean

help:
	@echo "make synth        synthesize every environment into cdk.out/ (ENV=dev for one)"
	@echo "make synth-delivery  synthesize the delivery pipeline with its stages (what the pipeline deploys)"
	@echo "make test         run the whole test suite"
	@echo "make lint         ruff"
	@echo "make local-deploy deploy, check, update and destroy ENV (default dev) on a local AWS emulator"
	@echo "make bench        time synth against the jsii floor, and the test suite"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip

$(RUNTIME_STAMP): requirements.txt constructs/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(DEV_STAMP) $(NODE_STAMP)

synth: $(RUNTIME_STAMP) $(NODE_STAMP)
	$(CDK) synth --quiet $(if $(ENV),--context env=$(ENV))
	@echo "Synthesized $(if $(ENV),$(ENV),every environment) into cdk.out/"

synth-delivery: $(RUNTIME_STAMP) $(NODE_STAMP)
	$(CDK) synth --quiet --context delivery=true
	@echo "Synthesized the delivery pipeline into cdk.out/"

test: $(DEV_STAMP) $(NODE_STAMP)
	$(PY) -m pytest

lint: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

local-deploy: $(DEV_STAMP) $(NODE_STAMP)
	$(PY) scripts/local_deploy.py --env $(if $(ENV),$(ENV),dev)

bench: $(DEV_STAMP) $(NODE_STAMP)
	$(PY) scripts/bench.py

clean:
	rm -rf cdk.out .pytest_cache
