# `make run` and `make test` set up everything they need on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint typecheck install clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/pestle db upgrade
	$(BIN)/pestle demo
	exec $(BIN)/pestle serve

lint: $(INSTALLED)
	$(BIN)/ruff format --check pestle tests bench migrations
	$(BIN)/ruff check pestle tests bench migrations

typecheck: $(INSTALLED)
	$(BIN)/mypy --strict pestle

test: lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
