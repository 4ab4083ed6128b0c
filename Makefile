# The two commands: `make book` builds the website, `make test` runs every test.
# Both create .venv and install requirements.txt on first use. They need Python 3.11 or newer:
# the first of python3, python3.13, python3.12, python3.11 that is new enough (or PYTHON=...).
# The website's MathJax, require.js and widget manager come from package.json via `npm ci`;
# without npm the build says so and loads them from public CDNs instead.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; \
  done)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# BPTT_STATIC_WIDGETS=1 turns every exploration into a static slider that works without a kernel.
JB := BPTT_STATIC_WIDGETS=1 $(BIN)/jupyter-book build . -W -n --keep-going --all
# Repeated after a build, where it cannot scroll away: without npm the site needs the internet.
CDN_NOTE = if grep -q 'mathjax_path: https://' _build/config/$(1).yml; then \
  echo "WARNING: npm was missing or failed: this site loads MathJax, require.js and the"; \
  echo "WARNING: widget manager from public CDNs and does not work offline. Install npm,"; \
  echo "WARNING: then rebuild."; fi

.PHONY: book student-book pdf test lab lab-source notebooks publish-notebooks clean lint venv screenshot test-kernels bench
# One thing at a time: both editions share the cache of executed notebooks.
.NOTPARALLEL:

venv: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python 3.11 or newer found; install one or set PYTHON=..."; exit 1; }
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else \
	  "make: Python 3.11 or newer is needed, got %d.%d; set PYTHON=python3.x" % v[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(INSTALLED)

# Execute every notebook and build the site into _build/html; warnings and execution errors
# fail the build. Notebooks whose code and engine are unchanged since their last successful
# run reuse its outputs (tools/prepare_site.py); every page is re-rendered.
book: $(INSTALLED)
	BPTT_STATIC_WIDGETS=1 $(BIN)/python tools/prepare_site.py full
	$(JB) --config _build/config/full.yml
	$(BIN)/python tools/make_notebooks.py --site _build/html
	@$(call CDN_NOTE,full)
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

# The same book with every solution hidden (sphinx-exercise's hide_solutions), into
# _build/student/html. It reuses the notebooks `make book` executed.
student-book: $(INSTALLED)
	BPTT_STATIC_WIDGETS=1 $(BIN)/python tools/prepare_site.py student
	$(JB) --config _build/config/student.yml --path-output _build/student
	rm -rf _build/student/html && mv _build/student/_build/html _build/student/html
	$(BIN)/python tools/make_notebooks.py --student-site _build/student/html
	@$(call CDN_NOTE,student)
	@echo "The student edition is at file://$(CURDIR)/_build/student/html/index.html"

# The book as one PDF, printed from the built sites by Chromium (tools/pdf.py, no LaTeX):
# _build/pdf/book.pdf, and the student edition's, without solutions, _build/pdf/book-student.pdf.
# Each site gets its own copy (book.pdf at its root), linked from its landing page.
pdf: $(INSTALLED)
	$(BIN)/python tools/pdf.py full
	$(BIN)/python tools/pdf.py student

# Lint, both editions of the website, then one pytest run: unit tests, every notebook in book/
# executed by nbval (each cell must run; the asserts in the cells are the proofs), and the
# browser tests of both sites (tests/test_site.py, headless Chromium).
test: $(INSTALLED) lint book student-book pdf
	$(BIN)/python -m pytest tests book --nbval-lax --nbval-current-env -n 2 --dist loadscope \
	  -p no:cacheprovider -v --durations=5

# The engine's unit tests again under other OpenBLAS kernels (generic Prescott, and SkylakeX
# where the CPU has AVX-512), each checked with threadpoolctl: a float comparison that holds
# only under this machine's kernel fails here, not on a reader's CPU. .ci/run calls it.
test-kernels: $(INSTALLED)
	$(BIN)/python tools/blas_kernels.py

# Time loss_and_grads (RNN, LSTM, GRU) against a lean numpy reference, and PyTorch if
# installed, at three shapes; prints the ratios (benchmarks/bench.py).
bench: $(INSTALLED)
	$(BIN)/python benchmarks/bench.py

lint: $(INSTALLED)
	$(BIN)/python -m ruff check bptt_core coursework tests tools

# Refresh the README's screenshot from the browser tests' one (after make test).
screenshot:
	cp test-output/chapter.png docs/screenshot.png

# JupyterLab on the chapters, as on the website: the notebook edition (tools/make_notebooks.py;
# it runs a chapter once for its glued numbers when make book has not) copied into lab/full,
# or lab/student with EDITION=student, where your changes are kept (tools/lab_workspace.py).
# Live sliders (bptt_core/live.py). Root (containers, classroom VMs) gets --allow-root; the
# news popup is off for this venv (tools/lab_settings.py writes
# $(VENV)/share/jupyter/lab/settings/overrides.json). `make lab-source` opens the MyST
# sources in book/ instead (for authors; jupyterlab-myst renders them one notebook at a time).
EDITION ?= full
ROOT_FLAG = $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(INSTALLED)
	$(BIN)/python tools/lab_settings.py
	$(BIN)/python tools/make_notebooks.py
	$(BIN)/python tools/lab_workspace.py $(EDITION)
	$(BIN)/jupyter lab lab/$(EDITION) $(ROOT_FLAG)

lab-source: $(INSTALLED)
	$(BIN)/python tools/lab_settings.py
	$(BIN)/jupyter lab book $(ROOT_FLAG)

# The notebook edition for Colab, Binder, VS Code and classic Jupyter: plain Jupyter Markdown in
# _build/jupyter/full and _build/jupyter/student (tools/make_notebooks.py). `make book` writes
# it too (its glued numbers come from the executed notebooks), and the website's download
# button serves it.
notebooks: book

# Publish the notebook edition to the branch the Colab and Binder buttons open
# (repository.branch in _config.yml): ghp-import commits _build/jupyter/publish as that
# branch's whole tree, then pushes it to origin (PUSH=0: commit only). It refuses a branch
# that holds anything else, such as main (tools/publish_notebooks.py).
publish-notebooks: book
	$(BIN)/python tools/publish_notebooks.py $(if $(filter 0,$(PUSH)),,--push)

clean:
	rm -rf _build test-output .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune \
	  -exec rm -rf {} +
	@echo "Kept .venv and node_modules; remove them with: rm -rf .venv node_modules"
