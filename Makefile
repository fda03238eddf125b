# Two commands: `make demo` (set up + run the main job offline) and `make test` (set up + whole suite).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test ui validate bench compile clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/python scripts/compile_parser.py || echo "compiled parser not built (no C compiler?): the pure-Python parser runs"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/songnodes demo

test: install
	$(BIN)/python -m pytest -q

validate: install
	mkdir -p .songnodes/dagster_home
	DAGSTER_HOME=$(CURDIR)/.songnodes/dagster_home $(BIN)/dagster definitions validate -w workspace.yaml

ui: install
	mkdir -p .songnodes/dagster_home
	DAGSTER_HOME=$(CURDIR)/.songnodes/dagster_home $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

compile: install
	$(BIN)/pip install -q -e ".[compile]"
	$(BIN)/python scripts/compile_parser.py

bench: install
	$(BIN)/python scripts/bench_parse.py --lines 1000000

clean:
	rm -rf .songnodes .pytest_cache
