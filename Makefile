# Two commands do all set-up on a fresh machine (Python 3.11+ and make):
#   make demo   simulate Buleleng, validate, train, score: the main job on embedded defaults
#   make test   the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint chromium clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/klinik demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The staff page's browser tests drive a real Chromium: Debian's package where we are root on Debian (as in CI),
# else the build Playwright downloads. Never skipped: without a browser `make test` stops here, saying why.
chromium: $(STAMP)
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "installing Playwright's Chromium for the browser tests"; \
		$(BIN)/python -m playwright install chromium; \
	fi

test: lint chromium
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) work
