# lode: `make demo` runs the Cloncurry demo, `make test` runs the test suite.
# Both install what is missing first (Debian/Ubuntu packages, via sudo when not root).

SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
# What `make demo` needs: libgdal-dev (the GDAL library and headers the `gdal` crate links
# against: Debian's GDAL 3.6), pkg-config and a C toolchain for the -sys crates.
BUILD_PACKAGES := libgdal-dev pkg-config build-essential
# What `make test` adds: gdal-bin (gdalinfo, gdalwarp, gdal_rasterize, gdaldem: the
# independent readers and references), python3-gdal (gdal_proximity.py, gdal_edit.py and
# GDAL's Python bindings used by reference checks), chromium (headless: report.html is
# rendered and screenshotted), python3-venv (the notebook and STAC tests' venvs), qgis and
# python3-qgis (QGIS 3.22: the Processing provider in qgis/ is tested headless), slurmctld
# slurmd slurm-client munge (tests/cluster.rs starts a one-node SLURM on loopback, no systemd).
TEST_PACKAGES := gdal-bin python3-gdal chromium python3-venv qgis python3-qgis slurmctld slurmd slurm-client munge

.PHONY: help deps test-deps build demo test lint bench clean notebook-env test-env stac-env s3-env qgis-plugin

help:
	@echo "make demo   run lode on Geoscience Australia's Cloncurry data (out/cloncurry), then on GSI's"
	@echo "            Tellus lithium data of south-east Ireland (out/ireland-li)"
	@echo "make test   run the test suite"
	@echo "make bench  run the benchmarks against peer tools (needs PyPI)"
	@echo "make qgis-plugin  package the QGIS Processing provider (target/lode_provider.zip)"

# install_missing PACKAGES...: apt-get install the ones not installed yet (sudo when not root).
define install_missing
	@missing=""; \
	for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES))
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }

test-deps: deps
	$(call install_missing,$(TEST_PACKAGES))

build: deps $(QGIS_ZIP)
	$(CARGO) build --release --locked

demo: build
	./target/release/lode run data/cloncurry/cloncurry.toml
	./target/release/lode run data/ireland-li/leinster-lct.toml

# The notebook test's Python environment: a venv from PyPI with pinned versions
# (notebooks/requirements.txt), rebuilt only when that file changes.
NOTEBOOK_VENV := .venv-notebook
$(NOTEBOOK_VENV)/.installed: notebooks/requirements.txt | test-deps
	rm -rf $(NOTEBOOK_VENV)
	python3 -m venv $(NOTEBOOK_VENV)
	$(NOTEBOOK_VENV)/bin/pip install -q -r notebooks/requirements.txt
	touch $@

notebook-env: $(NOTEBOOK_VENV)/.installed

# The reference checks' Python environment (PyKrige, numpy: tests/ireland.rs), made the
# same way from tests/requirements.txt.
TEST_VENV := .venv-test
$(TEST_VENV)/.installed: tests/requirements.txt | test-deps
	rm -rf $(TEST_VENV)
	python3 -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

test-env: $(TEST_VENV)/.installed

# The STAC test's venv: pystac from PyPI validates stac/item.json offline
# (tests/peers/stac_check.py; extension schemas in tests/fixtures/stac-schemas).
STAC_VENV := .venv-stac
$(STAC_VENV)/.installed: tests/peers/stac-requirements.txt | test-deps
	rm -rf $(STAC_VENV)
	python3 -m venv $(STAC_VENV)
	$(STAC_VENV)/bin/pip install -q -r tests/peers/stac-requirements.txt
	touch $@

stac-env: $(STAC_VENV)/.installed

# The QGIS Processing provider as a plugin zip (install it in QGIS: Plugins > Manage and
# Install Plugins > Install from ZIP).
QGIS_ZIP := target/lode_provider.zip
$(QGIS_ZIP): $(wildcard qgis/lode_provider/*)
	mkdir -p target
	rm -f $@
	cd qgis && python3 -c "import sys, zipfile, pathlib; z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED); [z.write(p) for p in sorted(pathlib.Path('lode_provider').rglob('*')) if '__pycache__' not in p.parts]" ../$@

qgis-plugin: $(QGIS_ZIP)

# The /vsis3/ test's S3-compatible server (moto, on loopback, started and stopped by the
# test): a venv from PyPI with pinned versions (tests/s3-requirements.txt).
S3_VENV := .venv-s3
$(S3_VENV)/.installed: tests/s3-requirements.txt | test-deps
	rm -rf $(S3_VENV)
	python3 -m venv $(S3_VENV)
	$(S3_VENV)/bin/pip install -q -r tests/s3-requirements.txt
	touch $@

s3-env: $(S3_VENV)/.installed

# Formatting (rustfmt.toml), clippy and rustdoc with warnings as errors (a broken doc
# link is one), and the declared rust-version against every dependency's: `make test`
# fails on any of them, so CI does too.
lint: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --locked --quiet
	python3 .ci/msrv.py

test: test-deps notebook-env test-env stac-env s3-env lint $(QGIS_ZIP)
	$(CARGO) test --release --locked

bench: build
	./benches/run.sh

clean:
	$(CARGO) clean
	rm -rf out
