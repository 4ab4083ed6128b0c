# The two commands: `make book` builds the website, `make test` runs every test.
# Both create .venv and install requirements.txt on first use. They need Python 3.11 or newer:
# the first of python3, python3.13, python3.12, python3.11 that is new enough (or PYTHON=...).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; \
  done)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test lab clean lint venv

venv: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python 3.11 or newer found; install one or set PYTHON=..."; exit 1; }
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else \
	  "make: Python 3.11 or newer is needed, got %d.%d; set PYTHON=python3.x" % v[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(INSTALLED)

# Execute every notebook and build the site; warnings and execution errors fail the build.
# BPTT_STATIC_WIDGETS=1 turns every exploration into a static slider that works without a kernel.
book: $(INSTALLED)
	BPTT_STATIC_WIDGETS=1 $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

# Unit tests, then every notebook in book/ executed by nbval (each cell must run; the asserts
# in the cells are the proofs).
test: $(INSTALLED)
	$(BIN)/python -m ruff check bptt_core tests
	$(BIN)/python -m pytest tests book --nbval-lax --nbval-current-env -n 2 --dist loadscope \
	  -p no:cacheprovider -v --durations=5

lint: $(INSTALLED)
	$(BIN)/python -m ruff check bptt_core tests

# JupyterLab on the chapters: move the sliders.
lab: $(INSTALLED)
	$(BIN)/jupyter lab book

clean:
	rm -rf _build .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	@echo "Kept .venv; remove it with: rm -rf .venv"
