"""Issue 24's multi-host scenarios on the test bed (tests/lib/netbed.py): playbooks reach three hosts
(network namespaces) over real SSH and build a VXLAN overlay between them, two VLANs on an Open vSwitch
switch, and an OpenFlow controller target. Verified through independent paths: `ip -j`, `bridge -j
fdb` inside each namespace, `ovs-vsctl --format=json`, and pings."""

from __future__ import annotations

import json

import pytest

from conftest import sh

VNI = 4242
TUNNEL = "vcvx%d" % VNI
OVERLAY_BRIDGE = "vcov0"

# state=present makes the bridge, then the tunnel into it; state=absent takes them away in the other order
OVERLAY = """
- hosts: netbed
  gather_facts: false
  vars:
    peers: "{{ groups.netbed | difference([inventory_hostname]) | map('extract', hostvars, 'underlay_ip') | list }}"
  tasks:
    - name: The overlay's bridge, with this host's tunnel address
      virtcloud.core.host_bridge:
        name: vcov0
        addresses: ["198.19.0.{{ 10 + bed_index }}/24"]
      when: state == 'present'
    - name: The VXLAN tunnel to the other two hosts, a port of that bridge
      virtcloud.core.host_vxlan:
        name: vcvx4242
        state: "{{ state }}"
        vni: 4242
        local: "{{ underlay_ip }}"
        remotes: "{{ peers }}"
        dev: eth0
        bridge: vcov0
    - name: The bridge goes after its port
      virtcloud.core.host_bridge:
        name: vcov0
        state: absent
      when: state == 'absent'
"""

SWITCH = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The switch, in userspace
      virtcloud.core.host_bridge:
        name: "{{ switch }}"
        type: ovs
        datapath_type: netdev
        state: "{{ state }}"
    - name: Each host's link on an access port of its VLAN
      virtcloud.core.host_vlan:
        name: "{{ item.port }}"
        type: ovs
        bridge: "{{ switch }}"
        vlan_id: "{{ item.vlan }}"
      loop: "{{ access }}"
      when: state == 'present'
"""

CONTROLLED = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A bridge an OpenFlow controller programs
      virtcloud.core.host_bridge:
        name: "{{ switch }}"
        type: ovs
        datapath_type: netdev
        fail_mode: secure
        controllers: ["{{ target }}"]
        protocols: [OpenFlow13]
        state: "{{ state }}"
"""


def overlay_address(host):
    return "198.19.0.%d" % (10 + host.index)


def changed(proc):
    return {host: counts["changed"] for host, counts in proc.recap.items()}


def links(bed, host):
    return {link["ifname"]: link for link in json.loads(bed.run(host, "ip", "-j", "-d", "link").stdout)}


# ---------------------------------------------------------------- OVSDB read back with ovs-vsctl
def _ovs_value(value):
    if isinstance(value, list) and value and value[0] == "set":
        return [_ovs_value(item) for item in value[1]]
    if isinstance(value, list) and value and value[0] == "uuid":
        return value[1]
    return value


def ovs_rows(table, *records):
    out = json.loads(sh("ovs-vsctl", "--format=json", "list", table, *records).stdout)
    return [{heading: _ovs_value(value) for heading, value in zip(out["headings"], row)} for row in out["data"]]


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.fixture
def switch(ovs_daemon, netbed):
    """A name for an OVS bridge in this namespace; the bridge is deleted afterwards (also on failure)."""
    name = netbed.name + "sw"
    yield name
    sh("ovs-vsctl", "--if-exists", "del-br", name, check=False)


# ---------------------------------------------------------------- the scenarios
def test_vxlan_overlay_between_three_hosts(netbed):
    hosts = netbed.hosts
    applied = netbed.play(OVERLAY, extra_vars={"state": "present"})
    assert changed(applied) == {"h1": 2, "h2": 2, "h3": 2}, applied.stdout

    for host in hosts:
        found = links(netbed, host)
        tunnel = found[TUNNEL]
        info = tunnel["linkinfo"]["info_data"]
        assert tunnel["linkinfo"]["info_kind"] == "vxlan"
        assert (info["id"], info["local"], info["link"], info["port"]) == (VNI, host.address, "eth0", 4789)
        assert tunnel["master"] == OVERLAY_BRIDGE and "UP" in tunnel["flags"]
        assert found[OVERLAY_BRIDGE]["linkinfo"]["info_kind"] == "bridge"
        addresses = json.loads(netbed.run(host, "ip", "-j", "-4", "addr", "show", "dev", OVERLAY_BRIDGE).stdout)
        assert [a["local"] for a in addresses[0]["addr_info"]] == [overlay_address(host)]
        # head-end replication: one flood entry per peer
        fdb = json.loads(netbed.run(host, "bridge", "-j", "fdb", "show", "dev", TUNNEL).stdout)
        flood = sorted(entry["dst"] for entry in fdb if entry["mac"] == "00:00:00:00:00:00")
        assert flood == sorted(peer.address for peer in hosts if peer is not host)

    assert netbed.ping("h1", overlay_address(hosts[1]))
    assert netbed.ping("h1", overlay_address(hosts[2]))
    assert netbed.ping("h2", overlay_address(hosts[2]))
    assert netbed.ping("h3", overlay_address(hosts[0]))

    again = netbed.play(OVERLAY, extra_vars={"state": "present"})
    assert changed(again) == {"h1": 0, "h2": 0, "h3": 0}, again.stdout

    removed = netbed.play(OVERLAY, extra_vars={"state": "absent"})
    assert changed(removed) == {"h1": 2, "h2": 2, "h3": 2}, removed.stdout
    for host in hosts:
        assert sorted(links(netbed, host)) == ["eth0", "lo"]
    assert not netbed.ping("h1", overlay_address(hosts[1]), timeout=1)
    assert changed(netbed.play(OVERLAY, extra_vars={"state": "absent"})) == {"h1": 0, "h2": 0, "h3": 0}


def test_two_vlans_on_open_vswitch(netbed, switch):
    """h1 and h2 in VLAN 10, h3 in VLAN 20, each on an access port of one OVS switch through a second
    link (eth1, 198.18.2.(10+i)): h1 reaches h2, and h3 is reached by neither."""
    access = []
    for host, vlan in zip(netbed.hosts, (10, 10, 20)):
        port = netbed.add_link(host, "%so%d" % (netbed.name, host.index), "198.18.2.%d/24" % (10 + host.index))
        access.append({"port": port, "vlan": vlan})
    extra = {"switch": switch, "access": access, "state": "present"}
    applied = netbed.play(SWITCH, extra_vars=extra)
    assert changed(applied) == {"localhost": 2}, applied.stdout  # the loop is one task

    [bridge] = ovs_rows("Bridge", switch)
    assert bridge["datapath_type"] == "netdev"
    ports = {row["name"]: row for row in ovs_rows("Port") if row["_uuid"] in as_list(bridge["ports"])}
    assert {item["port"]: ports[item["port"]]["tag"] for item in access} == {item["port"]: item["vlan"] for item in access}

    assert netbed.ping("h1", "198.18.2.12", count=2)
    assert netbed.ping("h2", "198.18.2.11")
    assert not netbed.ping("h1", "198.18.2.13", timeout=1)
    assert not netbed.ping("h3", "198.18.2.12", timeout=1)

    again = netbed.play(SWITCH, extra_vars=extra)
    assert changed(again) == {"localhost": 0}, again.stdout

    netbed.play(SWITCH, extra_vars={**extra, "state": "absent"})
    assert sh("ovs-vsctl", "br-exists", switch, check=False).returncode == 2


def test_openflow_controller_target(netbed, switch):
    """The controller target and the bridge's OpenFlow settings, read back from OVSDB. Nothing listens
    there (the bed's own bridge address): a target is configuration, and fail_mode secure is what the
    bridge does meanwhile."""
    target = "tcp:%s:6653" % netbed.gateway
    extra = {"switch": switch, "target": target, "state": "present"}
    applied = netbed.play(CONTROLLED, extra_vars=extra)
    assert changed(applied) == {"localhost": 1}, applied.stdout

    [bridge] = ovs_rows("Bridge", switch)
    assert (bridge["fail_mode"], as_list(bridge["protocols"])) == ("secure", ["OpenFlow13"])
    targets = {row["_uuid"]: row["target"] for row in ovs_rows("Controller")}
    assert [targets[uuid] for uuid in as_list(bridge["controller"])] == [target]

    assert changed(netbed.play(CONTROLLED, extra_vars=extra)) == {"localhost": 0}

    netbed.play(CONTROLLED, extra_vars={**extra, "state": "absent"})
    assert sh("ovs-vsctl", "br-exists", switch, check=False).returncode == 2
    assert target not in [row["target"] for row in ovs_rows("Controller")]
