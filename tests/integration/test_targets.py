"""Runs every YAML integration target under tests/integration/targets through ansible-playbook."""

from __future__ import annotations

import os
import re

import pytest

from conftest import ROOT, playbook  # noqa: E402

TARGETS_DIR = os.path.join(ROOT, "tests", "integration", "targets")
TARGETS = sorted(t for t in os.listdir(TARGETS_DIR)
                 if os.path.isfile(os.path.join(TARGETS_DIR, t, "tasks", "main.yml")))
# A target whose aliases file names a daemon needs that daemon's fixture.
DAEMONS = ("docker", "libvirt", "lxd", "ovs")


def _daemons(target):
    aliases = os.path.join(TARGETS_DIR, target, "aliases")
    words = open(aliases).read().split() if os.path.exists(aliases) else []
    return [d for d in DAEMONS if d in words]


@pytest.mark.parametrize("target", TARGETS)
def test_target(target, request):
    for daemon in _daemons(target):
        request.getfixturevalue(daemon + "_daemon")
    proc = playbook(os.path.join(ROOT, "tests", "integration", "run_target.yml"), target=target)
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=\d+\s+unreachable=0\s+failed=0", proc.stdout)
    assert recap and int(recap.group(1)) > 0, proc.stdout[-3000:]
