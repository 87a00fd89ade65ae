# The two commands: `make demo` and `make test`. Everything installs into .venv.
VENV := .venv
BIN := $(VENV)/bin
# The suite creates (and drops) a database of its own on this server.
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: demo test lint services install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Web app on http://127.0.0.1:5000 with one worker beside it; Ctrl-C stops both.
demo: install
	$(BIN)/helpdesk db upgrade
	$(BIN)/helpdesk demo
	@bash -c '$(BIN)/helpdesk worker & worker=$$!; \
	  trap "kill $$worker 2>/dev/null; wait $$worker" EXIT INT TERM; \
	  $(BIN)/helpdesk run --host 127.0.0.1 --port 5000'

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

services:
	bash .ci/services

test: install lint services
	$(BIN)/pytest
	DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest
