# Two commands on a fresh machine:  `make synth`  and  `make test`.
# Both create .venv and node_modules when missing (or when their lock files change) and skip
# installation otherwise; `make test` also creates .venv-toolkit and .venv-checkov the same way.
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

# The SageMaker XGBoost container's training toolkit on Python 3.12, for
# tests/test_training_container.py. PYENV_VERSION lets pyenv's python3.12 shim pick a 3.12 when
# another version is the default; an absolute TOOLKIT_PYTHON needs no pyenv.
TOOLKIT_PYTHON ?= python3.12
TOOLKIT_VENV := .venv-toolkit
TOOLKIT_PY := $(TOOLKIT_VENV)/bin/python
TOOLKIT_REQUIREMENTS := tests/support/toolkit-requirements.txt
TOOLKIT_NEXT_PIP := tests/support/toolkit-next-pip.txt
TOOLKIT_STAMP := $(TOOLKIT_VENV)/.toolkit-installed
# -qq: a pip configuration with extra indexes or find-links warns about every package it lacks.
TOOLKIT_PIP := $(TOOLKIT_PY) -m pip install -qq --disable-pip-version-check

# checkov in a venv of its own (its pins conflict with the project's), for tests/test_checkov.py.
CHECKOV_VENV := .venv-checkov
CHECKOV_REQUIREMENTS := tests/support/checkov-requirements.txt
CHECKOV_STAMP := $(CHECKOV_VENV)/.checkov-installed

.PHONY: help install synth synth-delivery test lint bench local-deploy clean

help:
	@echo "make synth        synthesize every environment into cdk.out/ (ENV=dev for one)"
	@echo "make synth-delivery  synthesize the delivery pipeline with its stages (what the pipeline deploys)"
	@echo "make test         run the whole test suite"
	@echo "make lint         ruff"
	@echo "make local-deploy deploy, check, update and destroy ENV (default dev) on a local AWS emulator"
	@echo "make bench        time synth against the jsii floor, and the test suite (BENCH_TRAINING=1: distributed training too)"

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

# Rebuilt from scratch when the pins change: a downgrade must not leave newer files behind.
# The two patches are the image's own (docker/3.2-0/final/Dockerfile.cpu, see the requirements).
$(TOOLKIT_STAMP): $(TOOLKIT_REQUIREMENTS) $(TOOLKIT_NEXT_PIP)
	rm -rf $(TOOLKIT_VENV)
	PYENV_VERSION=3.12 $(TOOLKIT_PYTHON) -m venv $(TOOLKIT_VENV)
	$(TOOLKIT_PY) -c 'import sys; assert sys.version_info[:2] == (3, 12), f"TOOLKIT_PYTHON is Python {sys.version}, not 3.12"'
	$(TOOLKIT_PIP) -r $(TOOLKIT_REQUIREMENTS)
	$(TOOLKIT_PIP) --no-deps --target $(TOOLKIT_VENV)/next-pip -r $(TOOLKIT_NEXT_PIP)
	$(TOOLKIT_PY) -m pip uninstall -qq -y typing
	sed -i 's/collections\.Mapping/collections.abc.Mapping/g' \
		$$($(TOOLKIT_PY) -c 'import importlib.util as u; print(u.find_spec("sagemaker_containers._mapping").origin)')
	touch $@

# Rebuilt from scratch when the pins change, like the toolkit venv.
$(CHECKOV_STAMP): $(CHECKOV_REQUIREMENTS)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -qq --disable-pip-version-check -r $(CHECKOV_REQUIREMENTS)
	touch $@

install: $(DEV_STAMP) $(NODE_STAMP)

synth: $(RUNTIME_STAMP) $(NODE_STAMP)
	$(CDK) synth --quiet $(if $(ENV),--context env=$(ENV))
	@echo "Synthesized $(if $(ENV),$(ENV),every environment) into cdk.out/"

synth-delivery: $(RUNTIME_STAMP) $(NODE_STAMP)
	$(CDK) synth --quiet --context delivery=true
	@echo "Synthesized the delivery pipeline into cdk.out/"

# One worker per core, each given whole test modules in collection order (tests/conftest.py
# puts the slowest first): a module's fixtures (a training run, a moto setup) then run once, not
# once per worker that gets one of its tests, which cost a sixth of the suite's CPU with tests
# spread one by one (`--dist worksteal`). xdist's default order, most tests first, would start
# the slowest module, which has two tests, last. tests/conftest.py shares each synthesized app.
PYTEST_PARALLEL := -n auto --dist loadfile --no-loadscope-reorder

test: $(DEV_STAMP) $(NODE_STAMP) $(TOOLKIT_STAMP) $(CHECKOV_STAMP)
	$(PY) -m pytest $(PYTEST_PARALLEL)

lint: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

local-deploy: $(DEV_STAMP) $(NODE_STAMP)
	$(PY) scripts/local_deploy.py --env $(if $(ENV),$(ENV),dev)

bench: $(DEV_STAMP) $(NODE_STAMP) $(TOOLKIT_STAMP) $(CHECKOV_STAMP)
	$(PY) scripts/bench.py --pytest-args '$(PYTEST_PARALLEL)' $(if $(BENCH_TRAINING),--training)

clean:
	rm -rf cdk.out .pytest_cache
