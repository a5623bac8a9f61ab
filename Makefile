# virtcloud.core — every target does its own setup on a fresh Debian-family host (as root).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# The oldest ansible-core meta/runtime.yml claims (requires_ansible: ">=2.17.0" -> 2.17), and its venv
OLDEST := $(shell bash scripts/host.sh oldest-core)
OLDEST_VENV ?= .venv-$(OLDEST)

.PHONY: setup demo test test-oldest unit integration sanity lint docs bench netbed netbed-down netbed-status stop status clean

## setup: install packages, create .venv, start the daemons (idempotent)
setup:
	bash scripts/host.sh all

## demo: the demo playbook on localhost (second run: changed=0)
demo: setup
	$(VENV)/bin/ansible-playbook playbooks/demo.yml

## test: demo + the whole test suite (unit, integration against real daemons, sanity, lint),
## then the unit tests and a smoke on the oldest ansible-core that meta/runtime.yml claims
test: demo
	$(PY) -m pytest tests --durations=30
	$(MAKE) --no-print-directory test-oldest

## test-oldest: unit tests + tests/integration/test_version_smoke.py on ansible-core $(OLDEST)
test-oldest: setup
	VIRTCLOUD_OLDEST_VENV=$(CURDIR)/$(OLDEST_VENV) bash scripts/host.sh venv-oldest
	PATH=$(CURDIR)/$(OLDEST_VENV)/bin:$$PATH $(OLDEST_VENV)/bin/python -m pytest -p no:cacheprovider \
	  tests/unit tests/integration/test_version_smoke.py

unit: setup
	$(PY) -m pytest tests/unit

integration: setup
	$(PY) -m pytest tests/integration

sanity: setup
	$(PY) -m pytest tests/sanity

## docs: HTML reference of every module, plugin and role (antsibull-docs + Sphinx, offline) in build/docs/html
docs: setup
	bash scripts/docs.sh build/docs

## bench: side-by-side benchmarks (long; not part of make test); writes docs/benchmarks.md and
## docs/benchmarks.png from the results each bench records (tests/output/bench-results), even when one failed
BENCH_RESULTS ?= $(CURDIR)/tests/output/bench-results
bench: setup
	rm -rf $(BENCH_RESULTS)
	status=0; VIRTCLOUD_BENCH_RESULTS=$(BENCH_RESULTS) $(PY) -m pytest tests/bench -s -p no:cacheprovider || status=$$?; \
	  PYTHONPATH=tests $(PY) -m lib.bench report --results $(BENCH_RESULTS) --out docs && exit $$status

## netbed: three "hosts" h1..h3 over SSH (network namespaces, tests/lib/netbed.py); prints the inventory path
NETBED_STATE ?= $(CURDIR)/tests/output/netbed
netbed: setup
	PYTHONPATH=tests $(PY) -m lib.netbed up --state $(NETBED_STATE)

## netbed-down: remove exactly what `make netbed` made (recorded in its state dir)
netbed-down:
	PYTHONPATH=tests $(PY) -m lib.netbed down --state $(NETBED_STATE)

netbed-status:
	PYTHONPATH=tests $(PY) -m lib.netbed status --state $(NETBED_STATE)

## stop: stop exactly the daemons `setup` started (by pidfile)
stop:
	bash scripts/host.sh down

status:
	bash scripts/host.sh status

clean:
	rm -rf build .collections tests/output .pytest_cache
