# One target per check; `make pr` chains them (what .ci/run does after installing).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
REGION ?= us-west-2
export PYTHONDONTWRITEBYTECODE := 1
# The tools with pins that clash with the project's get environments of their own (requirements/
# sam.txt, checkov.txt; node tools in package-lock.json) and are always called by their path.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
ASL_VALIDATOR := node_modules/.bin/asl-validator
ASL_FILES := $(sort $(wildcard statemachines/*.asl.json))
INFRA_TEMPLATES := $(sort $(wildcard infra/*.yaml))
CHECKS_DIR := .aws-sam/checks
# Offline: no usage metrics from the SAM CLI.
export SAM_CLI_TELEMETRY := 0

# Debian's chromium and chromedriver (the GenAI chat page's end-to-end test); apt needs root.
CHROMIUM_PACKAGES := chromium chromium-driver

.PHONY: setup tools browser demo serve test test-fast lint format types validate build bench moto-tests pr clean stress iam-mutation

$(VENV)/.installed: requirements/dev.txt layers/shared/requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.3.1
	$(PY) -m pip install --quiet -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed  ## the project's virtual environment

# $(1): the venv folder, $(2): its requirements file. Idempotent: reruns only when the pins change.
define tool_venv
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip==24.3.1
	$(1)/bin/python -m pip install --quiet -r $(2)
	touch $(1)/.installed
endef

$(SAM_VENV)/.installed: requirements/sam.txt
	$(call tool_venv,$(SAM_VENV),requirements/sam.txt)

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(call tool_venv,$(CHECKOV_VENV),requirements/checkov.txt)

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "need node and npm on PATH (asl-validator)"; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

tools: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed  ## SAM CLI, checkov, asl-validator

browser:  ## Debian's chromium + chromedriver for the chat page's end-to-end test (idempotent; root for apt-get)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		echo "chromium and chromedriver are installed: $$(chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" -ne 0 ]; then \
		echo "need root to apt-get install $(CHROMIUM_PACKAGES) (or install them yourself)"; exit 1; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PACKAGES) >/dev/null \
		&& chromium --version; \
	fi

demo: setup  ## the main job on the embedded local cloud, narrated
	$(VENV)/bin/petclinic-ops demo

PORT ?= 5000
serve: setup  ## the local cloud as an endpoint for the AWS CLI and SDKs: http://127.0.0.1:$(PORT), until Ctrl-C
	$(VENV)/bin/petclinic-ops local serve --port $(PORT)

test: setup  ## the whole test suite (unit, integration on the local cloud, MariaDB, end-to-end)
	$(PY) -m pytest -n 2 --dist loadgroup

test-fast: setup  ## unit tests only
	$(PY) -m pytest tests/unit

lint: setup  ## ruff lint (includes the complexity gate, C901 > 10) and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

TEST_DIRS := unit integration local e2e

types: setup  ## mypy --strict on the layer, the functions, the local cloud, tools/ and the tests
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --explicit-package-bases functions
	MYPYPATH=tools $(VENV)/bin/mypy tools
	MYPYPATH=layers/shared:local:tests $(VENV)/bin/mypy --explicit-package-bases tests/*.py
# Each test folder on its own: they share module names (conftest) and import their helpers by name.
	$(foreach dir,$(TEST_DIRS),MYPYPATH=layers/shared:local:tests:tests/$(dir) $(VENV)/bin/mypy --explicit-package-bases tests/$(dir) &&) true

validate: setup tools  ## static checks of template.yaml, statemachines/ and infra/ (offline)
	@echo "--- sam validate --lint (SAM schema + cfn-lint on the SAM template)"
	$(SAM) validate --lint --region $(REGION) --template-file template.yaml
	@echo "--- cfn-lint on the template as SAM deploys it, ASL inlined (E3601) and IAM (W3037)"
	$(PY) tools/template_checks.py $(CHECKS_DIR)/template.json --lint --region $(REGION)
	@echo "--- asl-validator (JSONata/JSONPath schema, expressions, transitions)"
	$(ASL_VALIDATOR) $(foreach file,$(ASL_FILES),--json-path $(file))
	@echo "--- the CloudFormation role against infra/ (derived permissions, boundary, sizes)"
	$(PY) tools/cfn_role.py --check
	@echo "--- the control plane's roles against every Task state and boto3 call, Resource \"*\" only where IAM cannot scope"
	$(PY) tools/iam_check.py --check
	@echo "--- the roles infra/ creates against what uses them (ECS tasks, flow logs, RDS, API Gateway): no less, no more"
	$(PY) tools/workload_roles.py --check
	@echo "--- cfn-lint on the PetClinic stacks the provision workflow deploys (infra/)"
	$(VENV)/bin/cfn-lint --regions $(REGION) -- $(INFRA_TEMPLATES)
	@echo "--- checkov (the SAM template, the transformed one for the generated IAM roles, infra/)"
	$(CHECKOV) --framework cloudformation --file template.yaml --file $(CHECKS_DIR)/template.json \
		$(foreach file,$(INFRA_TEMPLATES),--file $(file)) --skip-download --compact --quiet

# Nightly-style (long): the record is ~55 min on 2 cores, each mutation ~30 s (a fresh local cloud).
iam-mutation: setup  ## each statement (and action) of the control plane's roles removed in turn: a test must fail (long; ROLES="A B")
	$(PY) tools/iam_mutation.py --record
	$(PY) tools/iam_mutation.py --jobs 2 $(foreach role,$(ROLES),--role $(role))

build: $(SAM_VENV)/.installed  ## sam build without a container (python3.11, arm64 wheels) into .aws-sam/build
	$(SAM) build --cached --parallel --template-file template.yaml

stress: setup  ## the integration tests 5 times with every CPU kept busy by other processes (RUNS=, LOAD=)
	$(PY) tools/stress.py --runs $(or $(RUNS),5) --load-per-cpu $(or $(LOAD),2) tests/integration

bench: setup  ## benchmarks/: print measured figures
	$(PY) benchmarks/run.py

$(VENV)/.moto-tests-installed: $(VENV)/.installed requirements/moto-tests.txt
	$(PY) -m pip install --quiet -r requirements/moto-tests.txt
	touch $@

# moto's own tests (its sdist, cached in .cache/moto-tests) for every service moto_compat patches,
# with the patches installed; fails on any failure not in tools/moto_tests/baseline.txt.
moto-tests: $(VENV)/.moto-tests-installed  ## moto's own test suite with the local cloud's patches: 0 regressions
	$(PY) tools/moto_tests/run.py

pr: lint types validate build test  ## everything CI runs

clean:
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache
