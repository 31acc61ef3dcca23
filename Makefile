# Talenten Trotter print pipeline. `make` sets everything up and builds all PDFs into dist/;
# `make test` runs the tests. See README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
JOBS   ?=

.PHONY: all build book brochure card cahiers screen preflight test bench release clean distclean check-libs help

all: build

help:
	@echo "make            set up .venv and build every publication into dist/"
	@echo "make test       run the test suite"
	@echo "make book|brochure|card|cahiers   build one publication (or all cahiers)"
	@echo "make screen     build the screen edition (dist/screen/)"
	@echo "make preflight  check the built print PDFs for the print shop"
	@echo "make release VERSION=X.Y.Z   build a release into dist/release/X.Y.Z/"
	@echo "make bench      benchmark builds (benchmarks/results.json); BENCH_ARGS=--quick for one run"
	@echo "make clean      remove dist/ and the build cache"

APT_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 argyll icc-profiles-free

# WeasyPrint needs Pango; libharfbuzz-subset makes PDF writing about 3x faster; ArgyllCMS
# colprof builds the FOGRA39 CMYK profile from Debian's icc-profiles-free data.
check-libs:
	@for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz-subset.so.0; do \
	  if ! /sbin/ldconfig -p 2>/dev/null | grep -q "$$lib"; then \
	    echo "missing system library $$lib: run 'sudo apt-get install $(APT_PACKAGES)'"; \
	    exit 1; \
	  fi; \
	done
	@if ! command -v colprof >/dev/null || [ ! -f /usr/share/color/icc/FOGRA39L.ti3 ]; then \
	  echo "missing ArgyllCMS colprof or FOGRA39 data: run 'sudo apt-get install $(APT_PACKAGES)'"; \
	  exit 1; \
	fi

$(STAMP): pyproject.toml | check-libs
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(PY) -m trotter.icc
	@touch $@

build: $(STAMP)
	$(PY) build.py build
	$(PY) build.py preflight

preflight: $(STAMP)
	$(PY) build.py preflight

book brochure card cahiers: $(STAMP)
	$(PY) build.py build $@

screen: $(STAMP)
	$(PY) build.py build --variant screen

test: $(STAMP)
	$(PY) -m pytest

BENCH_ARGS ?=

bench: $(STAMP)
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

# make release VERSION=X.Y.Z [OUT=dir] [FORCE=1]: every publication, print and screen, and the
# imposed sheets into dist/release/X.Y.Z/ with manifest.json and SHA256SUMS (see README.md)
release: $(STAMP)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=X.Y.Z [OUT=dir] [FORCE=1]"; exit 2; }
	$(PY) build.py release --version "$(VERSION)" $(if $(OUT),--out "$(OUT)") $(if $(FORCE),--force)

clean:
	rm -rf dist .cache

distclean: clean
	rm -rf $(VENV)
