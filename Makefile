# Quick start: `make run` and `make test`. Each creates .venv and installs the project on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast test-long lint bench compile bench-compiled validation clean

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
	$(BIN)/lint-imports

# Tests on two worker processes (pytest-xdist): the suite's wall time on a 2-core machine halves.
test: lint
	$(BIN)/pytest -n 2 --dist loadfile

# The fast tier: the unit and property tests, without the tests marked `slow` (whole scenarios,
# subprocesses, notebooks, the validation table, statistical sweeps, anything over a second), on
# two worker processes; well under a minute on 2 cores. No lint first, so it starts at once.
test-fast: $(BIN)/.installed
	$(BIN)/pytest -n 2 --dist loadfile -m 'not slow and not benchmark and not long'

# The property tests with 300 examples each instead of 25 (about 12x their quick run), and the
# slow statistical checks marked `long` (the Optuna scenario against its starting point).
test-long: lint
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -n 2 --dist loadfile -m 'not benchmark'

# The benchmarks on the pure-Python engine, whether or not a compiled one is built.
bench: $(BIN)/.installed
	SIM_COMPILED=0 $(BIN)/pytest -m benchmark --benchmark-enable -s tests/benchmarks

# The engine's hot modules compiled with mypyc into build/compiled (needs a C compiler; about a
# minute), used from then on while they match their sources; then the golden data, the closed
# forms and the engine's tests run against the build: compiled or not, the same numbers.
compile: $(BIN)/.installed
	$(BIN)/python -c 'import sim.training.compiled as c; c.build()'
	$(BIN)/pytest -q -n 2 tests/test_golden_engine.py tests/test_theory.py tests/training/test_job.py \
		tests/training/test_activity.py tests/training/test_books.py

bench-compiled: compile
	$(BIN)/pytest -m benchmark --benchmark-enable -s tests/benchmarks

validation: $(BIN)/.installed
	$(BIN)/python tests/validation_table.py

clean:
	rm -rf $(VENV) outputs multirun build
