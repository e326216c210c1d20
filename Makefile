# Dynamic Chat for Rasa. `make run` and `make test` set everything up first.
# Rasa 3.6 supports Python 3.8 to 3.10; we use 3.10.

SHELL := /bin/bash
# Rasa's usage and crash reports stay off: no data leaves the machine.
export RASA_TELEMETRY_ENABLED ?= false
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The first python3.10 that really runs (a pyenv shim may exist but refuse).
PYTHON310 ?= $(shell for candidate in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	  if command -v $$candidate >/dev/null 2>&1 && $$candidate -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then \
	    command -v $$candidate; break; fi; done)

.PHONY: install run test check widget validate compile train bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "error: Python 3.10 was not found. Rasa 3.6 supports Python 3.8 to 3.10 only;" >&2; \
	  echo "       install python3.10 (e.g. 'pyenv install 3.10' or your distribution's package) and retry," >&2; \
	  echo "       or point PYTHON310=/path/to/python3.10 at it." >&2; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON310) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# The widget: socket.io-client and esbuild from npm, bundled into widget/dist/widget.js.
WIDGET := widget/dist/widget.js
widget: $(WIDGET)

widget/node_modules/.installed: widget/package.json widget/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js) is needed to build the widget" >&2; exit 1; }
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WIDGET): widget/node_modules/.installed $(wildcard widget/src/*.js)
	cd widget && npm run --silent build

# Debian's Chromium for the browser tests (Playwright drives it; it downloads no browser).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi

# Debian's HAProxy: the load balancer `dynchat run` puts in front of several Rasa and action servers.
HAPROXY := /usr/sbin/haproxy
$(HAPROXY):
	@echo "installing Debian's haproxy for the scale-out tests"
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq haproxy; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq haproxy; fi

# The schemas tests/unit/test_deploy.py checks deploy/ against, from their packages on PyPI (no other
# download): the Compose specification's (in docker-compose 1.29.2) and Kubernetes 1.30's (in
# kubernetes-validate). Only the schema files are kept; neither package is installed.
SCHEMAS := $(VENV)/share/schemas/.installed
$(SCHEMAS): $(STAMP)
	@mkdir -p $(VENV)/share/schemas/wheels
	@$(BIN)/pip download --quiet --no-deps -d $(VENV)/share/schemas/wheels docker-compose==1.29.2 kubernetes-validate==1.37.0
	@$(BIN)/python -c "import glob, zipfile; \
	  z = zipfile.ZipFile(glob.glob('$(VENV)/share/schemas/wheels/docker_compose-*.whl')[0]); \
	  open('$(VENV)/share/schemas/compose_spec.json', 'wb').write(z.read('compose/config/compose_spec.json')); \
	  k = zipfile.ZipFile(glob.glob('$(VENV)/share/schemas/wheels/kubernetes_validate-*.whl')[0]); \
	  prefix = 'kubernetes_validate/kubernetes-json-schema/v1.30.0-local-strict/'; \
	  [k.extract(n, '$(VENV)/share/schemas') for n in k.namelist() if n.startswith(prefix)]"
	@rm -rf $(VENV)/share/schemas/wheels
	@touch $@

run: install $(WIDGET)
	$(BIN)/dynchat run

validate: install
	$(BIN)/dynchat validate

compile: install
	$(BIN)/dynchat compile

train: install
	$(BIN)/dynchat train

# The house rules first (seconds), then the tests: unit, integration, end to end.
check: install
	@echo "ruff: style and likely bugs"; $(BIN)/ruff check --quiet .
	@echo "import-linter: layers, pure core, no emulator in production code"; \
	  out=$$($(BIN)/lint-imports 2>&1) || { echo "$$out"; exit 1; }
	@echo "mypy: types of bot/ and actions/"; $(BIN)/mypy --no-error-summary

test: install check $(WIDGET) $(CHROMIUM) $(HAPROXY) $(SCHEMAS)
	@$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$status

bench: install $(WIDGET) $(CHROMIUM) $(HAPROXY)
	$(BIN)/python bench/bench_scaling.py
	$(BIN)/python bench/bench_dialogues.py
	$(BIN)/python bench/bench_visitors.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_meetings.py
	$(BIN)/python bench/bench_widget.py
	$(BIN)/python bench/bench_console.py
	$(BIN)/python bench/bench_publish.py

clean:
	rm -rf build models .rasa .pytest_cache
