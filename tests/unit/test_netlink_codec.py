"""The rtnetlink client's codec (attributes, nesting, the link parser), and the kernel 802.1Q path of
host_vlan planned against a recording kernel: this host's kernel has no 8021q, so the integration
tests can only prove its error here (tests/integration/test_host_linux.py); the real kernel path runs in a
guest whose kernel has both (tests/integration/test_host_kernel_guest.py)."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import apply
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.net import netlink
from ansible_collections.virtcloud.core.plugins.module_utils.net.vlan import (
    VlanService, bridge_port_facts, bridge_vlans, trunks)


def test_attributes_round_trip_and_nest():
    data = netlink.u32(1, 7) + netlink.text(3, "br0") + netlink.attr(18, [netlink.text(1, "vxlan")])
    parsed = netlink.attrs(data)
    assert struct.unpack("=I", parsed[1])[0] == 7
    assert parsed[3] == b"br0\0"
    assert netlink.attrs(parsed[18]) == {1: b"vxlan\0"}
    assert len(netlink.text(3, "abc")) % 4 == 0  # padded to 4 bytes


def test_a_vxlan_link_is_read_with_its_unicast_remote():
    data = [netlink.u32(netlink.IFLA_VXLAN_ID, 4242), netlink.addr(netlink.IFLA_VXLAN_GROUP, "198.18.1.12"),
            netlink.addr(netlink.IFLA_VXLAN_LOCAL, "198.18.1.11"), netlink.u32(netlink.IFLA_VXLAN_LINK, 2),
            netlink.attr(netlink.IFLA_VXLAN_PORT, struct.pack("!H", 4789)), netlink.u8(netlink.IFLA_VXLAN_LEARNING, 0)]
    attributes = netlink.attrs(netlink.text(netlink.IFLA_IFNAME, "vx0") + netlink.u32(netlink.IFLA_MTU, 1450)
                               + netlink.attr(netlink.IFLA_LINKINFO, [netlink.text(netlink.IFLA_INFO_KIND, "vxlan"),
                                                                      netlink.attr(netlink.IFLA_INFO_DATA, data)]))
    link = netlink.Kernel._link((0, 1, 9, 1, 0), attributes, {2: "eth0", 9: "vx0"})  # pylint: disable=protected-access
    assert link["kind"] == "vxlan" and link["enabled"] and link["mtu"] == 1450
    assert link["vxlan"] == {"vni": 4242, "local": "198.18.1.11", "group": None, "dev": "eth0", "port": 4789,
                             "learning": False, "remotes": ["198.18.1.12"]}


class RecordingKernel:
    """A kernel with one NIC that records what the service asks of it."""

    def __init__(self):
        self.links = {"eth0": {"name": "eth0", "index": 2, "kind": "device", "enabled": True, "operstate": "up",
                               "mtu": 1500, "mac": "52:54:00:00:00:01", "master": None, "addresses": [], "ports": [],
                               "bridge": None, "vxlan": None, "vlan": None}}
        self.calls = []

    def snapshot(self):
        return self.links

    def index(self, name):
        return self.links[name]["index"]

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


def vlan_service(monkeypatch, **params):
    monkeypatch.setattr(netlink, "vlan_support", lambda: True)
    base = {"state": "present", "type": "linux", "enabled": True, "internal": False, "persist": "none", "force": False}
    service = VlanService({**{k: None for k in VlanService.options}, **base, **params})
    service.kernel = RecordingKernel()
    return service


def test_an_8021q_sub_interface_is_planned_and_made_on_its_parent(monkeypatch):
    service = vlan_service(monkeypatch, name="eth0.20", parent="eth0", vlan_id=20, addresses=["198.18.20.1/24"])
    desired = service.desired()
    plan = service.plan(service.resolve(desired, None), None)
    assert [s.description for s in plan.steps] == ["create vlan eth0.20"]
    assert plan.after["parent"] == "eth0" and plan.after["vlan_id"] == 20
    apply(service, plan)
    create = service.kernel.calls[0]
    assert create[0] == "create" and create[1] == ("eth0.20", "vlan") and create[2]["link"] == "eth0"
    assert netlink.attrs(create[2]["data"][0]) == {netlink.IFLA_VLAN_ID: struct.pack("=H", 20)}
    assert ("address", ("eth0.20", "198.18.20.1/24"), {}) in service.kernel.calls


def test_a_missing_parent_is_named(monkeypatch):
    service = vlan_service(monkeypatch, name="eth9.20", parent="eth9", vlan_id=20)
    with pytest.raises(InputError) as err:
        service.plan(service.resolve(service.desired(), None), None)
    assert err.value.option == "parent"


def test_trunk_ranges():
    assert trunks([10, "20-22", "21"], "trunks") == [10, 20, 21, 22]
    with pytest.raises(InputError, match="goes up"):
        trunks(["30-20"], "trunks")


def test_the_persist_choices_are_the_renderers_formats():
    from ansible_collections.virtcloud.core.plugins.module_utils.net import host, persist  # pylint: disable=import-outside-toplevel
    assert host.PERSIST_FORMATS == persist.FORMATS


PVID, UNTAGGED = netlink.VLAN_PVID, netlink.VLAN_UNTAGGED


@pytest.mark.parametrize("mode, vlan_id, trunks_, vlans", [
    ("access", 10, [], {10: PVID | UNTAGGED}),
    ("trunk", None, [20, 30], {20: 0, 30: 0}),
    ("native-untagged", 10, [20], {10: PVID | UNTAGGED, 20: 0}),
    ("native-tagged", 10, [20], {10: PVID, 20: 0}),
])
def test_bridge_port_modes_map_to_vlan_flags_and_back(mode, vlan_id, trunks_, vlans):
    assert bridge_vlans(mode, vlan_id, trunks_) == vlans
    assert bridge_port_facts(vlans) == {"vlan_id": vlan_id, "trunks": trunks_, "mode": mode}


def test_bridge_vlans_no_mode_describes():
    assert bridge_port_facts({})["mode"] is None
    assert bridge_port_facts({1: PVID | UNTAGGED, 5: UNTAGGED}) == {"vlan_id": 1, "trunks": [5], "mode": None}


class BridgeKernel(RecordingKernel):
    """The recording kernel with what a bridge VLAN request is sent as."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def write(self, kind, body, flags=0):
        self.sent.append((kind, body))


def test_bridge_vlans_are_sent_in_one_af_bridge_message_each_way():
    kernel = BridgeKernel()
    netlink.Kernel.set_bridge_vlans(kernel, "eth0", {10: PVID | UNTAGGED, 20: 0}, remove=[1])
    assert [kind for kind, _body in kernel.sent] == [netlink.RTM_SETLINK, netlink.RTM_DELLINK]
    decoded = []
    for _kind, body in kernel.sent:
        family, _type, index, _flags, _change = netlink.IFINFO.unpack_from(body)
        assert (family, index) == (netlink.AF_BRIDGE, 2)
        spec = netlink.attrs(body[netlink.IFINFO.size:])[netlink.IFLA_AF_SPEC]
        decoded.append([netlink.BRIDGE_VLAN.unpack(v) for k, v in netlink.attr_list(spec)
                        if k == netlink.IFLA_BRIDGE_VLAN_INFO])
    assert decoded == [[(PVID | UNTAGGED, 10), (0, 20)], [(0, 1)]]


def test_attr_list_keeps_repeated_attributes_in_order():
    data = b"".join(netlink.attr(2, struct.pack("=HH", 0, vid)) for vid in (5, 6, 7))
    assert [struct.unpack("=HH", v)[1] for _k, v in netlink.attr_list(data)] == [5, 6, 7]
    assert netlink.attrs(data)[2] == struct.pack("=HH", 0, 7)
