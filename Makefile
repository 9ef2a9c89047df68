# Two commands do all set-up on a fresh machine (Python 3.11+ and make):
#   make lab    create .venv if needed, then open JupyterLab at the welcome lesson
#   make test   create .venv if needed, then run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: lab test bench notebooks lint clean release

$(READY): requirements.txt constraints.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else \
	  f"Python 3.11 or newer is needed, found {v.major}.{v.minor}: run make PYTHON=python3.12 ...")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	@# Make the toolkit (and only the toolkit) importable: src/ also holds the reference app.
	@mkdir -p $(VENV)/toolkit && ln -sfn "$(CURDIR)/src/course" $(VENV)/toolkit/course
	@echo "$(CURDIR)/$(VENV)/toolkit" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/course-toolkit.pth"
	@touch $@

lab: $(READY)
	@# Serve the whole course (lessons and your workspace/) and open the welcome lesson.
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) \
	  --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks/00-welcome.ipynb

test: $(READY)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(READY)
	$(PY) tests/bench.py
	$(PY) tests/bench_load.py

release: $(READY)
	$(PY) -m course.release $(RELEASE_ARGS)

notebooks: $(READY)
	$(PY) -m course.authoring

lint: $(READY)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV)
