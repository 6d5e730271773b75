# The two entry points: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck bench install clean

$(STAMP): pyproject.toml scripts/system-deps.sh scripts/node-tools.sh tools/node/package-lock.json
	bash scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/batterytrace demo --db demo.db --fresh --confidential --serve

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/batterytrace bench --json bench/results.json --markdown docs/benchmarks.md

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm
