# groundshare: `make run` serves the demo network, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# What `make run` serves, plans and drives stations with (pyproject's extras); `make test` installs
# every extra and the test tools (.[test]).
RUN_EXTRAS := server,schedule,agent,report,fast
DEMO_ELEMENTS := src/groundshare/data/celestrak_cubesat_2025-11-06.tle
DEMO_STATIONS := src/groundshare/data/demo_stations.toml
# `make run` keeps the demo network's database here (SQLite, no server needed), and the
# demo organisations' admin tokens beside it (mode 0600, kept from one run to the next).
DEMO_DIR := .demo
DEMO_DATABASE_URL ?= sqlite:///$(CURDIR)/$(DEMO_DIR)/groundshare.db
DEMO_TOKENS := $(DEMO_DIR)/tokens.toml
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run passes test test-fast lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[$(RUN_EXTRAS)]'
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP) $@

# Idempotent: a second run adds nothing, keeps the tokens and the network's clock, books nothing twice.
run: $(STAMP)
	@mkdir -p $(DEMO_DIR)
	$(VENV)/bin/groundshare db upgrade --database-url $(DEMO_DATABASE_URL)
	$(VENV)/bin/groundshare demo load --plan-days 2 --database-url $(DEMO_DATABASE_URL) --tokens-file $(DEMO_TOKENS)
	@echo "dashboard: http://$(HOST):$(PORT)/dashboard/ (sign in with a token printed above)"
	@echo "other commands use this database with:  export GROUNDSHARE_DATABASE_URL=$(DEMO_DATABASE_URL)"
	$(VENV)/bin/groundshare serve --host $(HOST) --port $(PORT) --database-url $(DEMO_DATABASE_URL)

# The demo CubeSats' passes over the demo stations, for one day from the snapshot's epoch.
passes: $(STAMP)
	$(VENV)/bin/groundshare passes --elements $(DEMO_ELEMENTS) --stations $(DEMO_STATIONS) \
		--start epoch --days 1

# The suite on every core and one more (TEST_WORKERS=0: in this one process): many tests spend their time
# waiting on real clocks (a pass flown by a station agent or satnogs-client), so one worker more than the cores
# keeps them busy.  pytest-xdist sends each test module whole to one worker, so a module's fixtures (a served
# network, a browser) are made once; the slowest modules go first.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Everything, as CI runs it.
test: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(PY) -m pytest -q $(PYTEST_PARALLEL)

# About a minute: no server process, browser, Hamlib daemon or other program, nothing slow (pyproject's markers).
test-fast: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(PY) -m pytest -q $(PYTEST_PARALLEL) -m "not (service or browser or hardware or slow)"

bench: $(TEST_STAMP)
	$(PY) bench/passes.py
	$(PY) bench/link.py
	$(PY) bench/api.py
	$(PY) bench/frames.py
	$(PY) bench/schedule.py
	$(PY) bench/gnss.py
	$(PY) bench/scale.py
	$(PY) bench/elements.py
	$(PY) bench/leop.py
	$(PY) bench/leop_identify.py
	$(PY) bench/leop_booking.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist src/*.egg-info .pytest_cache .ruff_cache
