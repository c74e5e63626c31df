# Every target creates .venv and installs on first use; later runs reinstall only when
# pyproject.toml changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS_STAMP := $(VENV)/.installed-extras
APT_SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
PYTEST_ARGS ?=

.PHONY: install install-extras demo test lab app bench system-deps lint clean setup-git

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else "Python 3.11-3.13 is needed (requires-python in pyproject.toml), found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing tf-workbench and its dependencies into $(VENV) (first time: a few minutes)"
	@$(BIN)/python -m pip install -qq --disable-pip-version-check -e ".[test]"
	@$(BIN)/python -m pip check
	@touch $(STAMP)

# The optional extras the tests exercise: beam (statistics on Apache Beam's DirectRunner) and
# kubeflow (the pipeline compiled with kfp and run through kfp.local). make demo does not need
# them; pip check runs after each install, so it is checked with and without them.
install-extras: $(EXTRAS_STAMP)

$(EXTRAS_STAMP): $(STAMP)
	@echo "installing the optional extras the tests use: beam, kubeflow"
	@$(BIN)/python -m pip install -qq --disable-pip-version-check -e ".[test,beam,kubeflow]"
	@$(BIN)/python -m pip check
	@touch $(EXTRAS_STAMP)

# Debian packages the tests use: Chromium for the browser tests (Playwright never downloads a
# browser here), wrk, the load generator of the serving tests and benchmarks, and prometheus
# (prometheus + promtool), which scrapes the local server and checks the alert rules in tests/ops.
SYSTEM_PACKAGES := chromium chromium-driver wrk prometheus
system-deps:
	@missing=""; \
	for cmd in chromium chromedriver wrk prometheus promtool; do command -v $$cmd >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $(SYSTEM_PACKAGES)"; \
	  $(APT_SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(APT_SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	fi

demo: install
	@$(BIN)/workbench demo

test: install-extras system-deps
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# nbdime's JupyterLab extension (diff a notebook against git HEAD from its toolbar) stays on in
# the lab; the Voila apps switch it off themselves (templates/voila_config).
lab: install
	@$(BIN)/jupyter server extension enable --sys-prefix nbdime >/dev/null 2>&1
	@$(BIN)/jupyter labextension enable nbdime-jupyterlab >/dev/null 2>&1
	@$(BIN)/workbench lab

# notebooks in git: nbdime's diff/merge drivers in this repository, and the pre-commit hooks
# (outputs cleared from notebooks, ruff)
setup-git: install
	@$(BIN)/workbench git-setup
	@$(BIN)/pre-commit install

app: install
	@$(BIN)/workbench apps --open

bench: install-extras system-deps
	@$(BIN)/python -m bench

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
