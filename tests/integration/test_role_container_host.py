"""The container_host role's scenario (extensions/molecule/container_host, run here without molecule, in
the order its molecule.yml gives): converge -> idempotence (a rerun reports changed=0, and the restart
handler of the Docker engine runs only on the run that changed daemon.json) -> verify (its own verify.yml:
a network created without a subnet lands in the role's address pool) -> cleanup; then the same facts
independently: the docker CLI, `lxc`, and the files.

The config files go to a private directory (the daemons here were started by scripts/host.sh and must
never be restarted by a test); the package list is stubbed to [] (a package check costs ~11 s here,
everything is installed). The LXD preseed is the real one and equals what host.sh preseeds, so the
converge changes nothing in LXD."""

from __future__ import annotations

import ipaddress
import json
import os

import pytest

from conftest import ROOT, playbook, sh  # noqa: E402
from lib.appdeploy import recap

SCENARIO = os.path.join(ROOT, "extensions", "molecule", "container_host")
HANDLER = "RUNNING HANDLER [virtcloud.core.container_host : Report that dockerd must be restarted"
POOL = ipaddress.ip_network("198.18.64.0/18")


@pytest.fixture
def host(docker_daemon, lxd_daemon, unique, tmp_path):
    scratch = tmp_path / "host"
    probe = unique + "-pool"
    yield {"scratch": scratch, "probe": probe,
           "vars": {"container_host_scratch": str(scratch), "container_host_packages": [],
                    "container_host_verify_network": probe}}
    sh("docker", "network", "rm", probe, check=False)
    sh("docker", "network", "rm", unique + "-cli", check=False)


def scenario(step, host):
    return playbook(os.path.join(SCENARIO, step + ".yml"), **host["vars"])


def test_container_host_scenario(host, unique):
    lxd_before = {kind: sh("lxc", kind, "show", name).stdout
                  for kind, name in (("network", "lxdbr0"), ("storage", "default"), ("profile", "default"))}

    first = scenario("converge", host)
    # the scratch directory, daemon.json and the two LXC files; nothing in LXD
    assert recap(first.stdout)["changed"] == 4, first.stdout[-3000:]
    assert first.stdout.count(HANDLER) == 1

    again = scenario("converge", host)
    assert recap(again.stdout)["changed"] == 0, again.stdout[-3000:]
    assert HANDLER not in again.stdout  # the handler only runs when the file changed

    scenario("verify", host)

    # independently: the files ...
    scratch = host["scratch"]
    config = json.loads((scratch / "daemon.json").read_text())
    assert config == {"bip": "198.18.0.1/24", "default-address-pools": [{"base": "198.18.64.0/18", "size": 24}]}
    assert "lxc.net.0.link = lxcbr0" in (scratch / "lxc-default.conf").read_text().splitlines()
    lxc_net = (scratch / "lxc-net").read_text().splitlines()
    assert 'LXC_ADDR="198.18.11.1"' in lxc_net and 'LXC_NETWORK="198.18.11.0/24"' in lxc_net
    # ... the engine's pool, asked with the docker CLI: a network without --subnet lands in it
    sh("docker", "network", "create", unique + "-cli")
    inspect = json.loads(sh("docker", "network", "inspect", unique + "-cli").stdout)[0]
    subnet = ipaddress.ip_network(inspect["IPAM"]["Config"][0]["Subnet"])
    assert subnet.subnet_of(POOL) and subnet.prefixlen == 24, subnet
    sh("docker", "network", "rm", unique + "-cli")
    # ... and LXD: untouched (this host was preseeded the same way) and as the role describes it
    assert {kind: sh("lxc", kind, "show", name).stdout for kind, name in (
        ("network", "lxdbr0"), ("storage", "default"), ("profile", "default"))} == lxd_before
    bridge = json.loads(sh("lxc", "query", "/1.0/networks/lxdbr0").stdout)
    assert bridge["config"]["ipv4.address"] == "198.18.10.1/24" and bridge["config"]["ipv4.nat"] == "true"

    scenario("cleanup", host)
    assert not scratch.exists()
    assert sh("docker", "network", "inspect", host["probe"], check=False).returncode != 0
