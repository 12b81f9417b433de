# Two commands, each setting itself up on a fresh machine (Python 3.11, pip, make).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test test-fast docs bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,bench,brax]'
	touch $(BENCH_STAMP)

demo: $(STAMP)  ## meta-train MAML-TRPO on Navigation2D, then meta-test; writes runs/<name>/
	$(PY) -m metajax train

test: $(BENCH_STAMP)  ## the whole suite: slow learning tests, PyTorch baselines, brax locomotion
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=25  # two workers, a file on one, longest first

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

docs: $(STAMP)  ## the documentation site (API reference from the docstrings) into site/
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

bench: $(BENCH_STAMP)  ## speed suite (metajax vs PyTorch side by side), then RESULTS.md
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/maml_vs_torch.py --task-groups 20
	$(PY) benchmarks/profile_step.py
	$(PY) benchmarks/profile_step.py --task-groups 20 --out benchmarks/results/profile_step_groups20.json
	$(PY) benchmarks/env_throughput.py
	$(PY) benchmarks/agents_vs_torch.py --compile
	$(PY) benchmarks/report.py

clean:
	rm -rf $(VENV) runs site .pytest_cache
