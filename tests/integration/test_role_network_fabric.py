"""The network_fabric role's scenario (extensions/molecule/network_fabric, run here without molecule, in the order
its molecule.yml gives) on the three-host test bed (tests/lib/netbed.py): a check-mode run that makes nothing ->
converge -> idempotence (changed=0 on every host) -> verify (its own verify.yml) -> independent checks inside each
namespace (`ip -j -d link`, `bridge -j fdb`, pings that must and must not be answered) -> h3 leaves group fabric
(the others drop their flood entries to it, h3 its tunnel) -> cleanup (nothing but eth0 and lo is left).

The role's Open vSwitch side (a switch with VLAN access ports, a controller target, a mesh of per-peer VXLAN ports
and the removal of the port to a peer that left the group) runs on this namespace, where Open vSwitch is: the bed's
namespaces share its one database."""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from conftest import ROOT, sh
from test_host_overlay import as_list, ovs_rows  # OVSDB read back with ovs-vsctl

SCENARIO = os.path.join(ROOT, "extensions", "molecule", "network_fabric")
MESHES = {"vx1001": ("vcfa", "198.19.10.%d"), "vxb": ("vcfb", "198.19.11.%d")}


def scenario(bed, step, inventory=os.path.join(SCENARIO, "inventory", "groups.yml"), check_mode=False, **extra_vars):
    proc = bed.play(os.path.join(SCENARIO, step + ".yml"), extra_vars=extra_vars,
                    extra_args=["-i", inventory] + (["--check"] if check_mode else []))
    return {host: counts["changed"] for host, counts in proc.recap.items()}


def groups(inventory=os.path.join(SCENARIO, "inventory", "groups.yml")):
    with open(inventory) as handle:
        return yaml.safe_load(handle)["all"]["children"]


def links(bed, host):
    return {link["ifname"]: link for link in json.loads(bed.run(host, "ip", "-j", "-d", "link").stdout)}


def flood(bed, host, device):
    """The peers a kernel VXLAN device floods to (its all-zero forwarding entries)."""
    fdb = json.loads(bed.run(host, "bridge", "-j", "fdb", "show", "dev", device).stdout)
    return sorted(entry["dst"] for entry in fdb if entry["mac"] == "00:00:00:00:00:00")


def check_mesh(bed, device, vnis):
    """`vnis`: {host name: VNI} of the hosts in the mesh. Each of them has the device, in that VNI, a port of the
    mesh's bridge, flooding to exactly the other members' underlay addresses; the other hosts have no such device."""
    bridge, _address = MESHES[device]
    for host in bed.hosts:
        found = links(bed, host)
        if host.name not in vnis:
            assert device not in found, (host, found[device])
            continue
        info = found[device]["linkinfo"]["info_data"]
        assert found[device]["linkinfo"]["info_kind"] == "vxlan"
        assert (info["id"], info["local"], info["link"], info["port"]) == (vnis[host.name], host.address, "eth0", 4789)
        assert found[device]["master"] == bridge and "UP" in found[device]["flags"]
        peers = sorted(bed.address(name) for name in vnis if name != host.name)
        assert flood(bed, host, device) == peers, host


def answered(bed, device, pairs):
    """{(a, b): whether b's address on the mesh's bridge answers a's ping}"""
    _bridge, address = MESHES[device]
    return {(a, b): bed.ping(a, address % (10 + bed.host(b).index), timeout=1) for a, b in pairs}


def test_fabric_scenario(netbed, tmp_path):
    try:
        # check mode on the fresh hosts: the bridges and tunnels are predicted (the tunnels without the bridges
        # this run would create), nothing is made
        assert scenario(netbed, "converge", check_mode=True) == {"h1": 2, "h2": 2, "h3": 2}
        assert all(sorted(links(netbed, host)) == ["eth0", "lo"] for host in netbed.hosts)

        # converge, idempotence
        assert scenario(netbed, "converge") == {"h1": 2, "h2": 2, "h3": 2}  # the bridges task, the tunnels task
        assert scenario(netbed, "converge") == {"h1": 0, "h2": 0, "h3": 0}

        # verify: the scenario's own checks, then independently
        scenario(netbed, "verify")
        check_mesh(netbed, "vx1001", {"h1": 1001, "h2": 1001, "h3": 1001})
        check_mesh(netbed, "vxb", {"h1": 1002, "h2": 1002, "h3": 1003})
        every_pair = [(a, b) for a in ("h1", "h2", "h3") for b in ("h1", "h2", "h3") if a != b]
        assert all(answered(netbed, "vx1001", every_pair).values())
        # mesh B: h3 tunnels to h1 and h2 like they do to it, but in another VNI - its frames are dropped
        assert answered(netbed, "vxb", [("h1", "h2"), ("h2", "h1"), ("h1", "h3"), ("h3", "h2")]) == {
            ("h1", "h2"): True, ("h2", "h1"): True, ("h1", "h3"): False, ("h3", "h2"): False}

        # h3 leaves group fabric: h1 and h2 drop their flood entries to it, h3 its tunnel of mesh A
        children = groups()
        del children["fabric"]["hosts"]["h3"]
        shrunk = tmp_path / "inventory.yml"
        shrunk.write_text(yaml.safe_dump({"all": {"children": children}}))
        assert scenario(netbed, "converge", inventory=str(shrunk)) == {"h1": 1, "h2": 1, "h3": 1}
        check_mesh(netbed, "vx1001", {"h1": 1001, "h2": 1001})
        assert answered(netbed, "vx1001", [("h1", "h2"), ("h1", "h3")]) == {("h1", "h2"): True, ("h1", "h3"): False}
    finally:
        # cleanup step of the scenario: tunnels, then bridges
        cleanup = scenario(netbed, "cleanup")
    assert cleanup == {"h1": 2, "h2": 2, "h3": 2}
    for host in netbed.hosts:
        assert sorted(links(netbed, host)) == ["eth0", "lo"]


# ---------------------------------------------------------------- the Open vSwitch side, on this namespace
def changed_tasks(stdout):
    """Names of the tasks (without the role's prefix and the mesh's name) that reported a change."""
    found = []
    for block in stdout.split("TASK [")[1:]:
        name = block.split("]", 1)[0].split(" : ", 1)[-1]
        if re.search(r"^changed: ", block, re.M):
            found.append(re.sub(r" of mesh \S+$", "", name))
    return found


OVS_PLAY = """
- name: The fabric's Open vSwitch side on this host
  hosts: localhost
  gather_facts: false
  roles:
    - role: virtcloud.core.network_fabric
"""


@pytest.fixture
def switches(ovs_daemon, netbed):
    """Names of two OVS bridges here, deleted afterwards (also on failure)."""
    names = {"switch": netbed.name + "sw", "mesh": netbed.name + "mx"}
    yield names
    for name in names.values():
        sh("ovs-vsctl", "--if-exists", "del-br", name, check=False)


def test_open_vswitch_fabric(netbed, switches, tmp_path):
    """A switch with h1 and h2 in VLAN 10, h3 in VLAN 20 (each through a second link, 198.18.2.(10+i)), standalone;
    a second bridge under the fabric's controller (fail mode secure) carrying a mesh of VXLAN ports to the other
    members of group vcmesh (two peers never contacted: the play runs on localhost only)."""
    access = []
    for host, vlan in zip(netbed.hosts, (10, 10, 20)):
        port = netbed.add_link(host, "%sq%d" % (netbed.name, host.index), "198.18.2.%d/24" % (10 + host.index))
        access.append({"name": port, "bridge": switches["switch"], "vlan_id": vlan})
    peers = {"vcfp2": "198.18.3.2", "vcfp3": "198.18.3.3"}
    target = "tcp:%s:6653" % netbed.gateway
    extra = {
        "network_fabric_bridges": [
            {"name": switches["switch"], "type": "ovs", "datapath_type": "netdev", "fail_mode": "standalone",
             "controllers": []},
            {"name": switches["mesh"], "type": "ovs", "datapath_type": "netdev"}],
        "network_fabric_controller": {"targets": [target], "fail_mode": "secure", "protocols": ["OpenFlow13"]},
        "network_fabric_vlans": access,
        "network_fabric_vxlans": [{"group": "vcmesh", "vni": 2001, "type": "ovs", "bridge": switches["mesh"],
                                   "name": "vx" + netbed.name[-6:]}]}

    def play(members, **overrides):
        inventory = tmp_path / "mesh.yml"
        hosts = {name: {"network_fabric_underlay_ip": address} for name, address in peers.items() if name in members}
        hosts["localhost"] = {"network_fabric_underlay_ip": "198.18.3.1"}
        inventory.write_text(yaml.safe_dump({"all": {"children": {"vcmesh": {"hosts": hosts}}}}))
        proc = netbed.play(OVS_PLAY, extra_vars={**extra, **overrides},
                           extra_args=["-i", os.path.join(ROOT, "inventory", "localhost.yml"), "-i", str(inventory)])
        return changed_tasks(proc.stdout)

    def mesh_ports():
        [bridge] = ovs_rows("Bridge", switches["mesh"])
        ports = [row["name"] for row in ovs_rows("Port") if row["_uuid"] in as_list(bridge["ports"])]
        interfaces = {row["name"]: row for row in ovs_rows("Interface") if row["name"] in ports}
        return {name: (row["type"], dict(row["options"][1]) if isinstance(row["options"], list) else row["options"])
                for name, row in interfaces.items() if name != switches["mesh"]}

    assert play(peers) == ["Bridges of this host", "VLANs of this host", "Open vSwitch VXLAN port to each peer"]

    [switch] = ovs_rows("Bridge", switches["switch"])
    ports = {row["name"]: row["tag"] for row in ovs_rows("Port") if row["_uuid"] in as_list(switch["ports"])}
    assert {item["name"]: ports[item["name"]] for item in access} == {item["name"]: item["vlan_id"] for item in access}
    assert (switch["fail_mode"], as_list(switch["controller"])) == ("standalone", [])
    [mesh] = ovs_rows("Bridge", switches["mesh"])
    assert (mesh["fail_mode"], as_list(mesh["protocols"])) == ("secure", ["OpenFlow13"])
    targets = {row["_uuid"]: row["target"] for row in ovs_rows("Controller")}
    assert [targets[uuid] for uuid in as_list(mesh["controller"])] == [target]
    found = mesh_ports()
    assert sorted(options["remote_ip"] for _kind, options in found.values()) == sorted(peers.values())
    assert {(kind, options["key"], options["local_ip"]) for kind, options in found.values()} == {
        ("vxlan", "2001", "198.18.3.1")}

    assert netbed.ping("h1", "198.18.2.12")
    assert not netbed.ping("h1", "198.18.2.13", timeout=1)

    # vcfp3 leaves the group: its port goes, and nothing else changes (the rerun of everything else is a no-op)
    assert play(["vcfp2"]) == ["Remove the ports to hosts no longer in the group"]
    assert [options["remote_ip"] for _kind, options in mesh_ports().values()] == [peers["vcfp2"]]

    play(peers, network_fabric_state="absent")
    for name in switches.values():
        assert sh("ovs-vsctl", "br-exists", name, check=False).returncode == 2
    assert target not in [row["target"] for row in ovs_rows("Controller")]
