# pi-k8s: `make demo` runs the main job on a local testbed; `make test` runs every test.
# Both set up what they need (apt packages as root, the venv) on a fresh Debian 12 machine.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PI_K8S_STATE_DIR ?= $(CURDIR)/.state
# The venv's tools (ansible-playbook, ansible-inventory, molecule) for every recipe.
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Each step of `make test` is a named phase that prints its duration (scripts/phase.sh).
PHASE := bash scripts/phase.sh
# JUnit files of the last unit and integration runs (.ci/run names the failed tests from them).
RESULTS ?= $(PI_K8S_STATE_DIR)/test-results

.PHONY: deps deps-vm venv image demo demo-down test lint unit integration vm clean test-vm test-vm-ci \
  test-vm-arm64

deps:
	$(PHASE) apt bash scripts/setup-host.sh

# QEMU and chrony too, for the test VMs (integration's one VM, test-vm, test-vm-arm64).
deps-vm:
	$(PHASE) apt-vm bash scripts/setup-host.sh --vm

$(BIN)/.installed: pyproject.toml
	$(PHASE) venv sh -c '$(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q --upgrade pip \
	  && $(BIN)/pip install -q -e ".[dev]"'
	touch $@

# .collections/: the link to this tree as the collection pik8s.cluster (ansible.cfg).
venv: $(BIN)/.installed
	$(BIN)/python -c 'from pathlib import Path; from pi_k8s import paths; paths.link_collection(Path(".collections"))'

demo: deps venv
	bash scripts/demo.sh

demo-down: venv
	$(BIN)/pi-k8s testbed down --name demo

# The testbed's base image (debootstrap, cached by a hash of its inputs).
image: deps venv
	$(PHASE) image $(BIN)/python -c "from pi_k8s import testbed; print(testbed.ensure_image())"

lint: venv
	$(PHASE) lint sh -c '$(BIN)/ruff check pi_k8s tests benchmarks \
	  && $(BIN)/ruff format --check pi_k8s tests benchmarks \
	  && $(BIN)/yamllint -s . && $(BIN)/ansible-lint -q \
	  && $(BIN)/check-jsonschema -q --builtin-schema vendor.github-workflows .github/workflows/*.yml'

# The bad-input corpus's host-free cases run here; its host cases in integration. On every
# core (pytest-xdist): the unit tests share no host, port or directory.
unit: venv
	$(PHASE) unit $(BIN)/pytest -q -n auto tests/unit tests/badinput/test_host_free.py \
	  --junitxml=$(RESULTS)/unit.xml

# Everything else but the VMs: testbed, molecule, packaging, demo. Two modules at a time
# (pytest-xdist, a module stays on one worker: its fixtures are module-scoped): each has its
# own testbed name and /24, and much of a module's time is spent waiting on its hosts. In
# the order tests/conftest.py gives (slowest first), not xdist's (most tests first).
integration: deps venv image
	$(PHASE) integration $(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder tests \
	  --ignore=tests/unit \
	  --ignore=tests/badinput/test_host_free.py --ignore=tests/vm \
	  --junitxml=$(RESULTS)/integration.xml

# One x86_64 VM with its own kernel (tests/vm/test_vm_ci.py, marker vm_ci), started as
# Raspberry Pi OS starts: pi_prereq + bootstrap + verify with swap, NTP and the cgroup
# flags as on a Pi, one real reboot, then a second run, and a third after timesyncd was
# stopped. Its image is cached in $(PI_K8S_STATE_DIR)/images, so only a fresh clone
# builds it.
vm: deps venv image deps-vm
	$(PHASE) vm env PI_K8S_IMAGE_DIR=$(PI_K8S_STATE_DIR)/images $(BIN)/pytest -q -m vm_ci \
	  -p no:cacheprovider tests/vm/test_vm_ci.py --junitxml=$(RESULTS)/vm.xml

test: deps venv image lint unit integration vm

# The VM phase alone (make test runs it last).
test-vm-ci: vm

# Test VMs (README "## Test VMs"): pi_prereq + bootstrap + verify on 2 x86_64 QEMU VMs
# with their own kernel. Not part of `make test`. Images are cached in .state/images
# across runs.
test-vm: venv deps-vm
	PI_K8S_IMAGE_DIR=$(CURDIR)/.state/images $(BIN)/pytest -m vm -p no:cacheprovider \
	  tests/vm/test_vm_bootstrap.py

# One arm64 VM (qemu-system-aarch64 -M virt): the role installs the k3s-arm64 asset.
test-vm-arm64: venv deps-vm
	PI_K8S_IMAGE_DIR=$(CURDIR)/.state/images $(BIN)/pytest -m vm -p no:cacheprovider \
	  tests/vm/test_vm_arm64.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist build
