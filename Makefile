# Ratchet: `make run` opens the app, `make test` runs every check. Each sets up what it needs on
# first use (a .venv from requirements/lock.txt plus the project in editable mode, and on
# Debian/Ubuntu the system libraries Qt needs) and redoes that only when the inputs change.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; older than lock.txt or pyproject.toml means reinstall.
STAMP := $(VENV)/.ratchet-installed

# Debian/Ubuntu libraries that PySide6's bundled Qt loads for the offscreen and xcb platforms
# (found from the NEEDED entries of QtCore/Gui/Widgets/DBus/XcbQpa and the platform plugins).
# Ubuntu 24.04 and Debian 13 renamed some with a "t64" suffix; either name counts as installed.
QT_DEBS := libegl1 libgl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 \
	libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
	libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 \
	libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon0 libxkbcommon-x11-0 \
	libgssapi-krb5-2 libbrotli1
# What WeasyPrint loads to make PDF reports (engine/formats/report_pdf.py): Pango and HarfBuzz
# to lay out text, HarfBuzz's subsetter to embed only the glyphs used (WeasyPrint warns without
# it), and one font family, so that a machine with no fonts still writes readable PDFs.
PDF_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core
SYSTEM_DEBS := $(QT_DEBS) $(PDF_DEBS)

APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

.PHONY: run test lint bench clean setup qt-deps installer build-tools

run: setup
	$(BIN)/ratchet

# The real-tray test first, so that the whole suite's summary is the last line printed.
# tests/installer builds the package (or reuses it), so the build tools must be there too.
test: setup build-tools lint
	@BIN=$(BIN) bash tests/gui/run_under_xvfb.sh
	@$(BIN)/pytest tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure." >&2; fi; \
	exit $$rc

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The app frozen with PyInstaller (dist/ratchet/) and its Debian package
# (dist/ratchet_VERSION_amd64.deb); each step is skipped while its inputs are unchanged.
installer: setup build-tools
	$(BIN)/python installer/build.py

# Runs every bench/*.py except helpers named _*.py; each prints its own ratios.
bench: setup
	@shopt -s nullglob; files=(bench/[!_]*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "make bench: no benchmarks in bench/ yet."; exit 0; fi; \
	rc=0; for f in "$${files[@]}"; do echo "== $$f"; $(BIN)/python "$$f" || rc=1; done; exit $$rc

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis .import_linter_cache .bench-data
	rm -f engine/model/_tree_aot.* engine/explain/_shap_aot.* engine/backtest/_resample_aot.* \
		engine/batch/_records_aot.*
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Then the tree, explanation, bootstrap and quoted-CSV kernels compiled ahead of time
# (installer/kernels.py; a minute or two, once, and again only when their sources change), so
# that no prediction, explanation or back-test waits for numba to compile or start.
setup: qt-deps $(STAMP)
	@$(BIN)/python installer/kernels.py

$(STAMP): requirements/lock.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements/lock.txt
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps -e .
	@touch $@

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { \
	  echo "error: $(PYTHON) not found. Ratchet needs Python 3.11 or newer (Debian/Ubuntu:" \
	       "apt-get install python3 python3-venv), or run make PYTHON=/path/to/python3.11." >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: Ratchet needs Python 3.11 or newer, but $(PYTHON) is" \
	       "$$($(PYTHON) -V 2>&1). Run make PYTHON=/path/to/python3.11 (or newer)." >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	    $(APT_INSTALL) python3-venv || { apt-get update -q && $(APT_INSTALL) python3-venv; }; \
	  else \
	    echo "error: $(PYTHON) cannot create virtual environments." \
	         "On Debian/Ubuntu: sudo apt-get install python3-venv" >&2; exit 1; \
	  fi; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# The packaging needs binutils (readelf, strip) and dpkg-deb; as root on Debian/Ubuntu,
# installs what is missing, else says what to install. Does nothing where there is no dpkg.
build-tools:
	@command -v dpkg-deb >/dev/null || exit 0; \
	command -v readelf >/dev/null && command -v strip >/dev/null && exit 0; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	  $(APT_INSTALL) binutils || { apt-get update -q && $(APT_INSTALL) binutils; }; \
	else \
	  echo "warning: building the installer needs binutils: sudo apt-get install binutils" >&2; \
	fi

# One dpkg-query call, so repeat runs stay fast. Installs only what is missing, and only as
# root; otherwise prints the command to run. Does nothing where there is no dpkg.
qt-deps:
	@command -v dpkg-query >/dev/null || exit 0; \
	have=$$(dpkg-query -W -f='$${Package} $${db:Status-Abbrev}\n' \
	        $(SYSTEM_DEBS) $(addsuffix t64,$(SYSTEM_DEBS)) 2>/dev/null \
	        | awk '$$2 == "ii" { sub(/t64$$/, "", $$1); print $$1 }'); \
	missing=""; for p in $(SYSTEM_DEBS); do \
	  grep -qxF "$$p" <<<"$$have" || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing the Debian libraries Qt and PDF reports need:$$missing"; \
	  $(APT_INSTALL) $$missing || { apt-get update -q && $(APT_INSTALL) $$missing; }; \
	else \
	  echo "warning: Qt (the desktop app and its tests) and PDF reports need these Debian/Ubuntu packages:" >&2; \
	  echo "    sudo apt-get install$$missing" >&2; \
	fi
