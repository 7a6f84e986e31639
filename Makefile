# Everything the bot and its tests need is installed here, into .venv, so a
# fresh clone needs nothing but python3 (>= 3.11) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench docs
	$(BIN)/ruff format --check bot tests bench docs
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.ack_latency --rounds 30
	$(BIN)/python -m bench.ack_under_poll
	$(BIN)/python -m bench.reply_latency
	$(BIN)/python -m bench.poll_cost
	$(BIN)/python -m bench.page_saves
	$(BIN)/python -m bench.poll_steady
	$(BIN)/python -m bench.poll_replicas
	$(BIN)/python -m bench.workspaces
	$(BIN)/python -m bench.client_cost
	$(BIN)/python -m bench.poll_scale
	$(BIN)/python -m bench.button_latency
	$(BIN)/python -m bench.report_render
	$(BIN)/python -m bench.report_ack

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
