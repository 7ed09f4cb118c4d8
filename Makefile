# Two entry points that do all set-up on a fresh Debian/Ubuntu machine:
#   make run    trains the default chip (chip_configs/default.yaml) and writes runs/default/
#   make test   runs the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.cosim-installed
# Deliberate threading on small machines: one BLAS thread per process unless the user says otherwise.
export OPENBLAS_NUM_THREADS ?= 1
export NUMBA_THREADING_LAYER ?= workqueue

.PHONY: run test setup system-packages bench clean

run: setup
	$(BIN)/cosim run chip_configs/default.yaml --out runs/default --force

test: setup
	@scripts/install-hwcomponents.sh .venv-hwc
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/solver.py

setup: system-packages $(STAMP)

system-packages:
	@scripts/install-system-packages.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,spice]'
	# badcrossbar (an outside crossbar solver the IR-drop tests compare with): its solver only; its plotting
	# half needs pycairo and the cairo system library, which cosim does not use
	$(BIN)/python -m pip install -q --no-deps 'badcrossbar>=1.1'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .venv-hwc build *.egg-info
