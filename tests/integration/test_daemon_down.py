"""Daemon down (issue 21): every module of each backend run against a socket nobody listens on, in
check mode and for real, fails with one message naming the socket or URI and saying how to start the
daemon, and changes nothing (no change reported, no action run, no file it would write left behind).

ovf_info and disk_image talk to no daemon and are not part of this proof; nor is lxc_container: classic LXC
has no daemon (liblxc works on the container's files and processes in the module's own process). The host_*
modules are, in their Open vSwitch form (ovsdb); their kernel side (netlink) has no daemon."""

from __future__ import annotations

import os

import pytest

from conftest import run_module
from lib.lxd import build_busybox_image
from lib.reliability import record
from test_ova_import import build

DOCKER_HOST = "unix:///nonexistent/vct-docker.sock"
LIBVIRT_URI = "qemu+unix:///system?socket=/nonexistent/vct-libvirt-sock"
LXD_URL = "unix:/nonexistent/vct-lxd.sock"

# module -> minimal valid arguments (beyond the connection); "{tmp}" is the test's temporary directory.
# Paths under {tmp} are what a run that did something would leave: they must not exist afterwards.
DOCKER = {
    "docker_container": {"name": "vct-down", "image": "busybox:latest"},
    "docker_container_exec": {"container": "vct-down", "command": "true"},
    "docker_containers": {"containers": [{"name": "vct-down", "image": "busybox:latest"}]},
    "docker_image": {"name": "local/vct-down:1", "build": {"path": "{tmp}/ctx"}},
    "docker_info": {},
    "docker_network": {"name": "vct-down"},
    "docker_volume": {"name": "vct-down"},
}
LIBVIRT = {
    "libvirt_domain": {"name": "vct-down", "memory": "64MiB", "vcpus": 1},
    "libvirt_domain_info": {},
    "libvirt_domains": {"domains": [{"name": "vct-down", "memory": "64MiB"}, {"name": "vct-down2"}]},
    "libvirt_network": {"name": "vct-down"},
    "libvirt_network_info": {},
    "libvirt_pool": {"name": "vct-down", "path": "{tmp}/pool"},
    "libvirt_snapshot": {"domain": "vct-down", "name": "s1"},
    "libvirt_migrate": {"name": "vct-down", "dest_uri": "qemu+unix:///system?socket=/nonexistent/sock"},
    "libvirt_storage_info": {},
    "libvirt_volume": {"name": "vct-down.qcow2", "pool": "vct-down", "size": "1MiB"},
    "ova_export": {"name": "vct-down", "dest": "{tmp}/out.ova"},
    "ova_import": {"src": "{tmp}/in.ova", "name": "vct-down", "pool": "vct-down", "network_map": {"lan": "vct-down"}},
}
LXD = {
    "lxd_info": {},
    "lxd_image": {"aliases": ["vct-down"], "source": {"metadata": "{tmp}/img/meta.tar.gz", "rootfs": "{tmp}/img/rootfs.tar.gz"}},
    "lxd_network": {"name": "vct-down", "config": {"ipv4.address": "198.18.251.1/24"}},
    "lxd_profile": {"name": "vct-down", "config": {"limits.cpu": "1"}},
    "lxd_instance": {"name": "vct-down", "image": "busybox"},
    "lxd_instances": {"instances": [{"name": "vct-down", "image": "busybox"}, {"name": "vct-down2", "state": "absent"}]},
}
# the host_* modules: their Open vSwitch form (the kernel side has no daemon)
OVS = {
    "host_bridge": {"name": "vctdown", "type": "ovs", "datapath_type": "netdev"},
    "host_vlan": {"name": "vctdown", "type": "ovs", "bridge": "vctdown", "vlan_id": 10, "internal": True},
    "host_vxlan": {"name": "vctdown", "type": "ovs", "bridge": "vctdown", "vni": 10, "remote": "198.18.251.2"},
    "host_network_info": {"ovs": "always"},
}
OVSDB = "unix:/nonexistent/vct-ovs.sock"
CASES = [(m, a, "docker_host", DOCKER_HOST) for m, a in DOCKER.items()] + \
        [(m, a, "uri", LIBVIRT_URI) for m, a in LIBVIRT.items()] + \
        [(m, a, "url", LXD_URL) for m, a in LXD.items()] + \
        [(m, a, "ovsdb", OVSDB) for m, a in OVS.items()]
# modules that talk to no daemon (classic LXC has none: liblxc works in the module's own process)
NO_DAEMON = {"ovf_info", "disk_image", "lxc_container"}
START = {"docker_host": "systemctl start docker", "uri": "systemctl start libvirtd", "url": "systemctl start lxd",
         "ovsdb": "systemctl start openvswitch-switch"}


def _fill(value, tmp):
    if isinstance(value, str):
        return value.replace("{tmp}", tmp)
    if isinstance(value, dict):
        return {k: _fill(v, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, tmp) for v in value]
    return value


def test_every_module_of_each_backend_is_covered():
    """A module added later must join this proof (or be named here as talking to no daemon)."""
    modules = {f[:-3] for f in os.listdir(os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "modules"))
               if f.endswith(".py") and not f.startswith("_")}
    assert modules - set(DOCKER) - set(LIBVIRT) - set(LXD) - set(OVS) - NO_DAEMON == set()


@pytest.mark.parametrize("module, args, option, address", CASES, ids=[c[0] for c in CASES])
def test_unreachable_daemon_fails_clearly_and_changes_nothing(tmp_path, module, args, option, address):
    tmp = str(tmp_path)
    if module == "ova_import":
        os.rename(build(tmp, "in")[0], os.path.join(tmp, "in.ova"))  # a valid OVA: the run must get to connect
    if module == "docker_image":
        os.makedirs(os.path.join(tmp, "ctx"))
        with open(os.path.join(tmp, "ctx", "Dockerfile"), "w") as handle:
            handle.write("FROM scratch\n")
    if module == "lxd_image":
        build_busybox_image(os.path.join(tmp, "img"))  # valid image files: the run must get to connect
    args = _fill(args, tmp)
    before = sorted(os.listdir(tmp))
    problems = []
    for check in (True, False):
        mode = "check" if check else "real"
        result = run_module(module, check=check, **{option: address}, **args)
        msg = result.get("msg", "")
        wrong = []
        if result.get("failed") is not True:
            wrong.append("did not fail")
        if result.get("changed") is not False:
            wrong.append("changed is %r" % result.get("changed"))
        if result.get("actions"):
            wrong.append("actions %r" % result.get("actions"))
        if address not in msg or "(%s)" % option not in msg:
            wrong.append("message does not name %s=%s" % (option, address))
        if START[option] not in msg:
            wrong.append("message does not say how to start the daemon (%s)" % START[option])
        if "\n" in msg.strip():
            wrong.append("message is not one line")
        if "Connection aborted" in msg or "Error while fetching" in msg or "Errno" in msg:
            wrong.append("message carries a library's wrapping instead of the cause")
        if sorted(os.listdir(tmp)) != before:
            wrong.append("files appeared: %s" % sorted(set(os.listdir(tmp)) - set(before)))
        record("daemon down", "%s (%s)" % (module, mode), handled=not wrong, detail="; ".join(wrong) or msg)
        problems.extend("%s: %s\n  %s" % (mode, w, msg) for w in wrong)
    assert not problems, "\n".join(problems)
