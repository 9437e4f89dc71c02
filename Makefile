# FXTrue developer entry points. The README's two commands are `make demo` and `make test`.
# Everything installs itself: Python deps into .venv (uv, from requirements.lock; pip/uv caches in ~/.cache),
# JVM jars via Maven (cached in ~/.m2) into var/lib, Debian's chromium for the browser test.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
PYTEST_ARGS ?=

.PHONY: setup demo test test-under-load unit integration fault bench-quick browser-deps terraform-check clean-state

setup: $(VENV)/.installed
	$(BIN)/fxtrue stack fetch

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/uv --version 2>/dev/null | grep -q ' $(UV_VERSION)' || { \
	  $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip >/dev/null; \
	  $(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION); }
	$(BIN)/uv pip install -q -p $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q -p $(BIN)/python --no-deps -e .
	@touch $@

demo: setup
	$(BIN)/fxtrue demo

browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; else \
	  echo "installing Debian's chromium + chromium-driver for the dashboard browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

terraform-check:
	bash .ci/terraform-check.sh

# All tests: unit, DAG, integration against the real local stack (started and stopped by the tests),
# end-to-end and browser; then the fault suite; then the Terraform checks.
test: setup browser-deps
	$(BIN)/python -m pytest tests/unit tests/dags tests/integration -ra --durations=20 \
	  --junitxml=artifacts/junit.xml $(PYTEST_ARGS)
	$(MAKE) fault PYTEST_ARGS="--junitxml=artifacts/junit-fault.xml $(PYTEST_ARGS)"
	$(MAKE) terraform-check

# The same tests with both cores kept busy by other processes for the whole run (as on a shared CI machine).
test-under-load:
	bash .ci/under-load $(MAKE) test

# The fault suite (kill -9 of the streaming job five times in a replay, Cassandra and then the Kafka broker
# restarted in another, the producer killed and brought back by the supervisor), each ending with exact counts.
# It runs on its own throw-away stack on free ports (never the shared one); about 20 minutes on 2 quiet cores.
fault: setup
	$(BIN)/python -m pytest tests/fault -m fault -v -ra --timeout 1800 $(PYTEST_ARGS)

bench-quick: setup
	$(BIN)/fxtrue bench --quick

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit tests/dags -q $(PYTEST_ARGS)

integration: setup
	$(BIN)/python -m pytest tests/integration -ra $(PYTEST_ARGS)

clean-state:
	-$(BIN)/fxtrue stack down
	rm -rf var
