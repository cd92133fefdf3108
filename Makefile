# Two commands matter: `make run` and `make test`. Both create the environment when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-lock
RUN_ROOT ?= runs

# TensorFlow and google-api-core are noisy on every import; keep CI logs readable.
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONWARNINGS ?= ignore:You are using a Python version:FutureWarning

.PHONY: run test env lock bench bench-data bench-model bench-pipeline check

run: $(STAMP)
	$(VENV)/bin/conveyor run conveyor/examples/penguin_pipeline.py --root $(RUN_ROOT)

test: $(STAMP)
	$(VPY) -m pytest $(PYTEST_ARGS)

env: $(STAMP)

# uv comes from PATH, or is installed into the venv with pip when absent. Bytecode is compiled
# at install time: this machine sets PYTHONDONTWRITEBYTECODE, so without it every process
# recompiles TensorFlow (12-14 s instead of ~4 s per import). uv does not compile the editable
# project itself, so compileall does (a source edited later is recompiled in memory, as usual).
$(STAMP): requirements.lock setup.py
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	command -v uv >/dev/null 2>&1 || test -x $(VENV)/bin/uv || $(VPY) -m pip install --quiet uv
	UV=$$(command -v uv || echo $(VENV)/bin/uv) && \
	  $$UV pip install --python $(VPY) --compile-bytecode -r requirements.lock && \
	  $$UV pip install --python $(VPY) --compile-bytecode --no-deps -e .
	$(VPY) -m compileall -q conveyor
	touch $(STAMP)

# Regenerate the lock with a resolver (never edit it by hand).
lock:
	$$(command -v uv || echo $(VENV)/bin/uv) pip compile setup.py --all-extras --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_36 -o requirements.lock

bench: $(STAMP)
	$(VPY) bench/overhead.py

# CsvExampleGen and StatisticsGen on 100k and 1M synthetic rows against the pyarrow floor
# (several minutes); BENCH_DATA_ARGS="--rows 100000 --repeats 1" for a quick look.
bench-data: $(STAMP)
	$(VPY) bench/data.py $(BENCH_DATA_ARGS)

# Transform on the synthetic rows and the penguin Trainer; BENCH_MODEL_ARGS to choose.
bench-model: $(STAMP)
	$(VPY) bench/model.py $(BENCH_MODEL_ARGS)

# The full penguin pipeline: 5 cold runs on fresh roots, each followed by a fully cached run.
bench-pipeline: $(STAMP)
	$(VPY) bench/pipeline.py $(BENCH_PIPELINE_ARGS)

# Static checks: mypy --strict and ruff (configured in pyproject.toml).
check: $(STAMP)
	$(VPY) -m mypy
	$(VPY) -m ruff check conveyor tests bench
