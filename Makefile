# openbrief: `make brief` builds the weekly brief, `make test` runs the tests.
# Both set everything up first (virtualenv, packages, Jupyter kernel, system
# packages for the PDF route); the second run only checks the stamps.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-dejavu-core poppler-utils
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup brief test demo lab bench clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

setup: .make-system $(VENV)/.installed ## create/refresh .venv, install openbrief, register the kernel

.make-system: Makefile
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "openbrief needs these system packages:$$missing"; \
	    echo "run:  sudo apt-get update && sudo apt-get install -y$$missing   then run make again"; exit 1; \
	  fi; \
	fi
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "openbrief needs Python 3.11 or newer: set PYTHON=python3.11")'
	@touch $@

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -m pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c 'import openbrief, papermill, weasyprint, huggingface_hub' || { echo "installing openbrief into $(VENV) failed"; exit 1; }
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib lib >/dev/null 2>&1 || true  # bytecode even under PYTHONDONTWRITEBYTECODE: seconds off every build
	@$(BIN)/python -c 'from openbrief.render import ensure_kernel; ensure_kernel()' 
	@touch $@

brief: setup ## fetch a live snapshot and build the weekly brief (prints the PDF path)
	@$(BIN)/openbrief build weekly --live $(ARGS)

test: setup ## run the test suite
	@$(BIN)/python -m pytest $(ARGS)

demo: setup ## build a weekly brief offline on synthetic data (prints the PDF path)
	@$(BIN)/openbrief demo $(ARGS)

lab: setup ## open JupyterLab on notebooks/ with the openbrief kernel (demo data until store/ has a snapshot)
	@store=$$($(BIN)/python -c 'from openbrief.cli.demo import lab_store; print(lab_store())') && \
	echo "notebooks read snapshots from $$store" && \
	OPENBRIEF_STORE=$$store $(BIN)/jupyter lab --notebook-dir=notebooks \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(ARGS)

bench: setup ## run the benchmarks in bench/: one table, figures in bench/results.json
	@$(BIN)/python bench/run.py $(ARGS)

clean-venv: ## remove the virtualenv (snapshots and briefs are kept)
	rm -rf $(VENV) .make-system
