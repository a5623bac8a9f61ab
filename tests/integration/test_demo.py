"""The README's promise: the demo converges, a rerun changes nothing, the page says "It works!"."""

from __future__ import annotations

import os
import re
import urllib.request

from conftest import ROOT, playbook  # noqa: E402

DEMO = os.path.join(ROOT, "playbooks", "demo.yml")


def recap(proc):
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert match, proc.stdout[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


def test_demo_converges_and_a_rerun_changes_nothing(docker_daemon):
    playbook(DEMO)  # converge (make test already ran it once: then this is a rerun too)
    again = recap(playbook(DEMO))
    assert again["changed"] == 0 and again["failed"] == 0 and again["ok"] >= 5
    page = urllib.request.urlopen("http://127.0.0.1:8088/", timeout=10).read().decode()
    assert "It works!" in page


def test_demo_check_mode_predicts_no_change(docker_daemon):
    playbook(DEMO)
    checked = recap(playbook(DEMO, extra_args=["--check", "--diff"]))
    assert checked["changed"] == 0 and checked["failed"] == 0
