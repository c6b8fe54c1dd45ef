# The README's commands. `make run` runs one task (the demo without OPENROUTER_API_KEY) on the embedded
# stack; `make test` runs the whole suite. Both create the virtual environment on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install system-deps run test lint bench worker

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

system-deps:
	@scripts/install-system-deps.sh

run: install
	$(BIN)/coding-agent run $(ARGS)

worker: install
	$(BIN)/coding-agent worker

test: install system-deps
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests bench workers
	$(BIN)/mypy src

bench: install
	$(BIN)/python bench/run_all.py
