# Two targets do all the set-up: `make demo` (the main job) and `make test` (the test suite).
# Each creates or reuses the virtual environment in .venv by itself.

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
EXTRAS   ?= dev,serve,ui,sweep,sweep-pg,ko,export,track,notebooks
# torch is installed on its own first, pinned, so pip takes the local CPU wheel where there is one;
# an unpinned torch pulls a multi-GB CUDA build.
TORCH    ?= torch==2.13.0
DEMO_RUN ?= runs/shakespeare-char

.PHONY: demo test test-notebooks install browser services clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	@touch $(STAMP)

# The end-to-end browser test drives Debian's chromium (never a downloaded browser build);
# fonts-nanum lets it draw Hangul. Installed where apt-get can run as root, else that test skips.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium and fonts-nanum for the browser test"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null; \
	fi

# The PostgreSQL sweep test starts its own server from Debian's postgresql package (initdb, pg_ctl)
# in a temporary folder. Installed where apt-get can run as root, else that test skips.
services:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's postgresql for the shared-sweep test"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

# Trains shakespeare-char (5 minutes on 2 cores, in bf16) and prints what it writes; run again, it
# shows the trained run's samples without training anew.
demo: $(STAMP)
	@if [ -f $(DEMO_RUN)/config.toml ]; then \
		$(BIN)/seqlab train --resume $(DEMO_RUN); \
	else \
		$(BIN)/seqlab train shakespeare-char --run-dir $(DEMO_RUN); \
	fi

# Lint, format and type checks first (seconds), then the suite.
test: $(STAMP) browser services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Every benchmark, one after another, regenerating the tables in benchmarks/ with the machine's description
# (hours; `python -m benchmarks --list` lists them). NAMES="core memory" runs some; ARGS="--quick" checks that they
# run at tiny budgets and leaves the recorded tables alone.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS) $(NAMES)

# Keras side by side (benchmarks/keras.md, about 12 minutes): TensorFlow and Keras go into their own
# environment, .venv-bench (the opt-in `bench` extra), never into .venv. ARGS="--smoke" for a quick check.
BENCH_VENV ?= .venv-bench
.PHONY: bench-keras
bench-keras:
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import torch" 2>/dev/null || $(BENCH_VENV)/bin/python -m pip install -q "$(TORCH)"
	@$(BENCH_VENV)/bin/python -c "import keras, seqlab" 2>/dev/null || $(BENCH_VENV)/bin/python -m pip install -q -e ".[bench]"
	$(BENCH_VENV)/bin/python benchmarks/bench_vs_keras.py $(ARGS)

# The twelve Korean course notebooks in notebooks/, executed cell by cell in a real Jupyter kernel (about 8 minutes
# on 2 cores); CI runs it after `make test`.
.PHONY: test-notebooks
test-notebooks: $(STAMP) browser
	$(BIN)/python -m pytest -m notebooks tests/notebooks

clean:
	rm -rf $(VENV) .pytest_cache
