# The project's verbs. Each works on a fresh clone: `make run` and `make test` set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
TEST_DATABASE_URL ?=
PYTEST_ARGS ?=
export FLASK_APP := wsgi

.PHONY: run test lint format install install-test browser assets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed with the pinned versions in constraints.txt, so CI runs what was tested.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test node_modules/.installed browser

# axe-core (accessibility checks in browser tests) from the npm registry, pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# Debian's Chromium for the end-to-end tests (Playwright drives it via executable_path).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi || \
	  echo "WARNING: could not install chromium; browser tests will be skipped (and fail in CI)."; }

run: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/flask demo-data --if-empty --jurisdictions 150 --commitments 400
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check campaign tests scripts wsgi.py
	$(BIN)/ruff format --check campaign tests scripts wsgi.py

format: $(VENV)/.installed-test
	$(BIN)/ruff format campaign tests scripts wsgi.py
	$(BIN)/ruff check --fix campaign tests scripts wsgi.py

test: install-test lint
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
