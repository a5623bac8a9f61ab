"""host_bridge, host_vlan and host_vxlan with type=ovs against the real ovsdb-server/ovs-vswitchd (userspace
datapath), verified with `ovs-vsctl --format=json` and `ip -j`; host_network_info read in one pass and
compared with both."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import converge, run_module, sh


def ovs_rows(table, name=None):
    """Rows of an OVSDB table as dicts, through ovs-vsctl's JSON output (sets and maps decoded)."""
    argv = ["ovs-vsctl", "--format=json", "--data=json", "list", table] + ([name] if name else [])
    proc = sh(*argv, check=False)
    if proc.returncode != 0:
        return []
    data = json.loads(proc.stdout)
    return [{h: _value(v) for h, v in zip(data["headings"], row)} for row in data["data"]]


def _value(value):
    if isinstance(value, list) and value and value[0] == "set":
        return [_value(v) for v in value[1]]
    if isinstance(value, list) and value and value[0] == "map":
        return {k: _value(v) for k, v in value[1]}
    if isinstance(value, list) and value and value[0] == "uuid":
        return value[1]
    return value


def port_row(name):
    rows = ovs_rows("Port", name)
    return rows[0] if rows else None


@pytest.fixture
def ovs_names():
    """Short unique names; OVS bridges and ports with them and kernel links are removed afterwards."""
    made = []

    def make(tag):
        name = "vc%s%s" % (uuid.uuid4().hex[:6], tag)
        made.append(name)
        return name

    yield make
    for name in reversed(made):
        sh("ovs-vsctl", "--if-exists", "del-port", name, check=False)
        sh("ovs-vsctl", "--if-exists", "del-br", name, check=False)
        sh("ip", "link", "del", name, check=False)


@pytest.fixture
def ovs_veth(ovs_names):
    def make():
        a, b = ovs_names("a"), ovs_names("b")
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", a, "up")
        return a
    return make


def test_ovs_bridge_with_controllers_ports_and_address(ovs_names, ovs_veth):
    br, port = ovs_names("s"), ovs_veth()
    args = {"name": br, "type": "ovs", "datapath_type": "netdev", "fail_mode": "secure",
            "controllers": ["tcp:198.18.1.254:6653", "tcp:198.18.1.253:6653"], "protocols": ["OpenFlow13", "OpenFlow10"],
            "ports": [port], "addresses": ["198.18.81.1/24"]}
    out = converge("host_bridge", **args)
    assert out["actions"] == ["create bridge %s" % br]
    row = ovs_rows("Bridge", br)[0]
    assert (row["datapath_type"], row["fail_mode"]) == ("netdev", "secure")
    assert sorted(row["protocols"]) == ["OpenFlow10", "OpenFlow13"]
    targets = sorted(c["target"] for c in ovs_rows("Controller") if c["_uuid"] in row["controller"])
    assert targets == ["tcp:198.18.1.253:6653", "tcp:198.18.1.254:6653"]
    assert port_row(port) is not None
    addr = json.loads(sh("ip", "-j", "addr", "show", "dev", br).stdout)[0]
    assert [a["local"] for a in addr["addr_info"] if a["scope"] == "global"] == ["198.18.81.1"]
    assert out["bridge"]["ports"] == [port] and out["bridge"]["controllers"] == sorted(args["controllers"])

    out = converge("host_bridge", **{**args, "controllers": ["tcp:198.18.1.254:6653"], "fail_mode": "standalone",
                                     "ports": [], "ports_exclusive": True})
    assert out["actions"] == ["set controllers, fail_mode of OVS bridge %s" % br, "remove port %s from %s" % (port, br)]
    row = ovs_rows("Bridge", br)[0]
    assert row["fail_mode"] == "standalone" and isinstance(row["controller"], str) and port_row(port) is None

    converge("host_bridge", name=br, type="ovs", state="absent")
    assert ovs_rows("Bridge", br) == []


def test_ovs_bridge_needs_the_userspace_datapath_here(ovs_names):
    br = ovs_names("s")
    result = run_module("host_bridge", name=br, type="ovs")
    assert result.get("failed") and result["msg"].startswith("datapath_type:") and "netdev" in result["msg"], result
    assert ovs_rows("Bridge", br) == []
    result = run_module("host_bridge", name=br, type="ovs", datapath_type="netdev", ports=["vcmissing0"])
    assert result.get("failed") and result["msg"].startswith("ports:"), result
    assert ovs_rows("Bridge", br) == []


def test_ovs_access_trunk_and_internal_vlan_ports(ovs_names, ovs_veth):
    br, port, trunk = ovs_names("s"), ovs_veth(), ovs_names("t")
    converge("host_bridge", name=br, type="ovs", datapath_type="netdev")
    out = converge("host_vlan", name=port, type="ovs", bridge=br, vlan_id=10)
    assert out["actions"] == ["add VLAN port %s to %s" % (port, br)]
    assert port_row(port)["tag"] == 10
    out = converge("host_vlan", name=port, type="ovs", bridge=br, vlan_id=20)
    assert out["actions"] == ["set tag=20 of VLAN port %s" % port] and port_row(port)["tag"] == 20

    out = converge("host_vlan", name=trunk, type="ovs", bridge=br, internal=True, trunks=[10, "20-22"],
                   addresses=["198.18.82.1/24"])
    row = port_row(trunk)
    assert sorted(row["trunks"]) == [10, 20, 21, 22] and row["tag"] == []
    assert ovs_rows("Interface", trunk)[0]["type"] == "internal"
    addr = json.loads(sh("ip", "-j", "addr", "show", "dev", trunk).stdout)[0]
    assert [a["local"] for a in addr["addr_info"] if a["scope"] == "global"] == ["198.18.82.1"]
    assert out["vlan"]["trunks"] == [10, 20, 21, 22]

    converge("host_vlan", name=trunk, type="ovs", state="absent")
    converge("host_vlan", name=port, type="ovs", state="absent")
    assert port_row(trunk) is None and port_row(port) is None
    assert json.loads(sh("ip", "-j", "link", "show", "dev", port).stdout)  # a system interface stays


def test_ovs_vlan_bad_input(ovs_names, ovs_veth):
    br, port = ovs_names("s"), ovs_veth()
    result = run_module("host_vlan", name=port, type="ovs", bridge="vcmissing0", vlan_id=10)
    assert result.get("failed") and result["msg"].startswith("bridge:") and "does not exist" in result["msg"], result
    converge("host_bridge", name=br, type="ovs", datapath_type="netdev")
    for args, option in (({"bridge": br, "vlan_id": 10, "name": "vcmissing0"}, "name"),
                         ({"bridge": br, "trunks": ["30-20"]}, "trunks[0]"),
                         ({"bridge": br, "vlan_id": 10, "addresses": ["198.18.82.2/24"]}, "addresses")):
        result = run_module("host_vlan", **{"name": port, "type": "ovs", **args})
        assert result.get("failed") and result["msg"].startswith(option + ":"), (args, result)
        assert port_row(args.get("name", port)) is None


def test_ovs_vxlan_port(ovs_names):
    br, vx = ovs_names("s"), ovs_names("x")
    converge("host_bridge", name=br, type="ovs", datapath_type="netdev")
    args = {"name": vx, "type": "ovs", "bridge": br, "vni": 4242, "remote": "198.18.1.12", "local": "198.18.1.11"}
    out = converge("host_vxlan", **args)
    iface = ovs_rows("Interface", vx)[0]
    assert iface["type"] == "vxlan"
    assert iface["options"] == {"key": "4242", "remote_ip": "198.18.1.12", "local_ip": "198.18.1.11"}
    assert out["vxlan"]["remotes"] == ["198.18.1.12"]
    out = converge("host_vxlan", **{**args, "remote": "198.18.1.13"})
    assert ovs_rows("Interface", vx)[0]["options"]["remote_ip"] == "198.18.1.13"
    args.pop("remote")
    result = run_module("host_vxlan", **args, remotes=["198.18.1.12", "198.18.1.13"])
    assert result.get("failed") and result["msg"].startswith("remotes:"), result
    assert ovs_rows("Interface", vx)[0]["options"]["remote_ip"] == "198.18.1.13"
    converge("host_vxlan", name=vx, type="ovs", state="absent")
    assert port_row(vx) is None


def test_network_info_reads_everything_in_one_pass(ovs_names, ovs_veth):
    br, lbr, vx, port = ovs_names("s"), ovs_names("l"), ovs_names("x"), ovs_veth()
    converge("host_bridge", name=br, type="ovs", datapath_type="netdev", ports=[port],
             controllers=["tcp:198.18.1.254:6653"])
    converge("host_bridge", name=lbr, addresses=["198.18.83.1/24"])
    converge("host_vxlan", name=vx, vni=77, remotes=["198.18.83.2"], bridge=lbr)
    out = run_module("host_network_info")
    assert out["changed"] is False and out["round_trips"] == {"netlink": 3, "ovsdb": 1}, out["round_trips"]
    by_name = {i["name"]: i for i in out["interfaces"]}
    live = {link["ifname"]: link for link in json.loads(sh("ip", "-j", "link").stdout)}
    assert set(by_name) == set(live)
    assert by_name[vx]["master"] == lbr and by_name[lbr]["addresses"] == ["198.18.83.1/24"]
    assert {"name": lbr, "ports": [vx], "stp": False, "forward_delay": 15, "vlan_filtering": False} in out["bridges"]
    vxlan = next(v for v in out["vxlans"] if v["name"] == vx)
    assert (vxlan["vni"], vxlan["remotes"], vxlan["bridge"]) == (77, ["198.18.83.2"], lbr)
    bridge = next(b for b in out["ovs"]["bridges"] if b["name"] == br)
    assert bridge["controllers"] == ["tcp:198.18.1.254:6653"]
    assert sorted(p["name"] for p in bridge["ports"]) == sorted([br, port])
    only = run_module("host_network_info", names=[lbr], ovs="never")
    assert [i["name"] for i in only["interfaces"]] == [lbr] and only["ovs"] is None
    assert only["round_trips"] == {"netlink": 3, "ovsdb": 0}
