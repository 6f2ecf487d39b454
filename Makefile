# Quick start: `make run` and `make test`. Each creates .venv and installs the project on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-long lint bench validation clean

$(BIN)/.installed: pyproject.toml
	@echo "Creating $(VENV) and installing sim with its dependencies (a few minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar off -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m sim scenario=llama_405b

lint: $(BIN)/.installed
	$(BIN)/ruff check sim tests
	$(BIN)/ruff format --check sim tests
	$(BIN)/mypy

# Tests on two worker processes (pytest-xdist): the suite's wall time on a 2-core machine halves.
test: lint
	$(BIN)/pytest -n 2

# The property tests with 300 examples each instead of 25 (about 12x their quick run), and the
# slow statistical checks marked `long` (the Optuna scenario against its starting point).
test-long: lint
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -n 2 -m 'not benchmark'

bench: $(BIN)/.installed
	$(BIN)/pytest -m benchmark --benchmark-enable -s tests/benchmarks

validation: $(BIN)/.installed
	$(BIN)/python tests/validation_table.py

clean:
	rm -rf $(VENV) outputs multirun
