"""The app_deploy role's scenario (extensions/molecule/app_deploy, run here without molecule, in the
order its molecule.yml gives): converge -> idempotence (a rerun reports changed=0) -> verify (its own
verify.yml, and each replica fetched independently on 127.0.0.1 and seen in the docker CLI); then a content
change converged while a bounded loop of requests watches the replicas.

The roll's guarantee, as asserted: the loop requests replica 1..N in turn, over and over (a "round");
in EVERY round at least one replica answers 200 with the old or the new page, no 200 ever carries any
other page, and some round sees old and new side by side (the replicas were rolled one at a time, not
all at once). The loop covers the whole converge run (it starts before and is stopped only by its end,
never by its caps), and after the roll every replica serves the new page."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from conftest import ROOT, playbook, sh  # noqa: E402
from lib.appdeploy import free_base_port, get, recap, remove_app

SCENARIO = os.path.join(ROOT, "extensions", "molecule", "app_deploy")
REPLICAS = 2
OLD = "<html><body><h1>app v1 %s</h1></body></html>"
NEW = "<html><body><h1>app v2 %s</h1></body></html>"
MAX_REQUESTS = 800   # bounds of the watching loop (a roll on a loaded host takes a while)
MAX_SECONDS = 90
ROUND_PAUSE = 0.2


@pytest.fixture
def app(docker_daemon, unique, tmp_path):
    name = unique + "-app"
    base = free_base_port(REPLICAS)
    yield {"name": name, "base": base, "ports": [base + i for i in range(1, REPLICAS + 1)],
           "vars": {"app_deploy_name": name, "app_deploy_replicas": REPLICAS, "app_deploy_base_port": base,
                    "app_deploy_build_dir": str(tmp_path), "app_deploy_health_retries": 15,
                    "app_deploy_stop_timeout": 2}}
    remove_app(name)


def scenario(step, app, **extra):
    return playbook(os.path.join(SCENARIO, step + ".yml"), **dict(app["vars"], **extra))


class Watcher(threading.Thread):
    """Requests the replicas round-robin until stopped or a cap is hit; `rounds` is a list of
    [(status, body), ...] per round, in replica order."""

    def __init__(self, ports):
        super().__init__(daemon=True)
        self.ports, self.rounds, self.requests = ports, [], 0
        self.stop_event = threading.Event()
        self.capped = False

    def run(self):
        deadline = time.monotonic() + MAX_SECONDS
        while not self.stop_event.is_set():
            if self.requests + len(self.ports) > MAX_REQUESTS or time.monotonic() > deadline:
                self.capped = True
                return
            self.rounds.append([get(port, timeout=0.5) for port in self.ports])
            self.requests += len(self.ports)
            self.stop_event.wait(ROUND_PAUSE)


def kind(answer, old, new):
    status, body = answer
    if status != 200:
        return "down"
    return {old: "old", new: "new"}.get(body.strip(), "other")


def test_app_deploy_scenario_and_rolling_update(app):
    old, new = OLD % app["name"], NEW % app["name"]

    # converge
    first = scenario("converge", app, app_deploy_content=old)
    assert recap(first.stdout)["changed"] > 0

    # idempotence
    assert recap(scenario("converge", app, app_deploy_content=old).stdout)["changed"] == 0

    # verify: the scenario's own checks, then independently
    scenario("verify", app, app_deploy_content=old)
    for i, port in enumerate(app["ports"], 1):
        assert get(port) == (200, old + "\n"), port
        inspect = json.loads(sh("docker", "inspect", "%s-%d" % (app["name"], i)).stdout)[0]
        assert inspect["State"]["Running"]
        assert inspect["HostConfig"]["PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    ids_before = sh("docker", "ps", "-q", "--no-trunc", "--filter", "label=io.virtcloud.app=" + app["name"]).stdout.split()
    assert len(ids_before) == REPLICAS

    # the roll, under a loop of requests
    watcher = Watcher(app["ports"])
    watcher.start()
    try:
        rolled = scenario("converge", app, app_deploy_content=new)
    finally:
        watcher.stop_event.set()
        watcher.join(timeout=10)
    assert recap(rolled.stdout)["changed"] > 0

    kinds = [[kind(a, old, new) for a in rnd] for rnd in watcher.rounds]
    assert not watcher.capped, "the watching loop hit its cap before the roll ended: %d rounds" % len(kinds)
    assert len(kinds) >= 10, kinds
    assert kinds[0] == ["old"] * REPLICAS, kinds[:3]
    dark = [(n, rnd) for n, rnd in enumerate(kinds) if not set(rnd) & {"old", "new"}]
    assert not dark, "rounds in which no replica served the old or the new page: %s" % dark[:5]
    assert not any("other" in rnd for rnd in kinds), kinds
    assert any(set(rnd) >= {"old", "new"} for rnd in kinds), "never old and new side by side: %s" % kinds

    # after the roll: every replica serves the new page from a new container
    for port in app["ports"]:
        assert get(port) == (200, new + "\n"), port
    ids_after = sh("docker", "ps", "-q", "--no-trunc", "--filter", "label=io.virtcloud.app=" + app["name"]).stdout.split()
    assert len(ids_after) == REPLICAS and not set(ids_after) & set(ids_before)

    # cleanup step of the scenario: nothing of the application is left
    scenario("cleanup", app)
    assert sh("docker", "ps", "-aq", "--filter", "label=io.virtcloud.app=" + app["name"]).stdout.split() == []
    assert all(get(port)[0] is None for port in app["ports"])
