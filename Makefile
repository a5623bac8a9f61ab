# virtcloud.core — every target does its own setup on a fresh Debian-family host (as root).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup demo test unit integration sanity lint bench stop status clean

## setup: install packages, create .venv, start the daemons (idempotent)
setup:
	bash scripts/host.sh all

## demo: the demo playbook on localhost (second run: changed=0)
demo: setup
	$(VENV)/bin/ansible-playbook playbooks/demo.yml

## test: demo + the whole test suite (unit, integration against real daemons, sanity, lint)
test: demo
	$(PY) -m pytest tests

unit: setup
	$(PY) -m pytest tests/unit

integration: setup
	$(PY) -m pytest tests/integration

sanity: setup
	$(PY) -m pytest tests/sanity

## bench: side-by-side benchmarks (long; not part of make test)
bench: setup
	VIRTCLOUD_BENCH=1 $(PY) -m pytest tests/bench -s -p no:cacheprovider

## stop: stop exactly the daemons `setup` started (by pidfile)
stop:
	bash scripts/host.sh down

status:
	bash scripts/host.sh status

clean:
	rm -rf build .collections tests/output .pytest_cache
