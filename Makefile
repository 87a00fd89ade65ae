# The two commands: `make demo` and `make test`. Everything installs into .venv.
VENV := .venv
BIN := $(VENV)/bin
# The suite creates (and drops) a database of its own on this server.
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: demo test lint services install constraints

install: $(VENV)/.installed

# Every third-party package at the exact version and with the file hashes in requirements.lock
# (pip refuses anything unlisted or altered), then the project itself, editable, built with the
# locked setuptools; `pip check` proves the lock still meets pyproject.toml.
$(VENV)/.installed: pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e '.[dev]'
	$(BIN)/pip check
	touch $@

# Refresh requirements.lock: pyproject.toml's dependencies (with dev and build ones) resolved to
# their newest releases, pinned with the hashes of every file. Index URLs and hosts stay in pip's
# own configuration, never in the file. `make install` then installs the new lock.
constraints: install
	CUSTOM_COMPILE_COMMAND="make constraints" $(BIN)/pip-compile --quiet --upgrade \
	  --generate-hashes --allow-unsafe --all-build-deps --extra dev --strip-extras \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	  --output-file requirements.lock pyproject.toml

# The demo on 127.0.0.1: the helpdesk on PORT with one worker, a sample shop page with the chat
# widget on SHOP_PORT, and sinks that receive every email reply (SMTP on SMTP_PORT) and every text
# reply (a Twilio stand-in on TWILIO_PORT, unless TWILIO_ACCOUNT_SID names a real account), and a
# receiver for every webhook event on WEBHOOK_PORT; read them with `helpdesk demo outbox`. Ctrl-C
# stops them all.
PORT ?= 5000
SHOP_PORT ?= 5001
SMTP_PORT ?= 2525
TWILIO_PORT ?= 5002
WEBHOOK_PORT ?= 5003
demo: export HELPDESK_PUBLIC_URL ?= http://127.0.0.1:$(PORT)
# The demo's webhook receiver listens on this machine, which a real install refuses.
demo: export HELPDESK_WEBHOOKS_ALLOW_PRIVATE = true
ifeq ($(TWILIO_ACCOUNT_SID),)
demo: export TWILIO_ACCOUNT_SID = AC00000000000000000000000000000000
demo: export TWILIO_AUTH_TOKEN = demo-auth-token
demo: export TWILIO_API_URL = http://127.0.0.1:$(TWILIO_PORT)
endif
demo: install
	$(BIN)/helpdesk db upgrade
	$(BIN)/helpdesk demo --shop-port $(SHOP_PORT) --smtp-port $(SMTP_PORT) --webhook-port $(WEBHOOK_PORT)
	@bash -c 'pids=; trap "kill \$$pids 2>/dev/null; wait \$$pids" EXIT INT TERM; \
	  $(BIN)/helpdesk demo sinks --smtp-port $(SMTP_PORT) --twilio-port $(TWILIO_PORT) --webhook-port $(WEBHOOK_PORT) & pids="$$pids $$!"; \
	  $(BIN)/helpdesk demo shop --port $(SHOP_PORT) & pids="$$pids $$!"; \
	  $(BIN)/helpdesk worker & pids="$$pids $$!"; \
	  $(BIN)/helpdesk run --host 127.0.0.1 --port $(PORT)'

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

services:
	bash .ci/services

# The SQLite and PostgreSQL passes run side by side (each on its own database); the SQLite pass
# reports as it goes, the PostgreSQL pass's report follows it.
test: install lint services
	@log=$$(mktemp); \
	DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -p no:cacheprovider >$$log 2>&1 & pg=$$!; \
	trap 'kill $$pg 2>/dev/null; rm -f $$log' EXIT INT TERM; \
	$(BIN)/pytest; sqlite=$$?; \
	wait $$pg; postgresql=$$?; \
	echo "=== the PostgreSQL pass"; cat $$log; \
	test $$sqlite -eq 0 && test $$postgresql -eq 0
