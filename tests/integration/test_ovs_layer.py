"""The Open vSwitch layer (module_utils/net/ovs.py) against the real ovsdb-server and ovs-vswitchd
(userspace datapath), every change verified through `ovs-vsctl --format=json list` (an independent
client of the same database) and every object removed again, also when a test fails."""

from __future__ import annotations

import json
import uuid

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, BackendUnavailable
from ansible_collections.virtcloud.core.plugins.module_utils.net.ovs import KEEP, Ovs
from conftest import sh

CONTROLLERS = ["tcp:198.18.1.254:6653", "tcp:198.18.1.253:6653"]


# ---------------------------------------------------------------- the independent path
def _value(value):
    """ovs-vsctl's JSON value as Python (its own small decoder: not the one under test)."""
    if isinstance(value, list) and value and value[0] == "set":
        return [_value(item) for item in value[1]]
    if isinstance(value, list) and value and value[0] == "map":
        return {key: _value(item) for key, item in value[1]}
    if isinstance(value, list) and value and value[0] == "uuid":
        return value[1]
    return value


def vsctl_list(table):
    """Every row of `table` as a dict; a one-element set comes as that element, as ovs-vsctl prints it."""
    out = json.loads(sh("ovs-vsctl", "--format=json", "list", table).stdout)
    return [{heading: _value(value) for heading, value in zip(out["headings"], row)} for row in out["data"]]


def row(table, name):
    found = [item for item in vsctl_list(table) if item["name"] == name]
    assert len(found) <= 1, found
    return found[0] if found else None


def as_set(value):
    return sorted(value if isinstance(value, list) else [value])


def controller_targets(bridge_row):
    by_uuid = {item["_uuid"]: item["target"] for item in vsctl_list("Controller")}
    return sorted(by_uuid[uuid] for uuid in as_set(bridge_row["controller"]))


def port_names(bridge):
    return sorted(sh("ovs-vsctl", "list-ports", bridge).stdout.split())


# ---------------------------------------------------------------- fixtures
@pytest.fixture
def ovs(ovs_daemon):
    client = Ovs()
    yield client
    client.close()


class Names:
    """Short unique names (prefix `vc`, at most 15 characters) for one test; `bridge` and `veth`
    record what they name, for `cleanup`."""

    def __init__(self):
        self.prefix = "vc" + uuid.uuid4().hex[:5]
        self.bridges, self.veths = [], []

    def __call__(self, suffix):
        return self.prefix + suffix

    def bridge(self, suffix):
        self.bridges.append(self(suffix))
        return self(suffix)

    def veth(self, suffix):
        """A veth pair made here; its first end's name."""
        ends = (self(suffix + "a"), self(suffix + "b"))
        self.veths.append(ends[0])
        sh("ip", "link", "add", ends[0], "type", "veth", "peer", "name", ends[1])
        return ends[0]

    def cleanup(self):
        for name in self.bridges:
            sh("ovs-vsctl", "--if-exists", "del-br", name, check=False)
        for name in self.veths:
            sh("ip", "link", "del", name, check=False)
        return [item["name"] for table in ("Bridge", "Port", "Interface") for item in vsctl_list(table)
                if item["name"].startswith(self.prefix)]


@pytest.fixture
def names():
    made = Names()
    yield made
    left = made.cleanup()
    assert not left, "left behind: %s" % left


@pytest.fixture
def bridge(ovs, names):
    name = names.bridge("b")
    ovs.add_bridge(name, datapath_type="netdev")
    return name


# ---------------------------------------------------------------- tests
def test_bridge_created_changed_removed(ovs, names):
    name = names.bridge("b")
    ovs.add_bridge(name, datapath_type="netdev", fail_mode="secure", controllers=CONTROLLERS,
                   protocols=["OpenFlow13", "OpenFlow10"], external_ids={"owner": "virtcloud"})
    seen = row("Bridge", name)
    assert seen["datapath_type"] == "netdev" and seen["fail_mode"] == "secure"
    assert as_set(seen["protocols"]) == ["OpenFlow10", "OpenFlow13"]
    assert seen["external_ids"] == {"owner": "virtcloud"}
    assert controller_targets(seen) == sorted(CONTROLLERS)
    # like ovs-vsctl add-br: an internal port and interface of the bridge's own name
    assert port_names(name) == [] and row("Port", name) is not None
    assert row("Interface", name)["type"] == "internal" and row("Interface", name)["error"] == []

    snapshot = ovs.snapshot()["bridges"][name]
    assert snapshot["datapath_type"] == "netdev" and snapshot["fail_mode"] == "secure"
    assert snapshot["controllers"] == sorted(CONTROLLERS)
    assert snapshot["protocols"] == ["OpenFlow10", "OpenFlow13"]
    assert snapshot["external_ids"] == {"owner": "virtcloud"}
    assert snapshot["ports"][name]["interfaces"][name]["type"] == "internal"
    assert snapshot["ports"][name]["interfaces"][name]["ofport"] == 65534

    ovs.set_bridge(name, fail_mode=None, controllers=[CONTROLLERS[1]], protocols=["OpenFlow13"],
                   external_ids={"owner": "virtcloud", "role": "uplink"})
    seen = row("Bridge", name)
    assert seen["fail_mode"] == [] and as_set(seen["protocols"]) == ["OpenFlow13"]
    assert controller_targets(seen) == [CONTROLLERS[1]]
    assert seen["external_ids"] == {"owner": "virtcloud", "role": "uplink"}
    # the replaced Controller row is gone, not left unreferenced
    assert CONTROLLERS[0] not in [item["target"] for item in vsctl_list("Controller")]
    ovs.set_bridge(name, controllers=[], protocols=None)
    seen = row("Bridge", name)
    assert seen["controller"] == [] and seen["protocols"] == []

    ovs.del_bridge(name)
    assert sh("ovs-vsctl", "br-exists", name, check=False).returncode == 2
    assert row("Port", name) is None and row("Interface", name) is None
    assert not set(CONTROLLERS) & {item["target"] for item in vsctl_list("Controller")}


def test_ports_access_trunk_internal_vxlan_changed_removed(ovs, names, bridge):
    access, trunk = names.veth("p"), names.veth("q")
    internal, vxlan = names("i"), names("x")
    ovs.add_port(bridge, access, tag=10)
    ovs.add_port(bridge, trunk, trunks=[30, 20], vlan_mode="trunk")
    ovs.add_port(bridge, internal, type="internal", tag=40)
    ovs.add_port(bridge, vxlan, type="vxlan",
                 options={"remote_ip": "198.18.1.12", "key": 4242, "local_ip": "198.18.1.11"})
    assert port_names(bridge) == sorted([access, trunk, internal, vxlan])
    assert (row("Port", access)["tag"], row("Port", access)["trunks"]) == (10, [])
    assert as_set(row("Port", trunk)["trunks"]) == [20, 30] and row("Port", trunk)["vlan_mode"] == "trunk"
    assert row("Interface", internal)["type"] == "internal" and row("Port", internal)["tag"] == 40
    seen = row("Interface", vxlan)
    assert seen["type"] == "vxlan" and seen["error"] == [] and seen["ofport"] > 0
    assert seen["options"] == {"remote_ip": "198.18.1.12", "key": "4242", "local_ip": "198.18.1.11"}
    for name in (access, trunk, internal):
        assert row("Interface", name)["error"] == [] and row("Interface", name)["ofport"] > 0

    snapshot = ovs.snapshot()
    ports = snapshot["bridges"][bridge]["ports"]
    assert ports[access]["tag"] == 10 and ports[access]["trunks"] == [] and ports[access]["vlan_mode"] is None
    assert ports[trunk]["tag"] is None and ports[trunk]["trunks"] == [20, 30] and ports[trunk]["vlan_mode"] == "trunk"
    assert ports[access]["interfaces"][access]["type"] == ""
    assert ports[vxlan]["interfaces"][vxlan]["options"] == {"remote_ip": "198.18.1.12", "key": "4242",
                                                            "local_ip": "198.18.1.11"}
    assert ports[vxlan]["interfaces"][vxlan]["error"] is None
    assert ports[vxlan]["interfaces"][vxlan]["ofport"] == row("Interface", vxlan)["ofport"]
    for name in (access, trunk, internal, vxlan):
        assert snapshot["ports_of"][name] == bridge and snapshot["interfaces_of"][name] == name

    ovs.set_port(access, trunks=[100, 200])  # the tag stays
    assert (row("Port", access)["tag"], as_set(row("Port", access)["trunks"])) == (10, [100, 200])
    ovs.set_port(access, tag=None, trunks=None, vlan_mode="native-untagged")
    seen = row("Port", access)
    assert (seen["tag"], seen["trunks"], seen["vlan_mode"]) == ([], [], "native-untagged")
    ovs.set_port(trunk, tag=KEEP, trunks=[20], vlan_mode=None)
    assert (row("Port", trunk)["trunks"], row("Port", trunk)["vlan_mode"]) == (20, [])
    ovs.set_interface(vxlan, options={"remote_ip": "198.18.1.13", "key": 4343})
    seen = row("Interface", vxlan)
    assert seen["options"] == {"remote_ip": "198.18.1.13", "key": "4343"} and seen["type"] == "vxlan"

    ovs.del_port(vxlan)
    ovs.del_port(access)
    assert port_names(bridge) == sorted([trunk, internal])
    assert row("Port", vxlan) is None and row("Interface", vxlan) is None and row("Port", access) is None
    assert vxlan not in ovs.snapshot()["ports_of"]


def test_a_port_vswitchd_cannot_open_is_undone(ovs, names, bridge):
    missing = names("n")  # no such network device
    requests = ovs.requests
    with pytest.raises(BackendError) as info:
        ovs.add_port(bridge, missing, tag=5)
    assert "could not open network device %s (No such device)" % missing in info.value.msg
    assert info.value.details["interfaces"] == {missing: "could not open network device %s (No such device)"
                                                % missing}
    assert ovs.requests > requests
    assert row("Port", missing) is None and row("Interface", missing) is None
    assert port_names(bridge) == []


def test_an_interface_change_vswitchd_cannot_apply_is_undone(ovs, names, bridge):
    vxlan = names("x")
    ovs.add_port(bridge, vxlan, type="vxlan", options={"remote_ip": "198.18.1.12", "key": 7})
    with pytest.raises(BackendError, match="could not open network device %s" % vxlan):
        ovs.set_interface(vxlan, type=None, options=None)  # a system device of that name: none exists
    seen = row("Interface", vxlan)
    assert seen["type"] == "vxlan" and seen["options"] == {"remote_ip": "198.18.1.12", "key": "7"}


def test_guards_refuse_without_changing_anything(ovs, names, bridge):
    before = vsctl_list("Bridge"), vsctl_list("Port"), vsctl_list("Interface")
    with pytest.raises(BackendError, match="an OVS bridge named %s exists already" % bridge):
        ovs.add_bridge(bridge, datapath_type="netdev")
    with pytest.raises(BackendError, match="an OVS port named %s exists already" % bridge):
        ovs.add_port(bridge, bridge, type="internal")
    with pytest.raises(BackendError, match="no OVS bridge named %s" % names("z")):
        ovs.add_port(names("z"), names("i"), type="internal")
    with pytest.raises(BackendError, match="no OVS port named %s" % names("i")):
        ovs.del_port(names("i"))
    with pytest.raises(BackendError, match="no OVS port named"):
        ovs.set_port(names("i"), tag=3)
    with pytest.raises(BackendError, match="no OVS bridge named"):
        ovs.set_bridge(names("z"), fail_mode="secure")
    with pytest.raises(BackendError, match="no OVS bridge named"):
        ovs.del_bridge(names("z"))
    with pytest.raises(TypeError):
        ovs.set_bridge(bridge, stp_enable=True)
    assert (vsctl_list("Bridge"), vsctl_list("Port"), vsctl_list("Interface")) == before


def test_snapshot_is_one_request(ovs, bridge):
    fresh = Ovs()
    try:
        snapshot = fresh.snapshot()
        assert fresh.requests == 1
    finally:
        fresh.close()
    assert snapshot["bridges"][bridge]["datapath_type"] == "netdev"
    assert sorted(snapshot["bridges"]) == sorted(item["name"] for item in vsctl_list("Bridge"))
    assert sorted(snapshot["interfaces_of"]) == sorted(item["name"] for item in vsctl_list("Interface"))


def test_unreachable_socket_says_what_to_do(ovs_daemon, tmp_path):
    remote = "unix:%s" % (tmp_path / "db.sock")
    with pytest.raises(BackendUnavailable) as info:
        Ovs(socket=remote)  # connects at once, so a caller can tell "no OVS here" before planning
    assert info.value.msg.startswith("cannot connect to Open vSwitch at %s (ovsdb): " % remote)
    assert info.value.msg.endswith("(for example systemctl start openvswitch-switch) or point ovsdb at a running one")
