# Two commands do all set-up on a fresh machine (Python 3.11+ and make):
#   make lab    create .venv if needed, then open JupyterLab at the welcome lesson
#   make test   create .venv if needed (with the authors' tools), then run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check --progress-bar off
COURSE := $(VENV)/.course-ready
DEV := $(VENV)/.dev-ready
# checkov (lesson 08) pins an old boto3: it gets a virtual environment of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/.checkov-ready
CHECKOV_VERSION := 3.3.30
# In the authors' repository the toolkit is installed editable; learners get a plain install.
TOOLKIT := $(if $(wildcard solutions),-e toolkit,./toolkit)
HAS_DEV := $(wildcard requirements-dev.txt)
JOBS ?= 2
export COURSE_HOME := $(CURDIR)

.PHONY: lab test test-fast bench notebooks lint clean release wheelhouse checkov

$(COURSE): requirements.txt constraints.txt toolkit/pyproject.toml $(wildcard toolkit/jupyter-config/*)
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else \
	  f"Python 3.11 or newer is needed, found {v.major}.{v.minor}: run make PYTHON=python3.12 ...")'
	@test -x $(PY) || { echo "Creating $(VENV) ..."; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the course's pinned packages into $(VENV) (first time: about a minute) ..."
	$(PIP) --quiet -r requirements.txt -c constraints.txt $(TOOLKIT)
	@# An editable install leaves out the toolkit's data files: the kernel's config (load the
	@# course at start) and JupyterLab's defaults (no news pop-up, no update check).
	@install -D -m 644 toolkit/jupyter-config/ipython_kernel_config.py $(VENV)/etc/ipython/ipython_kernel_config.py
	@install -D -m 644 toolkit/jupyter-config/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@# Lessons 07-08 install the app's dependencies from here, never from the internet.
	@$(PY) -m course.learner.wheelhouse
	@echo "The course is installed in $(VENV)."
	@touch $@

# The wheels of lessons 07-08 (fetched by the install step; this retries after a failure).
wheelhouse: $(COURSE)
	$(PY) -m course.learner.wheelhouse

# checkov for lesson 08 (about 300 MB): `make checkov`; `make test` installs it.
checkov: $(CHECKOV)

$(CHECKOV):
	@echo "Installing checkov $(CHECKOV_VERSION) into $(CHECKOV_VENV) (once; about a minute) ..."
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar off \
	  --quiet checkov==$(CHECKOV_VERSION)
	@touch $@

$(DEV): $(COURSE) $(CHECKOV) requirements-dev.txt
	@echo "Installing the authors' tools (pytest-xdist, playwright, ruff, mypy) ..."
	$(PIP) --quiet -r requirements-dev.txt -c constraints.txt
	@touch $@

lab: $(COURSE)
	@$(PY) -m course.learner.wheelhouse || true  # instant once complete; retried if it failed
	@$(PY) -m course.learner.lessons
	@echo "Starting JupyterLab at the welcome lesson: it opens in your browser (or open the"
	@echo "http://127.0.0.1:8888/lab?token=... address printed below). Stop it with Ctrl-C;"
	@echo "your files and progress stay in workspace/ for next time."
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) \
	  --ServerApp.root_dir="$(CURDIR)" \
	  --LabApp.default_url=/lab/tree/workspace/notebooks/00-welcome.ipynb

test: $(if $(HAS_DEV),$(DEV),$(COURSE)) wheelhouse
	@echo "Running every test$(if $(HAS_DEV), on $(JOBS) cores) (a few minutes) ..."
	$(PY) -m pytest $(if $(HAS_DEV),-n $(JOBS) --dist loadscope) $(PYTEST_ARGS)

test-fast: $(DEV) wheelhouse
	$(PY) -m pytest -n $(JOBS) --dist loadscope -m "not browser and not slow" $(PYTEST_ARGS)

lint: $(DEV)
	$(VENV)/bin/ruff check .
	cd toolkit && ../$(VENV)/bin/mypy

bench: $(DEV)
	$(PY) tests/bench.py
	$(PY) tests/bench_load.py

release: $(COURSE)
	$(PY) -m course.instructor.release $(RELEASE_ARGS)

notebooks: $(COURSE)
	$(PY) -m course.instructor.authoring

clean:
	rm -rf $(VENV) $(CHECKOV_VENV)
