# GradNetOT Book. Quickstart: `make book` (executed HTML book) and `make test`.
#
#   make book         full-size book        -> _build/html        (execution cache _build/.jupyter_cache)
#   make book-fast    GRADNETOT_FAST=1 book -> _build_fast/_build/html (its own cache under _build_fast/)
#   make test         pytest tests/ + nbval over chapters/, with GRADNETOT_FAST=1
#   make test-browser Playwright/Chromium checks of the built book (run `make book` first)
#   make assignments  student edition, solutions hidden -> _build/student/_build/html
#   make benchmarks   run the scripts in benchmarks/
#   make sync         re-pair every chapter: chapters/NN_name.md <-> chapters/NN_name.ipynb (jupytext)
#   make lab          JupyterLab on chapters/ from .venv; the .md chapters open as notebooks
#   make clean        remove build outputs (keeps .venv; `make distclean` removes it too)
#
# `make book` with GRADNETOT_FAST=1 already set in the environment builds the FAST book
# (into _build_fast), so the FAST and full runs never share an execution cache.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Install torch first so that the CPU/CUDA build can be chosen: CI sets TORCH_SPEC=torch==2.13.0.
TORCH_SPEC ?= torch
STAMP := $(VENV)/.gradnetot-installed
JB := $(VENV)/bin/jupyter-book
JB_FLAGS ?= -W --keep-going

FAST_ON := $(filter-out 0 false no,$(strip $(GRADNETOT_FAST)))
ifneq ($(FAST_ON),)
BOOK_OUT := _build_fast
else
BOOK_OUT := .
endif
# Where `make book` in the current mode writes its HTML (the browser test reads it).
BOOK_HTML := $(BOOK_OUT)/_build/html

.PHONY: help install sync lab book book-fast book-full test test-unit test-notebooks test-browser assignments benchmarks clean distclean

help:
	@sed -n '1,15p' Makefile

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -r requirements.txt
	$(PIP) install -e .
	@echo "$(TORCH_SPEC)" > $@

install: $(STAMP)

# FAST builds run small problems: one OpenMP thread is faster than two there.
# GRADNETOT_STATIC_PROGRESS=1: gn.fit prints one summary line instead of a tqdm widget bar, which a
# static HTML page would show as an empty box.
book: $(STAMP)
	GRADNETOT_STATIC_PROGRESS=1 $(if $(FAST_ON),OMP_NUM_THREADS=1 )$(JB) build . --path-output $(BOOK_OUT) $(JB_FLAGS)
	@echo "Book: $(BOOK_HTML)/index.html"

book-fast:
	$(MAKE) book GRADNETOT_FAST=1

book-full:
	$(MAKE) book GRADNETOT_FAST=0

# One pytest run over tests/ and the chapter notebooks (nbval, outputs not compared), so CI reads
# one summary line. An empty chapters/ just adds no items. The browser test needs a built book:
# it runs in `make test-browser`.
# Two workers (xdist; one notebook stays on one worker), one BLAS/OpenMP thread each: on a
# 2-core machine this is ~2x faster than one process with two threads fighting over small ops.
TEST_JOBS ?= 2
PYTEST_PAR := -n $(TEST_JOBS) --dist loadfile
test: $(STAMP)
	GRADNETOT_FAST=1 OMP_NUM_THREADS=1 $(PY) -m pytest $(PYTEST_PAR) --nbval-lax --nbval-current-env \
	  --ignore=tests/browser tests/ chapters/

test-unit: $(STAMP)
	GRADNETOT_FAST=1 OMP_NUM_THREADS=1 $(PY) -m pytest $(PYTEST_PAR) --ignore=tests/browser tests/

test-notebooks: $(STAMP)
	GRADNETOT_FAST=1 OMP_NUM_THREADS=1 $(PY) -m pytest $(PYTEST_PAR) --nbval-lax --nbval-current-env chapters/ \
	  || [ $$? -eq 5 ]

# Playwright + Debian's /usr/bin/chromium against the book that `make book` built in this mode.
test-browser: $(STAMP)
	GRADNETOT_HTML=$(abspath $(BOOK_HTML)) $(PY) -m pytest tests/browser

# Student edition: the same book with sphinx-exercise's hide_solutions on. It reuses the
# execution cache of the current mode (FAST or full), so nothing runs twice.
assignments: $(STAMP)
	$(PY) _ext/student_config.py --cache $(abspath $(BOOK_OUT))/_build/.jupyter_cache \
	  --out _build/student/_config_student.yml
	GRADNETOT_STATIC_PROGRESS=1 $(JB) build . --config _build/student/_config_student.yml --path-output _build/student $(JB_FLAGS)
	@echo "Student edition: _build/student/_build/html/index.html"

benchmarks: $(STAMP)
	$(PY) benchmarks/train_step.py
	$(PY) benchmarks/high_dim_gaussians.py
	$(PY) benchmarks/disk_to_gaussian.py

# Chapters are MyST Markdown notebooks paired with .ipynb files (jupytext.toml). `jupytext --sync`
# takes the more recently edited member of each pair as the source and rewrites the other; then the
# .ipynb files are stored without outputs, as the repository keeps them.
CHAPTER_MD := $(wildcard chapters/[0-9][0-9]_*.md)
sync: $(STAMP)
	$(VENV)/bin/jupytext --sync $(CHAPTER_MD)
	$(PY) _ext/clear_outputs.py chapters/[0-9][0-9]_*.ipynb

# JupyterLab in .venv (installed on first use). The override makes a double click open the MyST
# chapters as notebooks (jupytext's "Jupytext Notebook" viewer); saving one updates both files.
LAB_STAMP := $(VENV)/.lab-installed
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
$(LAB_STAMP): $(STAMP)
	$(PIP) install "jupyterlab>=4" "jupytext>=1.16"
	mkdir -p $(LAB_SETTINGS)
	printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $(LAB_SETTINGS)/overrides.json
	@touch $@
LAB_ARGS ?=
# (JupyterLab refuses to start as root, e.g. in a container, unless told to.)
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(LAB_STAMP)
	$(VENV)/bin/jupyter lab chapters/ $(LAB_ROOT) $(LAB_ARGS)

clean:
	rm -rf _build _build_fast .pytest_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
