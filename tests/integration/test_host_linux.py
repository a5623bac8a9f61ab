"""host_bridge, host_vxlan and host_vlan on the kernel (netlink) of this host, verified with `ip -j`
and `bridge -j`: converge (check, apply, rerun, check rerun), changes in place, recreation where the
kernel fixes a value at creation, the connection guard, rollback of a change that fails midway,
bad input refused before anything is touched, and the kernel features this host lacks named."""

from __future__ import annotations

import json
import sys
import uuid

import pytest

from conftest import converge, run_module, sh


def link(name):
    """`ip -j -d link show NAME` (with addresses), or None."""
    proc = sh("ip", "-j", "-d", "addr", "show", "dev", name, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def info(name):
    return link(name)["linkinfo"]["info_data"]


def addrs(name):
    return sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in link(name)["addr_info"] if a["scope"] == "global")


def floods(name):
    entries = json.loads(sh("bridge", "-j", "fdb", "show", "dev", name).stdout)
    return sorted(e["dst"] for e in entries if e["mac"] == "00:00:00:00:00:00" and "dst" in e)


@pytest.fixture
def names():
    """Short unique interface names; every one of them is deleted afterwards."""
    made = []

    def make(tag):
        name = "vc%s%s" % (uuid.uuid4().hex[:6], tag)
        made.append(name)
        return name

    yield make
    for name in reversed(made):
        sh("ip", "link", "del", name, check=False)


@pytest.fixture
def veth(names):
    """A veth pair: the first end is the one to use as a bridge port."""
    def make():
        a, b = names("a"), names("b")
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        return a
    return make


def refused(module, option, fragment, absent=(), **args):
    """Refused naming the option, in check mode and for real; nothing changed, `absent` not made."""
    for check in (True, False):
        result = run_module(module, check=check, **args)
        assert result.get("failed") is True, result
        assert result["msg"].startswith((option + ":", option + "[")) and fragment in result["msg"], result["msg"]
        assert result.get("changed") is False and not result.get("actions"), result
    for name in absent:
        assert link(name) is None, name


def test_linux_bridge_converges_changes_in_place_and_goes(names, veth):
    br, port, port2 = names("br"), veth(), veth()
    out = converge("host_bridge", name=br, addresses=["198.18.71.1/24", "198.18.72.1/24"], stp=True,
                   forward_delay=4, ports=[port], mtu=1400)
    assert out["actions"] == ["create bridge %s" % br]
    data = info(br)
    assert (data["stp_state"], data["forward_delay"]) == (1, 400)
    assert link(br)["mtu"] == 1400 and "UP" in link(br)["flags"]
    assert addrs(br) == ["198.18.71.1/24", "198.18.72.1/24"]
    assert link(port)["master"] == br
    mac = out["bridge"]["mac"]

    out = converge("host_bridge", name=br, addresses=["198.18.71.1/24"], stp=False, ports=[port2], mtu=1300)
    assert out["actions"] == ["set mtu of %s to 1300" % br, "set stp of %s to False" % br,
                              "add port %s to %s" % (port2, br), "remove address 198.18.72.1/24 from %s" % br]
    assert out["bridge"]["ports"] == sorted([port, port2]) and out["bridge"]["mac"] == mac
    assert info(br)["stp_state"] == 0 and addrs(br) == ["198.18.71.1/24"] and link(port2)["master"] == br

    out = converge("host_bridge", name=br, ports=[port2], ports_exclusive=True, enabled=False)
    assert link(port).get("master") is None and link(port2)["master"] == br and "UP" not in link(br)["flags"]

    converge("host_bridge", name=br, state="absent")
    assert link(br) is None and link(port2) is not None and link(port2).get("master") is None


def test_vxlan_peers_change_in_place_and_a_new_vni_recreates(names, veth):
    br, vx, under = names("br"), names("vx"), veth()
    sh("ip", "addr", "add", "198.18.73.1/24", "dev", under)
    converge("host_bridge", name=br, addresses=["198.19.0.1/24"])
    args = {"name": vx, "vni": 4242, "local": "198.18.73.1", "remotes": ["198.18.73.3", "198.18.73.2"],
            "dev": under, "bridge": br, "learning": False}
    out = converge("host_vxlan", **args)
    data = info(vx)
    assert (data["id"], data["local"], data["port"], data["learning"], data["link"]) == (4242, "198.18.73.1", 4789, False, under)
    assert link(vx)["master"] == br and floods(vx) == ["198.18.73.2", "198.18.73.3"]
    assert out["vxlan"]["remotes"] == ["198.18.73.2", "198.18.73.3"]
    mac = out["vxlan"]["mac"]

    out = converge("host_vxlan", **{**args, "remotes": ["198.18.73.2", "198.18.73.4"]})
    assert out["actions"] == ["add remote 198.18.73.4 to %s" % vx, "remove remote 198.18.73.3 from %s" % vx]
    assert floods(vx) == ["198.18.73.2", "198.18.73.4"] and out["vxlan"]["mac"] == mac

    out = converge("host_vxlan", **{**args, "vni": 4343})
    assert out["actions"] == ["recreate vxlan %s (vni changed)" % vx]
    assert info(vx)["id"] == 4343 and link(vx)["master"] == br and floods(vx) == ["198.18.73.2", "198.18.73.3"]

    converge("host_vxlan", name=vx, state="absent")
    assert link(vx) is None and link(br) is not None


def test_the_connection_ansible_uses_is_not_cut_without_force(names, veth, monkeypatch):
    br, port = names("br"), veth()
    sh("ip", "addr", "add", "198.18.74.1/24", "dev", port)
    monkeypatch.setenv("SSH_CONNECTION", "198.18.74.9 50000 198.18.74.1 22")
    refused("host_bridge", "force", "SSH to 198.18.74.1", absent=[br], name=br, ports=[port])
    converge("host_bridge", name=br, addresses=["198.18.75.1/24"])
    sh("ip", "addr", "del", "198.18.74.1/24", "dev", port)
    sh("ip", "link", "set", port, "master", br)
    sh("ip", "addr", "add", "198.18.74.1/24", "dev", br)
    for args in ({"addresses": []}, {"enabled": False}, {"ports": [], "ports_exclusive": True}, {"state": "absent"}):
        result = run_module("host_bridge", name=br, **args)
        assert result.get("failed") and result["msg"].startswith("force:") and not result.get("actions"), (args, result)
    assert addrs(br) == ["198.18.74.1/24", "198.18.75.1/24"] and link(port)["master"] == br
    result = run_module("host_bridge", name=br, addresses=["198.18.75.1/24"], force=True)
    assert result["changed"] and addrs(br) == ["198.18.75.1/24"]


def test_the_guard_finds_the_connection_under_become(names, veth, monkeypatch):
    """sudo resets the environment: SSH_CONNECTION is then only in a process the module runs under."""
    br, port = names("br"), veth()
    sh("ip", "addr", "add", "198.18.74.1/24", "dev", port)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    args = json.dumps({"ANSIBLE_MODULE_ARGS": {"name": br, "ports": [port]}})
    proc = sh("env", "SSH_CONNECTION=198.18.74.9 50000 198.18.74.1 22", "sh", "-c",
              'env -u SSH_CONNECTION "$0" -m ansible_collections.virtcloud.core.plugins.modules.host_bridge',
              sys.executable, input=args, check=False)
    result = json.loads(proc.stdout)
    assert result.get("failed") and result["msg"].startswith("force:"), result
    assert link(br) is None and link(port).get("master") is None


def test_a_change_that_fails_midway_is_rolled_back(names, veth):
    br, other, port = names("br"), names("o"), veth()
    converge("host_bridge", name=br)
    converge("host_bridge", name=other)
    # the kernel refuses a bridge as a port of a bridge: the steps before it are undone
    result = run_module("host_bridge", name=br, stp=True, ports=[port, other], addresses=["198.18.76.1/24"])
    assert result.get("failed") and "add port %s to %s failed" % (other, br) in result["msg"], result
    assert "rolled back" in result["msg"] and result["changed"] is False
    assert info(br)["stp_state"] == 0 and link(port).get("master") is None and addrs(br) == []


@pytest.mark.parametrize("option,value,fragment", [
    ("name", "vc-name-much-too-long", "1 to 15 bytes"),
    ("ports", ["vcmissing0"], "does not exist"),
    ("addresses", ["198.18.76.300/24"], "is not an IP"),
    ("forward_delay", 1, "2 to 30 seconds with stp"),
    ("vlan_filtering", True, "CONFIG_BRIDGE_VLAN_FILTERING"),
    ("controllers", ["tcp:198.18.1.254:6653"], "type=ovs bridges only"),
])
def test_bridge_bad_input(names, option, value, fragment):
    br = names("br")
    args = {"name": br, "stp": True} if option == "forward_delay" else {"name": br}
    args[option] = value
    refused("host_bridge", option, fragment, absent=[br], **args)


def test_bridge_address_of_another_interface_and_wrong_kinds(names, veth):
    br, port = names("br"), veth()
    sh("ip", "addr", "add", "198.18.76.1/24", "dev", port)
    refused("host_bridge", "addresses", "already an address of %s" % port, absent=[br], name=br,
            addresses=["198.18.76.1/24"])
    refused("host_bridge", "type", "is a veth", name=port, state="absent")
    refused("host_bridge", "type", "is a veth", name=port, stp=True)
    assert link(port) is not None


@pytest.mark.parametrize("option,value,fragment", [
    ("vni", 0, "a VXLAN VNI (1 to 16777215)"),
    ("vni", 16777216, "a VXLAN VNI (1 to 16777215)"),
    ("remotes", ["239.1.1.1"], "is a multicast address"),
    ("group", "198.18.1.2", "is not a multicast address"),
    ("dev", "vcmissing0", "does not exist"),
    ("bridge", "vcmissing0", "does not exist"),
    ("port", 70000, "a port (1 to 65535)"),
])
def test_vxlan_bad_input(names, option, value, fragment):
    vx = names("vx")
    args = {"name": vx, "vni": 10, option: value}
    refused("host_vxlan", option, fragment, absent=[vx], **args)


def test_vxlan_group_and_remotes_and_a_port_not_a_bridge(names, veth):
    vx, port = names("vx"), veth()
    refused("host_vxlan", "group", "not both", absent=[vx], name=vx, vni=5, group="239.1.1.1", remotes=["198.18.1.2"])
    refused("host_vxlan", "bridge", "is a veth, not a Linux bridge", absent=[vx], name=vx, vni=5, bridge=port)


def test_kernel_vlans_name_the_missing_kernel_feature(names, veth):
    """This kernel has neither 802.1Q nor bridge VLAN filtering: both are named, nothing is made."""
    vl, parent = names("vl"), veth()
    refused("host_vlan", "type", "8021q", absent=[vl], name=vl, parent=parent, vlan_id=10)
    refused("host_vlan", "type", "CONFIG_BRIDGE_VLAN_FILTERING", name=vl, type="bridge", bridge=parent, vlan_id=10)
    refused("host_vlan", "vlan_id", "a VLAN ID (1 to 4094)", name=vl, type="ovs", bridge="x", vlan_id=4095)


@pytest.mark.parametrize("fmt", ["ifupdown", "networkd", "nm_keyfile"])
def test_persist_writes_the_files_once_and_absent_removes_them(names, veth, tmp_path, fmt):
    """What the renderer gives (tests/integration/test_persist_apply.py applies it for real) is
    written by the modules, rewritten only when it changes, and removed with the object."""
    br, vx, port = names("br"), names("vx"), veth()
    common = {"persist": fmt, "persist_dir": str(tmp_path)}
    out = converge("host_bridge", name=br, addresses=["198.18.84.1/24"], ports=[port], **common)
    assert out["actions"][0] == "create bridge %s" % br and out["actions"][1].startswith("write %s configuration" % fmt)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files and all(br in f for f in files), files
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    converge("host_vxlan", name=vx, vni=84, remotes=["198.18.84.2"], bridge=br, **common)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if br in p.name and vx not in p.name} == stamps
    assert any(vx in p.name for p in tmp_path.iterdir())
    # a change of the live object rewrites its file
    out = converge("host_bridge", name=br, addresses=["198.18.84.1/24", "198.18.85.1/24"], **common)
    text = "".join(p.read_text() for p in tmp_path.iterdir() if br in p.name and vx not in p.name)
    assert "198.18.85.1" in text
    converge("host_vxlan", name=vx, state="absent", **common)
    converge("host_bridge", name=br, state="absent", **common)
    assert list(tmp_path.iterdir()) == []
