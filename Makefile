# NPU Fleet: `make demo` brings up the dashboard on a simulated fleet, `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test install lint typecheck format bench clean-demo

demo:
	bash scripts/demo.sh

test: install
	bash scripts/test.sh $(ARGS)

install:
	bash scripts/bootstrap.sh

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports
	cd frontend && npm run --silent lint

typecheck: install
	bash scripts/typecheck.sh

format: install
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .
	cd frontend && npm run --silent format

clean-demo:
	-$(PY) -m devsim down
	rm -rf .devsim db.sqlite3 db.sqlite3-wal db.sqlite3-shm
