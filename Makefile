# The project's verbs. Each works on a fresh clone: `make run` and `make test` set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
TEST_DATABASE_URL ?=
PYTEST_ARGS ?=
export FLASK_APP := wsgi

.PHONY: run test lint format install install-test browser assets bench loadtest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed with the pinned versions in constraints.txt, so CI runs what was tested.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-load: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[load]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# Brotli and gzip copies of every static file beside it (static_files.py serves them), made
# again when a file changes; the copies are not committed (.gitignore).
STATIC_SOURCES := $(shell find static -type f ! -name '*.br' ! -name '*.gz')
.stamp-static-compressed: $(VENV)/.installed $(STATIC_SOURCES)
	$(BIN)/python -m whitenoise.compress --quiet static
	touch $@

install: $(VENV)/.installed .stamp-static-compressed

install-test: $(VENV)/.installed-test .stamp-static-compressed node_modules/.installed browser

# axe-core (accessibility checks in browser tests) from the npm registry, pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# Debian's Chromium for the end-to-end tests (Playwright drives it via executable_path) and
# GDAL's ogrinfo, which checks that the GeoJSON exports open as QGIS would open them.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v ogrinfo >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium and gdal-bin for the browser and export tests..."; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium gdal-bin >/dev/null; } || \
	  echo "WARNING: could not install chromium/gdal-bin; those tests will be skipped (and fail in CI)."; \
	fi

run: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed
	$(BIN)/flask demo-data --if-empty --jurisdictions 150 --commitments 400
	PUBLIC_URL="$${PUBLIC_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check campaign tests scripts wsgi.py gunicorn.conf.py
	$(BIN)/ruff format --check campaign tests scripts wsgi.py gunicorn.conf.py
	$(BIN)/lint-imports --no-cache  # the boundaries in docs/architecture.md (pyproject.toml)

format: $(VENV)/.installed-test
	$(BIN)/ruff format campaign tests scripts wsgi.py gunicorn.conf.py
	$(BIN)/ruff check --fix campaign tests scripts wsgi.py gunicorn.conf.py

test: install-test lint
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest $(PYTEST_ARGS)

# Refresh the self-hosted front-end files in static/vendor from the pinned npm packages.
assets: node_modules/.installed
	$(BIN)/python scripts/vendor_assets.py
	$(MAKE) .stamp-static-compressed

# National-scale figures for the map and dashboard, a 10,000-row spreadsheet import, and
# placing a 900-row 287(g) list on the gazetteer; see docs/performance.md.
BENCH_DATABASE_URL ?=
bench: install
	BENCH_DATABASE_URL="$(BENCH_DATABASE_URL)" $(BIN)/python scripts/bench.py
	BENCH_DATABASE_URL="$(BENCH_DATABASE_URL)" $(BIN)/python scripts/bench_import.py
	BENCH_DATABASE_URL="$(BENCH_DATABASE_URL)" $(BIN)/python scripts/bench_layers.py
	$(MAKE) install-test
	$(BIN)/python scripts/bench_browser.py

# The app under gunicorn with 50 simulated people at work (locust); see docs/performance.md.
# LOADTEST_DATABASE_URL=postgresql://... for PostgreSQL; LOADTEST_ARGS="--rebuild" etc.
LOADTEST_DATABASE_URL ?=
LOADTEST_ARGS ?=
loadtest: $(VENV)/.installed-load
	LOADTEST_DATABASE_URL="$(LOADTEST_DATABASE_URL)" $(BIN)/python scripts/loadtest.py $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
