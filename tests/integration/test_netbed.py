"""The multi-host test bed itself (tests/lib/netbed.py): three namespaces reached by Ansible over real
SSH, isolated from each other but for the underlay, and taken down without a trace, also after a
partial up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lib import netbed as netbed_lib
from lib.netbed import BedError, NetBed
from conftest import sh

# every host runs the play over SSH to its own address, inside its own namespace
PROBE = """
- hosts: netbed
  gather_facts: false
  tasks:
    - ansible.builtin.ping:
    - ansible.builtin.command: printenv SSH_CONNECTION
      register: connection
      changed_when: false
    - ansible.builtin.command: ip -j -4 addr show dev eth0
      register: eth0
      changed_when: false
    - ansible.builtin.assert:
        that:
          - connection.stdout.split()[2] == underlay_ip
          - (eth0.stdout | from_json)[0].addr_info | map(attribute='local') | list == [underlay_ip]
"""


def links(bed=None, host=None):
    """Interface names, of this namespace or of a bed host's."""
    argv = ("ip", "-j", "link")
    proc = bed.run(host, *argv) if bed else sh(*argv)
    return [link["ifname"] for link in json.loads(proc.stdout)]


def namespaces():
    return sh("ip", "netns", "list").stdout.split()


def leftovers(name, pids):
    """What of a bed named `name` is still there: namespaces, links, sshd processes, its firewall rule."""
    found = [ns for ns in namespaces() if ns.startswith(name)]
    found += [link for link in links() if link.startswith(name)]
    found += ["pid %d" % pid for pid in pids if netbed_lib.alive(pid)]
    found += [rule for rule in sh("iptables", "-w", "-S", "FORWARD").stdout.splitlines() if name in rule]
    return found


def test_hosts_answer_over_ssh(netbed):
    proc = netbed.play(PROBE)
    assert sorted(proc.recap) == ["h1", "h2", "h3"], proc.stdout
    for host, counts in proc.recap.items():
        assert counts["ok"] == 4 and counts["failed"] == counts["unreachable"] == 0, (host, proc.stdout)


def test_each_host_sees_only_its_own_interfaces(netbed):
    for host in netbed.hosts:
        assert sorted(links(netbed, host)) == ["eth0", "lo"]
        addresses = json.loads(netbed.run(host, "ip", "-j", "-4", "addr", "show", "dev", "eth0").stdout)
        assert [a["local"] for a in addresses[0]["addr_info"]] == [host.address]
        assert host.netns in namespaces()
    ours = [link for link in links() if link.startswith(netbed.name)]
    assert sorted(ours) == sorted([netbed.bridge] + [host.link for host in netbed.hosts])
    ports = json.loads(sh("ip", "-j", "link", "show", "master", netbed.bridge).stdout)
    assert sorted(port["ifname"] for port in ports) == sorted(host.link for host in netbed.hosts)


def test_underlay_ping(netbed):
    assert netbed.ping("h1", netbed.address("h2"))
    assert netbed.ping("h1", netbed.address("h3"))
    assert netbed.ping("h3", netbed.gateway)
    unused = "198.18.%d.99" % netbed.subnet  # the check can fail: nothing answers there
    assert not netbed.ping("h1", unused, timeout=1)


def test_names_of_another_bed_are_refused(netbed, tmp_path):
    """A second bed whose names collide with a live one's refuses to start and touches none of them."""
    clash = NetBed(str(tmp_path), name=netbed.name)
    with pytest.raises(BedError, match="exists already"):
        with clash:
            pass
    assert all(item["present"] for item in netbed.status()["objects"])
    assert netbed.ping("h1", netbed.address("h2"))
    assert not os.path.exists(os.path.join(str(tmp_path), "state.json"))


def test_down_leaves_nothing(netbed, tmp_path):
    bed = NetBed(str(tmp_path / "bed"))
    with bed:
        assert bed.subnet != netbed.subnet  # two beds at once: each its own underlay
        bed.play("- hosts: netbed\n  gather_facts: false\n  tasks: [ansible.builtin.ping: {}]\n")  # sessions, masters
        pids = [netbed_lib.sshd_pid(host.pidfile) for host in bed.hosts]
        assert all(pids) and len(leftovers(bed.name, pids)) == 1 + 3 + 3 + 3 + 1  # netns, links, sshd, rule
    assert leftovers(bed.name, pids) == []
    assert os.listdir(bed.state_dir) == []
    bed.down()  # again: nothing to do
    assert bed.status() is None


def test_down_after_partial_up(tmp_path, monkeypatch):
    """The sshd of h2 fails to start (no host key where it looks): up stops there, with h1 up and h3
    never made. A new NetBed on the same state dir (as after a crash) takes down exactly what was made."""
    real = netbed_lib.start_sshd

    def start_sshd(netns, address, directory, pidfile, timeout=10):
        if netns.endswith("h2"):
            directory = os.path.join(directory, "missing")
        return real(netns, address, directory, pidfile, timeout)

    monkeypatch.setattr(netbed_lib, "start_sshd", start_sshd)
    state_dir = str(tmp_path / "bed")
    bed = NetBed(state_dir)
    with pytest.raises(BedError, match="sshd"):
        bed.up()
    pid = netbed_lib.sshd_pid(bed.hosts[0].pidfile)
    assert pid and bed.hosts[1].netns in namespaces() and bed.hosts[2].netns not in namespaces()
    assert bed.ping("h1", bed.gateway)

    again = NetBed(state_dir)
    assert again.name == bed.name
    again.down()
    assert leftovers(bed.name, [pid]) == []
    again.down()


def test_down_after_a_crash(tmp_path):
    """`python -m lib.netbed up` of 20 hosts killed (SIGKILL) partway: down from the state dir it left
    removes everything, the sshds already running included."""
    state_dir = str(tmp_path / "bed")
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "lib.netbed", "up", "--state", state_dir, "--hosts", "20"],
                            cwd=tests, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(sshd_items(state_dir)) < 3:
            time.sleep(0.005)
    finally:
        proc.kill()
    assert proc.wait(timeout=10) == -signal.SIGKILL, "up finished before it was killed"
    bed = NetBed(state_dir)
    pids = [netbed_lib.sshd_pid(item["pidfile"]) for item in sshd_items(state_dir)]
    assert len([pid for pid in pids if pid]) >= 2 and len(pids) < 20
    bed.down()
    assert leftovers(bed.name, [pid for pid in pids if pid]) == []


def sshd_items(state_dir):
    try:
        with open(os.path.join(state_dir, "state.json")) as handle:
            return [item for item in json.load(handle)["made"] if item["kind"] == "sshd"]
    except (OSError, ValueError):
        return []
