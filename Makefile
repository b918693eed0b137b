# Two commands for a fresh clone (Python 3.11 is the only prerequisite):
#   make dashboard   set up a local virtual environment and serve the dashboard on 127.0.0.1:8866
#   make test        set up and run the whole test suite (lint, unit, notebooks, browser)
#   make unit        the fast tier: lint and every test that starts no browser, notebook, server or kernel
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8866
export JUPYTER_PATH := $(CURDIR)/share/jupyter$(if $(JUPYTER_PATH),:$(JUPYTER_PATH))

# Serving options (explorer/serving/config.py): loopback only, tracebacks hidden, idle kernels of closed
# tabs culled, a cap on concurrent kernels; POOL=N keeps N preheated kernels ready. One by default:
# the next viewer's page opens on a kernel that has imported everything and read the data (a
# landing page as fast as Voila's minimum page, measured in bench/; 109 MB kept ready).
POOL ?= 1

.PHONY: setup dashboard test unit lint browser-deps bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m explorer.serving.config  # template and kernelspec where a plain `voila` finds them
	$(PY) -m compileall -q explorer  # each viewer's kernel then reads bytecode, not the source
	touch $(STAMP)

dashboard: setup
	$(VENV)/bin/explorer serve --port=$(PORT) --pool=$(POOL)

browser-deps:
	@bash tools/ensure-chromium.sh

lint: setup
	$(VENV)/bin/ruff check .

test: setup browser-deps lint
	$(PY) -m pytest

# Markers in pyproject.toml; `serving` is set by tests/conftest.py on every test that starts a Voila
# server, a kernel or a browser.
unit: setup lint
	$(PY) -m pytest -m "not browser and not notebook and not serving"

bench: setup browser-deps
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
