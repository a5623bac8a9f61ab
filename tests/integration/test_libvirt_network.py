"""virtcloud.core.libvirt_network / network_info against the real libvirtd (qemu:///system).

Every address is in 198.18.0.0/15; every object is named vct*, and removed in finalizers."""

from __future__ import annotations

import os
import time

import pytest
from lxml import etree

from conftest import converge, run_module, sh
from lib.guest import guest_assets

pytestmark = pytest.mark.usefixtures("libvirt_daemon")


@pytest.fixture
def networks():
    """Names of networks the test makes; each is stopped and undefined afterwards, also on failure."""
    names = []
    yield names
    for name in names:
        sh("virsh", "-q", "net-destroy", name, check=False)
        sh("virsh", "-q", "net-undefine", name, check=False)


def dumpxml(name, inactive=False):
    argv = ["virsh", "net-dumpxml", name] + (["--inactive"] if inactive else [])
    return etree.fromstring(sh(*argv).stdout.encode())


def dnsmasq_pid(name):
    with open("/run/libvirt/network/%s.pid" % name) as pidfile:
        pid = int(pidfile.read().strip())
    os.kill(pid, 0)  # raises when no such process
    return pid


def test_nat_network_with_dhcp_and_live_host_entry(networks, unique):
    name = unique
    networks.append(name)
    spec = dict(name=name, forward="nat", address="198.18.201.1/24",
                dhcp_ranges=[{"start": "198.18.201.100", "end": "198.18.201.150"}],
                dns_hosts=[{"ip": "198.18.201.2", "hostnames": ["gw2"]}], autostart=False)
    assert sh("virsh", "net-info", name, check=False).returncode != 0  # check mode made nothing
    result = converge("libvirt_network", **spec)
    net = result["network"]
    assert net["uuid"] and net["bridge"] and net["mac"] and net["active"]

    xml = dumpxml(name)
    assert xml.find("forward").get("mode") == "nat"
    assert xml.find("ip").get("address") == "198.18.201.1" and xml.find("ip").get("prefix") == "24"
    assert xml.find("ip/dhcp/range").get("start") == "198.18.201.100"
    assert xml.find("dns/host/hostname").text == "gw2"
    pid = dnsmasq_pid(name)

    # a static DHCP host goes in live: same dnsmasq, network stays up, no restart asked for
    host = {"mac": "52:54:00:c8:00:05", "ip": "198.18.201.5", "name": "fixed"}
    check = run_module("libvirt_network", check=True, dhcp_hosts=[host], **spec)
    assert check["changed"] and not dumpxml(name).findall("ip/dhcp/host")
    live = run_module("libvirt_network", dhcp_hosts=[host], **spec)
    assert live["changed"] and "restart_required" not in live, live
    assert live["actions"] == ["add dhcp_hosts entry fixed to network %s" % name]
    assert not run_module("libvirt_network", dhcp_hosts=[host], **spec)["changed"]
    assert dnsmasq_pid(name) == pid
    assert sh("virsh", "net-info", name).stdout.split("Active:")[1].split()[0] == "yes"
    for inactive in (False, True):
        entry = dumpxml(name, inactive).find("ip/dhcp/host")
        assert (entry.get("mac"), entry.get("ip"), entry.get("name")) == (host["mac"], host["ip"], "fixed")
    # libvirt hands the entry to the running dnsmasq through its hosts file
    with open("/var/lib/libvirt/dnsmasq/%s.hostsfile" % name) as hostsfile:
        assert "198.18.201.5" in hostsfile.read()

    info = run_module("libvirt_network_info", name=name)
    assert not info["changed"] and info["networks"][0]["dhcp_hosts"] == [host]
    assert info["networks"][0]["leases"] == []

    # MTU cannot change live: the definition changes, the running network waits for a restart
    mtu = run_module("libvirt_network", mtu=1400, dhcp_hosts=[host], **spec)
    assert mtu["changed"] and mtu["restart_required"] and mtu["network"]["restart_pending"]
    assert dumpxml(name, inactive=True).find("mtu").get("size") == "1400"
    assert dumpxml(name).find("mtu") is None and dnsmasq_pid(name) == pid
    pending = run_module("libvirt_network", mtu=1400, **spec)
    assert not pending["changed"] and pending["restart_required"]
    restarted = run_module("libvirt_network", mtu=1400, restart=True, **spec)
    assert restarted["actions"] == ["restart network %s" % name]
    assert dumpxml(name).find("mtu").get("size") == "1400" and dnsmasq_pid(name) != pid
    assert not run_module("libvirt_network", mtu=1400, restart=True, **spec)["changed"]

    removed = run_module("libvirt_network", name=name, state="absent")
    assert removed["changed"] and sh("virsh", "net-info", name, check=False).returncode != 0
    assert not run_module("libvirt_network", name=name, state="absent")["changed"]


def test_entry_names_libvirt_cannot_store_are_refused_first(networks, unique):
    """libvirt writes DHCP host and port group names into its XML unescaped, then cannot read it
    back: the define (or live update) half-happens and fails. Such names are refused up front."""
    networks.append(unique)
    spec = dict(name=unique, forward="isolated", address="198.18.203.1/24")
    cases = [
        (dict(dhcp_hosts=[{"mac": "52:54:00:c8:00:07", "ip": "198.18.203.7", "name": 'db&"7"'}]), "dhcp_hosts"),
        (dict(dns_hosts=[{"ip": "198.18.203.8", "hostnames": ["<gw>"]}]), "dns_hosts"),
        (dict(portgroups=[{"name": "<ops>&dev", "default": True}]), "portgroups"),
    ]
    for extra, option in cases:
        for check in (True, False):
            result = run_module("libvirt_network", check=check, **spec, **extra)
            assert result.get("failed") and result["option"] == option, result
        assert sh("virsh", "net-info", unique, check=False).returncode != 0
    # what libvirt does store: a host name with dots and a port group name with a space
    host = {"mac": "52:54:00:c8:00:07", "ip": "198.18.203.7", "name": "db-7.lab"}
    converge("libvirt_network", dhcp_hosts=[host], portgroups=[{"name": "ops dev", "default": True}], **spec)
    assert dumpxml(unique).find("portgroup").get("name") == "ops dev"
    assert dumpxml(unique).find("ip/dhcp/host").get("name") == "db-7.lab"


def test_isolated_network(networks, unique):
    networks.append(unique)
    result = converge("libvirt_network", name=unique, forward="isolated", address="198.18.202.1/24",
                      dhcp_ranges=[{"start": "198.18.202.10", "end": "198.18.202.20"}])
    assert result["network"]["forward"] == "isolated"
    xml = dumpxml(unique)
    assert xml.find("forward") is None and xml.find("ip").get("address") == "198.18.202.1"
    dnsmasq_pid(unique)
    # stopping is a change; the definition stays
    stopped = run_module("libvirt_network", name=unique, active=False)
    assert stopped["actions"] == ["stop network %s" % unique]
    assert "Active:         no" in sh("virsh", "net-info", unique).stdout


@pytest.mark.parametrize("mode, third", [("route", 203), ("open", 204)])
def test_routed_and_open_networks(networks, unique, mode, third):
    networks.append(unique)
    converge("libvirt_network", name=unique, forward=mode, address="198.18.%d.1/24" % third)
    assert dumpxml(unique).find("forward").get("mode") == mode


@pytest.fixture
def ovs_bridge(ovs_daemon, unique):
    bridge = "vb" + unique[3:]
    sh("ovs-vsctl", "add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev")
    yield bridge
    sh("ovs-vsctl", "--if-exists", "del-br", bridge, check=False)


def test_openvswitch_bridge_with_vlan_portgroups(networks, unique, ovs_bridge):
    networks.append(unique)
    groups = [{"name": "vlan10", "vlan": 10, "default": True}, {"name": "trunk", "trunk": [10, 20]}]
    spec = dict(name=unique, forward="bridge", bridge=ovs_bridge, openvswitch=True)
    result = converge("libvirt_network", portgroups=groups, **spec)
    assert result["network"]["openvswitch"] and result["network"]["bridge"] == ovs_bridge
    xml = dumpxml(unique)
    assert xml.find("virtualport").get("type") == "openvswitch"
    tags = {pg.get("name"): [t.get("id") for t in pg.findall("vlan/tag")] for pg in xml.findall("portgroup")}
    assert tags == {"vlan10": ["10"], "trunk": ["10", "20"]}

    # port groups change live on the running network
    changed = run_module("libvirt_network", portgroups=[{"name": "vlan10", "vlan": 30, "default": True}], **spec)
    assert changed["changed"] and "restart_required" not in changed
    assert [t.get("id") for t in dumpxml(unique).findall("portgroup/vlan/tag")] == ["30"]
    assert not run_module("libvirt_network", portgroups=[{"name": "vlan10", "vlan": 30, "default": True}], **spec)["changed"]


@pytest.fixture
def linux_bridge(unique):
    bridge = "vl" + unique[3:]
    sh("ip", "link", "add", bridge, "type", "bridge")
    yield bridge
    sh("ip", "link", "del", bridge, check=False)


def test_bridged_onto_a_host_bridge_and_rollback(networks, unique, linux_bridge):
    networks.append(unique)
    result = converge("libvirt_network", name=unique, forward="bridge", bridge=linux_bridge)
    assert result["network"]["forward"] == "bridge" and not result["network"]["openvswitch"]
    xml = dumpxml(unique)
    assert xml.find("forward").get("mode") == "bridge" and xml.find("bridge").get("name") == linux_bridge
    assert xml.find("ip") is None
    assert run_module("libvirt_network", name=unique, state="absent")["changed"]

    # a NAT network that wants to create a bridge that already exists: libvirt accepts the
    # definition but cannot start it; the run rolls the definition back, leaving nothing behind
    other = unique + "x"
    networks.append(other)
    failed = run_module("libvirt_network", name=other, forward="nat", address="198.18.208.1/24", bridge=linux_bridge)
    assert failed["failed"] and "rolled back: define network %s" % other in failed["msg"], failed
    assert sh("virsh", "net-info", other, check=False).returncode != 0


def test_bad_input_touches_nothing(networks, unique):
    networks.append(unique)
    converge("libvirt_network", name=unique, forward="isolated", address="198.18.205.1/24")
    other = unique + "b"
    networks.append(other)

    overlap = run_module("libvirt_network", name=other, address="198.18.205.129/25")
    assert overlap["failed"] and overlap["option"] == "address"
    assert "overlaps" in overlap["msg"] and unique in overlap["msg"]
    assert sh("virsh", "net-info", other, check=False).returncode != 0

    bridge = run_module("libvirt_network", name=other, forward="bridge", bridge="vctnosuchbr0")
    assert bridge["failed"] and bridge["option"] == "bridge" and "does not exist" in bridge["msg"]
    assert sh("virsh", "net-info", other, check=False).returncode != 0

    outside = run_module("libvirt_network", name=other, address="198.18.206.1/24",
                         dhcp_ranges=[{"start": "198.18.207.1", "end": "198.18.207.9"}])
    assert outside["failed"] and outside["option"] == "dhcp_ranges"


# ---------------------------------------------------------------- a dual-homed guest
def test_dual_homed_guest_gets_an_address_on_each_network(networks, unique, tmp_path):
    nat, iso = unique + "n", unique + "i"
    networks.extend([nat, iso])
    macs = {nat: "52:54:00:c6:01:0a", iso: "52:54:00:c6:02:0a"}
    converge("libvirt_network", name=nat, forward="nat", address="198.18.210.1/24",
             dhcp_ranges=[{"start": "198.18.210.100", "end": "198.18.210.199"}],
             dhcp_hosts=[{"mac": macs[nat], "ip": "198.18.210.10", "name": "dual"}])
    converge("libvirt_network", name=iso, forward="isolated", address="198.18.211.1/24",
             dhcp_ranges=[{"start": "198.18.211.100", "end": "198.18.211.199"}])
    kernel, initrd = guest_assets()
    console = str(tmp_path / "console.log")
    guest = unique + "g"
    nics = "".join("<interface type='network'><source network='%s'/><mac address='%s'/>"
                   "<model type='virtio'/></interface>" % (net, macs[net]) for net in (nat, iso))
    xml = tmp_path / "guest.xml"
    xml.write_text("""<domain type='qemu'><name>%s</name><memory unit='MiB'>192</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>%s</kernel><initrd>%s</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline></os>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>
  <devices>%s<serial type='file'><source path='%s'/><target port='0'/></serial></devices>
</domain>""" % (guest, kernel, initrd, nics, console))
    try:
        sh("virsh", "create", str(xml))
        deadline = time.monotonic() + 240
        text = ""
        while time.monotonic() < deadline and not ("VCT-LEASE eth0" in text and "VCT-LEASE eth1" in text):
            time.sleep(1)
            text = open(console, errors="replace").read() if os.path.exists(console) else ""
    finally:
        sh("virsh", "-q", "destroy", guest, check=False)
    assert "VCT-LEASE eth0 198.18.210.10" in text, text[-3000:]  # the static DHCP host entry
    lease = [line.split() for line in text.splitlines() if line.startswith("VCT-LEASE eth1 ")]
    assert lease and lease[0][2].startswith("198.18.211."), text[-3000:]
    # libvirt's own view of the leases, through network_info
    leases = {n["name"]: n["leases"] for n in run_module("libvirt_network_info")["networks"] if n["name"] in (nat, iso)}
    assert [(x["mac"], x["ip"]) for x in leases[nat]] == [(macs[nat], "198.18.210.10")]
    assert [(x["mac"], x["ip"]) for x in leases[iso]] == [(macs[iso], lease[0][2])]
