"""The hypervisor_host role's scenario (extensions/molecule/hypervisor_host, run here without molecule, in
the order its molecule.yml gives): converge -> idempotence (a rerun reports changed=0) -> verify (its own
verify.yml, then the pool and both networks read independently with virsh, and the daemon settings read
from their files) -> cleanup (nothing of it is left). Every run has its own names and two 198.19.x.0/24
subnets that no libvirt network and no host address uses, and a temporary config dir for the settings.

This host has no systemd: the role must leave the running libvirtd and virtlogd alone (same processes
before and after, its start steps skipped). The start path itself runs against a libvirt URI whose socket
does not exist, with stub daemons that only record how they were called."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, playbook, sh  # noqa: E402
from lib.appdeploy import recap

from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import kvm_usable_here

SCENARIO = os.path.join(ROOT, "extensions", "molecule", "hypervisor_host")
SYSTEMD = os.path.exists("/run/systemd/system")
LIBVIRTD_CONF = """# an example line stays as it is
#log_level = 3
listen_tls = 1
"""
START_PLAYBOOK = """
- name: The hypervisor_host role's start path without a service manager
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Start libvirt unless it answers
      ansible.builtin.include_role:
        name: virtcloud.core.hypervisor_host
        tasks_from: daemon_direct.yml
"""


def used_subnets():
    """The IPv4 networks of every libvirt network and of every address on this host."""
    used = set()
    for name in sh("virsh", "-q", "net-list", "--all", "--name").stdout.split():
        dump = sh("virsh", "net-dumpxml", name, check=False).stdout
        if dump:
            for ip in ET.fromstring(dump).iter("ip"):
                if ip.get("address") and ip.get("family", "ipv4") == "ipv4":
                    prefix = ip.get("prefix") or ipaddress.IPv4Network("0.0.0.0/" + ip.get("netmask", "24")).prefixlen
                    used.add(ipaddress.ip_interface("%s/%s" % (ip.get("address"), prefix)).network)
    for link in json.loads(sh("ip", "-j", "-4", "addr").stdout):
        for addr in link.get("addr_info", []):
            used.add(ipaddress.ip_interface("%s/%s" % (addr["local"], addr["prefixlen"])).network)
    return used


def free_thirds(count):
    """`count` third octets x whose 198.19.x.0/24 overlaps nothing in use here."""
    used = used_subnets()
    free = [x for x in range(130, 200)
            if not any(ipaddress.ip_network("198.19.%d.0/24" % x).overlaps(net) for net in used)]
    assert len(free) >= count, "no %d free 198.19.x.0/24 in 130..199" % count
    return random.sample(free, count)


def daemon_pids(*names):
    """pid -> name of every running process called one of `names`. Compared as "still all there" (a
    subset), since tests in other work trees may start daemons of their own (tests/lib/libvirt_host.py)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % pid) as handle:
                comm = handle.read().strip()
        except OSError:
            continue
        if comm in names:
            found[int(pid)] = comm
    return found


def task_states(stdout, task):
    """The result words ("ok", "changed", "skipping", "fatal" ...) of the role's task or handler `task`."""
    match = re.search(r"(?:TASK|HANDLER) \[virtcloud\.core\.hypervisor_host : %s\] \**\n(.*?)"
                      r"(?=^TASK \[|^HANDLER \[|^PLAY RECAP|\Z)"
                      % re.escape(task), stdout, re.S | re.M)
    assert match, "task %r not in the output:\n%s" % (task, stdout[-3000:])
    return re.findall(r"^(ok|changed|skipping|fatal|failed): \[", match.group(1), re.M)


def remove(host):
    for net in (host["nat"], host["hostonly"]):
        sh("virsh", "net-destroy", net, check=False)
        sh("virsh", "net-undefine", net, check=False)
    sh("virsh", "pool-destroy", host["pool"], check=False)
    sh("virsh", "pool-undefine", host["pool"], check=False)


@pytest.fixture
def host(libvirt_daemon, unique, tmp_path):
    nat, hostonly = free_thirds(2)
    config = tmp_path / "etc-libvirt"
    config.mkdir()
    (config / "libvirtd.conf").write_text(LIBVIRTD_CONF)
    names = {"pool": unique + "-hv-pool", "nat": unique + "-hv-nat", "hostonly": unique + "-hv-hostonly"}
    vars_ = {
        "hypervisor_host_pool_name": names["pool"],
        "hypervisor_host_pool_path": str(tmp_path / "pool"),
        "hypervisor_host_nat_name": names["nat"],
        "hypervisor_host_nat_address": "198.19.%d.1/24" % nat,
        "hypervisor_host_nat_dhcp_ranges": [{"start": "198.19.%d.100" % nat, "end": "198.19.%d.199" % nat}],
        "hypervisor_host_hostonly_name": names["hostonly"],
        "hypervisor_host_hostonly_address": "198.19.%d.1/24" % hostonly,
        "hypervisor_host_hostonly_dhcp_ranges": [],
        "hypervisor_host_config_dir": str(config),
        "hypervisor_host_libvirtd_settings": {"log_level": 2, "listen_tls": False, "log_outputs": "2:stderr"},
        "hypervisor_host_qemu_settings": {"cgroup_controllers": ["cpu", "memory"]},
        # the settings go to a temporary dir: a systemd host's real libvirtd is not restarted for them
        "hypervisor_host_restart_on_change": False,
    }
    host = dict(names, vars=vars_, nat_third=nat, hostonly_third=hostonly, config=config, path=tmp_path / "pool")
    try:
        yield host
    finally:
        remove(host)


def scenario(step, host, check=True, **extra):
    return playbook(os.path.join(SCENARIO, step + ".yml"), check=check, **dict(host["vars"], **extra))


def virsh_info(kind, name):
    """`virsh net-info` / `pool-info` as a dict of its lines."""
    out = sh("virsh", kind + "-info", name).stdout
    return dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line))


def test_hypervisor_host_scenario(host):
    daemons = daemon_pids("libvirtd", "virtlogd")
    assert "libvirtd" in daemons.values()

    # converge
    first = scenario("converge", host)
    assert recap(first.stdout)["changed"] > 0
    expected_type = "qemu" if not kvm_usable_here() else None  # this host: /dev/kvm exists, KVM guests hang
    domain_type = re.search(r'"hypervisor_host_domain_type": "(\w+)"', first.stdout).group(1)
    assert domain_type in ("kvm", "qemu") and domain_type == (expected_type or domain_type)
    if domain_type == "qemu":
        assert "guests use QEMU emulation (TCG)" in first.stdout
    # the settings change is reported, not applied by a restart
    assert task_states(first.stdout, "Report that libvirtd needs a restart") == ["ok"]
    assert "restart it yourself" in first.stdout
    if not SYSTEMD:
        # libvirt answered: nothing started
        assert task_states(first.stdout, "Ask libvirt whether it answers") == ["ok"]
        assert task_states(first.stdout, "Start libvirtd (daemonized)") == ["skipping"]

    # idempotence
    again = scenario("converge", host)
    assert recap(again.stdout)["changed"] == 0, again.stdout[-3000:]
    assert "restart it yourself" not in again.stdout
    # the running daemons were neither restarted nor stopped
    assert daemons.items() <= daemon_pids("libvirtd", "virtlogd").items()

    # verify: the scenario's own checks, then independently
    scenario("verify", host)
    nat = ET.fromstring(sh("virsh", "net-dumpxml", host["nat"]).stdout)
    assert nat.find("forward").get("mode") == "nat"
    ip, subnet = nat.find("ip"), "198.19.%d." % host["nat_third"]
    assert (ip.get("address"), ip.get("prefix") or ip.get("netmask")) in ((subnet + "1", "24"), (subnet + "1", "255.255.255.0"))
    rng = ip.find("dhcp/range")
    assert (rng.get("start"), rng.get("end")) == (subnet + "100", subnet + "199")
    hostonly = ET.fromstring(sh("virsh", "net-dumpxml", host["hostonly"]).stdout)
    assert hostonly.find("forward") is None  # isolated: no forwarding at all
    assert hostonly.find("ip").get("address") == "198.19.%d.1" % host["hostonly_third"]
    assert hostonly.find("ip/dhcp") is None
    for net in (host["nat"], host["hostonly"]):
        info = virsh_info("net", net)
        assert (info["Active"], info["Persistent"], info["Autostart"]) == ("yes", "yes", "yes"), info
    pool = ET.fromstring(sh("virsh", "pool-dumpxml", host["pool"]).stdout)
    assert pool.get("type") == "dir" and pool.findtext("target/path") == str(host["path"])
    info = virsh_info("pool", host["pool"])
    assert (info["State"], info["Autostart"]) == ("running", "yes"), info
    assert host["path"].is_dir()

    # the settings: the key's own line replaced, the commented example left, new keys appended
    assert (host["config"] / "libvirtd.conf").read_text() == (
        '# an example line stays as it is\n#log_level = 3\nlisten_tls = 0\nlog_level = 2\nlog_outputs = "2:stderr"\n')
    assert (host["config"] / "qemu.conf").read_text() == 'cgroup_controllers = ["cpu", "memory"]\n'

    # cleanup step of the scenario: the networks and the pool (and its empty directory) are gone
    assert recap(scenario("cleanup", host).stdout)["changed"] > 0
    for kind, name in (("net", host["nat"]), ("net", host["hostonly"]), ("pool", host["pool"])):
        assert sh("virsh", kind + "-info", name, check=False).returncode != 0, name
    assert not host["path"].exists()
    assert daemons.items() <= daemon_pids("libvirtd", "virtlogd").items()


def test_bad_settings_fail_before_anything_is_touched(host):
    bad = {"user = root\n#": "x", "vnc_listen": '127.0.0.1"\nuser = "root', "namespaces": ["mount", "a\\b"]}
    failed = scenario("converge", host, check=False, hypervisor_host_qemu_settings=dict(bad, vnc_port=5900))
    assert failed.returncode != 0
    # each bad setting (a key that is no setting name; a string or list value with a newline, quote or
    # backslash) is refused by name; the good ones (the fixture's three libvirtd.conf settings, vnc_port) are not
    assert task_states(failed.stdout, "Check the daemon settings before anything is touched") == [
        "ok", "ok", "ok", "failed", "failed", "failed", "ok"]
    assert failed.stdout.count("is not a setting of qemu.conf") >= 3
    assert (host["config"] / "libvirtd.conf").read_text() == LIBVIRTD_CONF
    assert not (host["config"] / "qemu.conf").exists()
    assert sh("virsh", "pool-info", host["pool"], check=False).returncode != 0


@pytest.mark.skipif(SYSTEMD, reason="the direct start path is the one for hosts without systemd")
def test_start_path_without_systemd_starts_the_daemons_when_libvirt_does_not_answer(libvirt_daemon, tmp_path):
    """A URI whose socket does not exist stands for a host where libvirt is down: the role starts virtlogd
    (its socket is missing too) and libvirtd daemonized, then waits for libvirt to answer. Here the daemons
    are stubs that only record their arguments, so libvirt never answers and the role fails after its
    timeout, at the wait - the real daemons are not touched."""
    calls = tmp_path / "calls"
    stubs = {}
    for daemon in ("virtlogd", "libvirtd"):
        stub = tmp_path / daemon
        stub.write_text('#!/bin/sh\necho "%s $*" >>%s\n' % (daemon, calls))
        stub.chmod(0o755)
        stubs[daemon] = str(stub)
    # the role's start path on its own (the scenario above shows the role takes it on this host)
    start = tmp_path / "start.yml"
    start.write_text(START_PLAYBOOK)
    daemons = daemon_pids("libvirtd", "virtlogd")
    run = playbook(str(start), check=False,
                   hypervisor_host_uri="qemu:///system?socket=%s" % (tmp_path / "libvirt-sock"),
                   hypervisor_host_start_timeout=0,
                   hypervisor_host_libvirtd_binary=stubs["libvirtd"], hypervisor_host_virtlogd_binary=stubs["virtlogd"],
                   hypervisor_host_virtlogd_socket=str(tmp_path / "virtlogd-sock"))
    assert run.returncode != 0
    assert calls.read_text() == "virtlogd --daemon\nlibvirtd --daemon\n"
    assert task_states(run.stdout, "Start virtlogd (daemonized)") == ["changed"]
    assert task_states(run.stdout, "Wait until libvirt answers") == ["fatal"]
    assert "cannot connect to libvirt" in run.stdout
    assert daemons.items() <= daemon_pids("libvirtd", "virtlogd").items()
