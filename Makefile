# harden — the two commands of the README, plus a few conveniences.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.harden-installed

.PHONY: demo test setup services lint lab benchmark docs clean-reports

# Create .venv and install harden (editable) with its test tools; redone when requirements change.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt -e .
	touch $(STAMP)

setup: $(STAMP)

# redis-server and PostgreSQL for the datastores tests, nginx and openssl for the TLS tests, chromium
# for the browser tests (Debian packages; root installs them when missing, anyone else is told the
# command). The tests start their own throwaway servers and browser.
services:
	@if command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	    && { command -v nginx >/dev/null || test -x /usr/sbin/nginx; } && command -v openssl >/dev/null \
	    && test -x /usr/bin/chromium && command -v restic >/dev/null \
	    && ls /usr/share/postgresql/*/extension/pgaudit.control >/dev/null 2>&1; then \
	  echo "redis-server, PostgreSQL, nginx, openssl, chromium, restic and pgaudit are installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server postgresql nginx openssl chromium restic && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$$(ls /usr/lib/postgresql | sort -n | tail -1)-pgaudit" >/dev/null; \
	else \
	  echo "missing: run 'sudo apt-get install -y redis-server postgresql nginx openssl chromium restic postgresql-15-pgaudit' (those tests skip until then)"; \
	fi

# Set up, run the demo audit, print where the report is. The demo is NO-GO on purpose (exit 1).
demo: $(STAMP)
	@$(BIN)/harden run --env demo; code=$$?; \
	if [ $$code -le 1 ]; then \
	  echo ""; echo "Demo report: $(CURDIR)/reports/demo/latest/index.html"; \
	  echo "(harden exited $$code: 0 = GO, 1 = NO-GO — the demo is NO-GO by design)"; \
	else exit $$code; fi

# Lint and the whole test suite (what CI runs); installs redis-server/PostgreSQL first when root.
test: $(STAMP) services
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# JupyterLab is optional (it is large); installed on first use.
lab: $(STAMP)
	$(BIN)/python -m pip install -q "jupyterlab>=4"
	$(BIN)/jupyter lab notebooks/

# docs/checks.md is generated from the check catalog (harden_lib/catalog/*.yaml); a test fails when stale.
docs: $(STAMP)
	$(BIN)/harden checks --format markdown > docs/checks.md

benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_run.py

clean-reports:
	find reports -mindepth 1 -maxdepth 1 ! -name .gitkeep ! -name README.md -exec rm -rf {} +
