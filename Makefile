# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DJANGO_SETTINGS_MODULE := hub.settings

.PHONY: run test test-fast bench lint services install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Leaflet, Leaflet.draw, Natural Earth's countries (world-atlas) and topojson-client from the npm
# registry, copied into static/vendor (no CDN at run time).
VENDOR := static/vendor/.stamp
$(VENDOR): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to vendor Leaflet: apt-get install npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf static/vendor
	mkdir -p static/vendor/leaflet static/vendor/leaflet-draw static/vendor/world-atlas \
	  static/vendor/topojson-client
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
	  node_modules/leaflet/dist/images static/vendor/leaflet/
	cp -r node_modules/leaflet-draw/dist/leaflet.draw.js node_modules/leaflet-draw/dist/leaflet.draw.css \
	  node_modules/leaflet-draw/dist/images static/vendor/leaflet-draw/
	cp node_modules/world-atlas/countries-50m.json node_modules/world-atlas/LICENSE \
	  static/vendor/world-atlas/
	cp node_modules/topojson-client/dist/topojson-client.min.js node_modules/topojson-client/LICENSE \
	  static/vendor/topojson-client/
	touch $@

# The selection kernels compiled once into numba's cache, so that the first order of a fresh
# install does not compile them (compositing/selection/warmup.py); again when their code changes.
# numba writes the cache beside the kernels, in compositing/selection/__pycache__ (git-ignored),
# or in NUMBA_CACHE_DIR if set, or in the user's cache folder if the tree is read-only.
KERNELS := $(VENV)/.kernels-compiled
$(KERNELS): $(STAMP) $(wildcard compositing/selection/*.py) compositing/archive/stack.py
	$(PY) -m compositing.selection.warmup
	touch $@

install: $(STAMP) $(VENDOR) $(KERNELS)

## Start the hub on http://127.0.0.1:8000 and one worker (SQLite, no-server broker). Ctrl-C stops both.
run: $(STAMP) $(VENDOR) $(KERNELS)
	DEBUG=$${DEBUG:-1} bin/run-hub

# pytest-xdist workers for `make test` (0: one process). worksteal gives each worker a
# contiguous half of the collection and lets an idle one take the other's last tests, so every
# worker keeps pytest-django's order: database tests before the transactional ones, whose flush
# deletes the rows data migrations wrote (loadscope reorders modules and breaks that). Contiguous
# runs also keep module-scoped fixtures (demo archives, composed products) mostly on one worker.
TEST_WORKERS ?= 2
# Production settings (DEBUG off) with a key long enough to be accepted (50+ characters).
TEST_ENV := DEBUG=0 SECRET_KEY=test-only-key-never-in-production-0123456789abcdefghij

## ruff, mypy (strict defs, see pyproject), then the whole suite on TEST_WORKERS cores; starts
## PostgreSQL and Redis when installed but down.
test: $(STAMP) $(VENDOR) $(KERNELS) lint
	bin/ensure-services
	bin/ensure-browser
	bin/ensure-nginx
	$(TEST_ENV) $(VENV)/bin/pytest -p no:cacheprovider \
	  -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

## The suite without the cases marked heavy (browser, hub processes, long compositions).
test-fast: $(STAMP) $(KERNELS)
	$(TEST_ENV) $(VENV)/bin/pytest -p no:cacheprovider -m "not heavy"

## Benchmarks: each script under bench/ prints its figures.
bench: $(STAMP) $(KERNELS)
	$(PY) -m pip install --quiet -e '.[dev,bench]'  # geomad, to compare against in the same run
	bin/ensure-nginx  # bench/remote.py serves the archive over HTTP
	@for script in bench/[!_]*.py; do echo "== $$script"; DEBUG=1 $(PY) $$script || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

services:
	bin/ensure-services

clean:
	rm -rf var/media var/broker
