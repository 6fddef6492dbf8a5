# FieldScreen developer commands. `make run` and `make test` work from a fresh clone with only
# Python 3.11+ and make: they create .venv and install the locked versions first.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
ARGS ?=
ONLY ?=

.PHONY: help venv run test test-fast reliability lint format bench screenshots translations \
        dist smoke lock server clean audit journey

help:
	@echo "make run          set up .venv if needed and start the app (ARGS='--lang es' ...)"
	@echo "make test         set up .venv if needed and run the whole test suite"
	@echo "make test-fast    the suite without GUI tests"
	@echo "make journey      the keyboard-only journey in a real window (Xvfb, xdotool; both languages)"
	@echo "make reliability  crash, fault and tamper runs with their full counts"
	@echo "make lint         ruff check, ruff format --check, mypy"
	@echo "make bench        every benchmark (ONLY=P4 for one, QUICK=1 small sizes); results in benchmarks/results/"
	@echo "make screenshots  the main screens into docs/screenshots/ (English and Spanish); those of the journey from its real-display run"
	@echo "make translations rescan UI strings into resources/translations and compile them"
	@echo "make server       run the central server on an embedded SQLite file"
	@echo "make dist         build the frozen app into dist/ (see build/)"
	@echo "make lock         refresh constraints.txt from pyproject.toml"
	@echo "make audit        check the installed locked dependencies for known vulnerabilities"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[server,dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/fieldscreen $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not gui" $(PYTEST_ARGS)

# The real-display journey: its own X server (xvfb-run), the app on Qt's xcb platform, keys
# through xdotool. `make test` skips it when there is no display.
journey: $(STAMP)
	xvfb-run -a -s "-screen 0 1280x800x24" $(BIN)/python -m pytest -m journey tests/journey $(PYTEST_ARGS)

reliability: $(STAMP)
	FIELDSCREEN_FULL=1 $(BIN)/python -m pytest -m reliability $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(if $(ONLY),--only $(ONLY)) $(if $(QUICK),--quick)

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tools.screenshots docs/screenshots
	FIELDSCREEN_JOURNEY_SHOTS=$(CURDIR)/docs/screenshots xvfb-run -a -s "-screen 0 1280x800x24" \
		$(BIN)/python -m pytest -p no:cacheprovider -q -m journey tests/journey

translations: $(STAMP)
	$(BIN)/python tools/i18n.py update
	$(BIN)/python tools/i18n.py check

server: $(STAMP)
	$(BIN)/fieldscreen-server serve $(ARGS)

dist: $(STAMP)
	$(BIN)/python build/build.py

smoke: $(STAMP)
	$(BIN)/python build/smoke_test.py

lock: $(STAMP)
	$(BIN)/pip-compile --quiet --strip-extras --all-extras --no-emit-index-url --no-emit-find-links \
		--output-file constraints.txt pyproject.toml

# Fails on a known vulnerability; only warns when the advisory service cannot be reached
# (STRICT=1 fails then too, for release builds). See tools/audit.py.
audit: $(STAMP)
	$(BIN)/python tools/audit.py $(if $(STRICT),--strict-network)

clean:
	rm -rf dist .mypy_cache .ruff_cache .pytest_cache
