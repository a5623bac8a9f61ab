"""net/persist: each format x kind renders the lines that matter, the limits of each format are
InputErrors naming `persist`, changes()/write() never rewrite a file that already holds its content,
removal and clean-up only touch files with virtcloud's marker, detect() judges a host by its files."""

from __future__ import annotations

import configparser
import os
import stat

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.net import persist

BRIDGE = {"kind": "bridge", "name": "vcbr1", "enabled": True, "mtu": 1400, "addresses": ["198.19.0.1/24", "198.19.1.1/24"],
          "ports": ["vcp1", "vcp2"], "stp": True, "forward_delay": 4, "vlan_filtering": False}
VXLAN = {"kind": "vxlan", "name": "vcvx1", "enabled": True, "mtu": 1450, "addresses": None, "vni": 4242,
         "local": "198.18.1.2", "remotes": ["198.18.1.3"], "group": None, "dev": None, "port": 4789,
         "learning": False, "bridge": "vcbr1"}
VLAN = {"kind": "vlan", "name": "vcvl1", "enabled": False, "mtu": 1300, "addresses": ["198.19.2.1/24"],
        "parent": "vcbr1", "vlan_id": 20}
UNMANAGED = {"kind": "bridge", "name": "vcbr2", "enabled": None, "mtu": None, "addresses": None, "ports": None,
             "stp": None, "forward_delay": None, "vlan_filtering": None}


def lines(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def ini(text):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser


def only(files):
    assert len(files) == 1, files
    return next(iter(files.values()))


# ---------------------------------------------------------------- ifupdown
def test_ifupdown_bridge():
    files = persist.render("ifupdown", BRIDGE)
    assert list(files) == ["virtcloud-10-vcbr1"]
    text = files["virtcloud-10-vcbr1"]
    assert text.startswith("# managed by virtcloud.core (host_bridge vcbr1)")
    got = lines(text)
    assert got[1:8] == ["auto vcbr1", "iface vcbr1 inet static", "bridge_ports vcp1 vcp2", "bridge_stp on",
                        "bridge_fd 4", "bridge_vlan_aware no", "mtu 1400"]
    # one stanza per address: ifupdown applies all stanzas of an interface
    assert got[8:] == ["address 198.19.0.1/24", "iface vcbr1 inet static", "address 198.19.1.1/24"]


def test_ifupdown_unmanaged_values_are_left_out():
    assert lines(only(persist.render("ifupdown", UNMANAGED)))[1:] == [
        "auto vcbr2", "iface vcbr2 inet manual", "bridge_ports none"]


def test_ifupdown_vxlan_one_remote_is_the_device_remote():
    got = lines(only(persist.render("ifupdown", VXLAN)))
    assert "pre-up ip link add $IFACE type vxlan id 4242 dstport 4789 local 198.18.1.2 remote 198.18.1.3 nolearning" in got
    assert "up ip link set dev $IFACE master vcbr1" in got
    assert "post-down ip link del dev $IFACE 2>/dev/null || true" in got
    assert "mtu 1450" in got and "iface vcvx1 inet manual" in got
    assert not [line for line in got if "fdb" in line]


def test_ifupdown_vxlan_several_remotes_are_head_end_replication():
    obj = {**VXLAN, "remotes": ["198.18.1.3", "198.18.1.4"], "group": None, "dev": "vcul1", "learning": True}
    got = lines(only(persist.render("ifupdown", obj)))
    assert "pre-up ip link add $IFACE type vxlan id 4242 dstport 4789 local 198.18.1.2 dev vcul1 learning" in got
    assert [line for line in got if "fdb" in line] == [
        "pre-up bridge fdb append 00:00:00:00:00:00 dev $IFACE dst 198.18.1.3",
        "pre-up bridge fdb append 00:00:00:00:00:00 dev $IFACE dst 198.18.1.4"]


def test_ifupdown_vxlan_group():
    obj = {**VXLAN, "remotes": [], "group": "239.1.1.1", "dev": "vcul1"}
    assert "group 239.1.1.1 dev vcul1" in only(persist.render("ifupdown", obj))


def test_ifupdown_vlan_disabled_and_ipv6():
    obj = {**VLAN, "addresses": ["198.19.2.1/24", "2001:db8::1/64"]}
    got = lines(only(persist.render("ifupdown", obj)))
    assert got[1:3] == ["auto vcvl1", "iface vcvl1 inet static"]
    assert ("pre-up ip link show dev $IFACE >/dev/null 2>&1 || ip link add link vcbr1 name $IFACE type vlan id 20"
            in got)
    assert "post-up ip link set dev $IFACE down" in got
    assert got[-4:] == ["iface vcvl1 inet6 static", "address 2001:db8::1/64", "dad-attempts 0", "accept_ra 0"]


def test_ifupdown_file_order_puts_bridges_first():
    names = sorted(list(persist.render("ifupdown", VXLAN)) + list(persist.render("ifupdown", BRIDGE))
                   + list(persist.render("ifupdown", VLAN)))
    assert names == ["virtcloud-10-vcbr1", "virtcloud-20-vcvl1", "virtcloud-30-vcvx1"]


# ---------------------------------------------------------------- systemd-networkd
def test_networkd_bridge_with_ports():
    files = persist.render("networkd", BRIDGE)
    assert sorted(files) == ["50-virtcloud-vcbr1-port-vcp1.network", "50-virtcloud-vcbr1-port-vcp2.network",
                             "50-virtcloud-vcbr1.netdev", "50-virtcloud-vcbr1.network"]
    assert all(text.startswith("# managed by virtcloud.core (host_bridge vcbr1)") for text in files.values())
    netdev = ini(files["50-virtcloud-vcbr1.netdev"])
    assert dict(netdev["NetDev"]) == {"Name": "vcbr1", "Kind": "bridge"}
    assert dict(netdev["Bridge"]) == {"STP": "yes", "ForwardDelaySec": "4", "VLANFiltering": "no"}
    network = files["50-virtcloud-vcbr1.network"]
    assert lines(network)[1:] == ["[Match]", "Name=vcbr1", "[Link]", "MTUBytes=1400", "ActivationPolicy=up",
                                  "[Network]", "Address=198.19.0.1/24", "Address=198.19.1.1/24",
                                  "ConfigureWithoutCarrier=yes"]
    port = ini(files["50-virtcloud-vcbr1-port-vcp2.network"])
    assert dict(port["Match"]) == {"Name": "vcp2"} and dict(port["Network"]) == {"Bridge": "vcbr1"}


def test_networkd_unmanaged_values_are_left_out():
    files = persist.render("networkd", UNMANAGED)
    assert sorted(files) == ["50-virtcloud-vcbr2.netdev", "50-virtcloud-vcbr2.network"]
    assert ini(files["50-virtcloud-vcbr2.netdev"]).sections() == ["NetDev"]
    assert lines(files["50-virtcloud-vcbr2.network"])[1:] == [
        "[Match]", "Name=vcbr2", "[Network]", "ConfigureWithoutCarrier=yes"]


def test_networkd_vxlan_remotes():
    one = persist.render("networkd", VXLAN)
    assert dict(ini(one["50-virtcloud-vcvx1.netdev"])["VXLAN"]) == {
        "VNI": "4242", "Local": "198.18.1.2", "Remote": "198.18.1.3", "DestinationPort": "4789",
        "MacLearning": "no", "Independent": "yes"}
    network = one["50-virtcloud-vcvx1.network"]
    assert "Bridge=vcbr1" in lines(network) and "BridgeFDB" not in network
    several = persist.render("networkd", {**VXLAN, "remotes": ["198.18.1.3", "198.18.1.4"]})
    assert "Remote" not in ini(several["50-virtcloud-vcvx1.netdev"])["VXLAN"]
    assert lines(several["50-virtcloud-vcvx1.network"])[-6:] == [
        "[BridgeFDB]", "MACAddress=00:00:00:00:00:00", "Destination=198.18.1.3",
        "[BridgeFDB]", "MACAddress=00:00:00:00:00:00", "Destination=198.18.1.4"]


@pytest.mark.parametrize("obj,words", [
    (VLAN, "VLAN=vcvl1"),
    ({**VXLAN, "dev": "eth0"}, "VXLAN=vcvx1"),
])
def test_networkd_limits(obj, words):
    with pytest.raises(InputError) as error:
        persist.render("networkd", obj)
    assert error.value.option == "persist" and words in error.value.msg and "networkd cannot express" in error.value.msg


# ---------------------------------------------------------------- NetworkManager keyfiles
def test_nm_keyfile_bridge_with_ports():
    files = persist.render("nm_keyfile", BRIDGE)
    assert sorted(files) == ["virtcloud-vcbr1-port-vcp1.nmconnection", "virtcloud-vcbr1-port-vcp2.nmconnection",
                             "virtcloud-vcbr1.nmconnection"]
    conn = ini(files["virtcloud-vcbr1.nmconnection"])
    assert dict(conn["connection"]) == {"id": "virtcloud-vcbr1", "uuid": persist.connection_uuid("bridge", "vcbr1"),
                                        "type": "bridge", "interface-name": "vcbr1", "autoconnect": "true"}
    assert dict(conn["bridge"]) == {"stp": "true", "forward-delay": "4", "vlan-filtering": "false"}
    assert dict(conn["ethernet"]) == {"mtu": "1400"}
    assert dict(conn["ipv4"]) == {"method": "manual", "address1": "198.19.0.1/24", "address2": "198.19.1.1/24"}
    assert dict(conn["ipv6"]) == {"method": "ignore"}
    port = ini(files["virtcloud-vcbr1-port-vcp1.nmconnection"])
    assert dict(port["connection"]) == {
        "id": "virtcloud-vcbr1-port-vcp1", "uuid": persist.connection_uuid("bridge-port", "vcbr1", "vcp1"),
        "type": "ethernet", "interface-name": "vcp1", "master": "vcbr1", "slave-type": "bridge", "autoconnect": "true"}
    assert port.has_section("ethernet") and port.has_section("bridge-port")    # libnm verify() needs both


def test_nm_keyfile_uuid_is_stable_and_distinct():
    assert persist.connection_uuid("bridge", "vcbr1") == persist.connection_uuid("bridge", "vcbr1")
    assert len({persist.connection_uuid("bridge", "vcbr1"), persist.connection_uuid("vlan", "vcbr1"),
                persist.connection_uuid("bridge", "vcbr2")}) == 3


def test_nm_keyfile_vxlan_and_vlan():
    conn = ini(only(persist.render("nm_keyfile", {**VXLAN, "dev": "vcul1"})))
    assert dict(conn["vxlan"]) == {"id": "4242", "local": "198.18.1.2", "remote": "198.18.1.3", "parent": "vcul1",
                                   "destination-port": "4789", "learning": "false"}
    assert conn["connection"]["master"] == "vcbr1" and conn["connection"]["slave-type"] == "bridge"
    assert not conn.has_section("ipv4") and conn.has_section("bridge-port")   # a port: no IP configuration
    group = ini(only(persist.render("nm_keyfile", {**VXLAN, "remotes": [], "group": "239.1.1.1", "bridge": None})))
    assert group["vxlan"]["remote"] == "239.1.1.1" and group["ipv4"]["method"] == "disabled"
    vlan = ini(only(persist.render("nm_keyfile", VLAN)))
    assert dict(vlan["vlan"]) == {"id": "20", "parent": "vcbr1"}
    assert vlan["connection"]["autoconnect"] == "false" and vlan["ethernet"]["mtu"] == "1300"


@pytest.mark.parametrize("obj,words", [
    ({**VXLAN, "remotes": ["198.18.1.3", "198.18.1.4"]}, "one remote"),
    ({**VXLAN, "remotes": ["198.18.1.3"], "group": "239.1.1.1"}, "one remote"),
    ({**VXLAN, "remotes": [], "group": None}, "needs a remote"),
    ({**VXLAN, "addresses": ["198.19.0.9/24"]}, "no addresses"),
])
def test_nm_keyfile_limits(obj, words):
    with pytest.raises(InputError) as error:
        persist.render("nm_keyfile", obj)
    assert error.value.option == "persist" and words in error.value.msg


def test_unknown_format():
    with pytest.raises(InputError) as error:
        persist.render("netplan", BRIDGE)
    assert error.value.option == "persist" and "ifupdown, networkd, nm_keyfile" in error.value.msg
    assert persist.default_dir("networkd") == "/etc/systemd/network"
    assert persist.default_dir("ifupdown") == "/etc/network/interfaces.d"
    assert persist.default_dir("nm_keyfile") == "/etc/NetworkManager/system-connections"


# ---------------------------------------------------------------- changes / write / removal
@pytest.mark.parametrize("fmt", persist.FORMATS)
@pytest.mark.parametrize("obj", [BRIDGE, {**VXLAN, "bridge": None}], ids=["bridge", "vxlan"])
def test_second_run_changes_nothing(tmp_path, fmt, obj):
    planned = persist.changes(fmt, obj, str(tmp_path))
    assert planned and None not in dict(planned).values()
    persist.write(planned)
    assert sorted(os.listdir(tmp_path)) == sorted(persist.render(fmt, obj))
    mode = 0o600 if fmt == "nm_keyfile" else 0o644
    stamps = {}
    for path, text in planned:
        assert open(path, encoding="utf-8").read() == text
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
        os.utime(path, (1000000000, 1000000000))
        stamps[path] = os.stat(path).st_mtime_ns
    assert persist.changes(fmt, obj, str(tmp_path)) == []
    persist.write(persist.changes(fmt, obj, str(tmp_path)))
    assert {path: os.stat(path).st_mtime_ns for path in stamps} == stamps


def test_changed_value_rewrites_only_that_file_and_removed_port_is_deleted(tmp_path):
    persist.write(persist.changes("networkd", BRIDGE, str(tmp_path)))
    planned = persist.changes("networkd", {**BRIDGE, "mtu": 9000, "ports": ["vcp1"]}, str(tmp_path))
    assert planned == [
        (str(tmp_path / "50-virtcloud-vcbr1.network"),
         persist.render("networkd", {**BRIDGE, "mtu": 9000})["50-virtcloud-vcbr1.network"]),
        (str(tmp_path / "50-virtcloud-vcbr1-port-vcp2.network"), None)]
    persist.write(planned)
    assert not (tmp_path / "50-virtcloud-vcbr1-port-vcp2.network").exists()
    assert "MTUBytes=9000" in (tmp_path / "50-virtcloud-vcbr1.network").read_text()


def test_removal_only_touches_marked_files_of_that_object(tmp_path):
    persist.write(persist.changes("networkd", BRIDGE, str(tmp_path)))
    persist.write(persist.changes("networkd", {**BRIDGE, "name": "vcbr10", "ports": None}, str(tmp_path)))
    # a file with our name pattern but no marker (the admin's), and one naming the object in a comment later on
    (tmp_path / "50-virtcloud-vcbr1-port-vcp9.network").write_text("[Match]\nName=vcp9\n[Network]\nBridge=vcbr1\n")
    (tmp_path / "10-virtcloud-vcbr1-extra.network").write_text(
        "[Match]\nName=x\n# managed by virtcloud.core (host_bridge vcbr1)\n")
    planned = persist.removal("networkd", "vcbr1", str(tmp_path))
    assert sorted(os.path.basename(path) for path in dict(planned)) == [
        "50-virtcloud-vcbr1-port-vcp1.network", "50-virtcloud-vcbr1-port-vcp2.network",
        "50-virtcloud-vcbr1.netdev", "50-virtcloud-vcbr1.network"]
    assert set(dict(planned).values()) == {None}
    persist.write(planned)
    assert sorted(os.listdir(tmp_path)) == ["10-virtcloud-vcbr1-extra.network", "50-virtcloud-vcbr1-port-vcp9.network",
                                            "50-virtcloud-vcbr10.netdev", "50-virtcloud-vcbr10.network"]
    assert persist.removal("networkd", "vcbr1", str(tmp_path)) == []
    assert persist.removal("networkd", "vcbr1", str(tmp_path / "missing")) == []


def test_snapshot_restore_undoes_a_write(tmp_path):
    persist.write(persist.changes("nm_keyfile", BRIDGE, str(tmp_path)))
    before = {name: (tmp_path / name).read_text() for name in os.listdir(tmp_path)}
    planned = persist.changes("nm_keyfile", {**BRIDGE, "stp": False, "ports": ["vcp3"]}, str(tmp_path))
    assert len(planned) == 4        # bridge rewritten, vcp3 added, vcp1 and vcp2 removed
    saved = persist.snapshot(list(dict(planned)))
    persist.write(planned)
    assert sorted(os.listdir(tmp_path)) == ["virtcloud-vcbr1-port-vcp3.nmconnection", "virtcloud-vcbr1.nmconnection"]
    persist.restore(saved)
    assert {name: (tmp_path / name).read_text() for name in os.listdir(tmp_path)} == before
    assert all(stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600 for name in before)


def test_write_leaves_no_temp_file_on_failure(tmp_path, monkeypatch):
    def refuse(*args):
        raise OSError("disk full")
    monkeypatch.setattr(persist.os, "replace", refuse)
    with pytest.raises(OSError):
        persist.write([(str(tmp_path / "virtcloud-10-vcbr1"), "x\n")])
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- detect
@pytest.mark.parametrize("paths,expected,why", [
    (["run/NetworkManager/", "run/systemd/netif/state", "etc/network/interfaces"], "nm_keyfile",
     "NetworkManager is running"),
    (["run/systemd/netif/state", "etc/network/interfaces"], "networkd", "systemd-networkd is running"),
    (["etc/systemd/system/multi-user.target.wants/systemd-networkd.service"], "networkd", "is enabled"),
    (["etc/systemd/network/10-eth0.network", "etc/network/interfaces"], "networkd", "is configured"),
    # the empty directories a package leaves are no sign of a running daemon
    (["run/systemd/netif/links/", "etc/systemd/network/", "etc/network/interfaces"], "ifupdown", "ifupdown is configured"),
    (["run/systemd/netif/links/"], None, "set persist to one of ifupdown, networkd, nm_keyfile"),
])
def test_detect(tmp_path, paths, expected, why):
    for path in paths:
        target = tmp_path / path
        if path.endswith("/"):
            target.mkdir(parents=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")
    fmt, reason = persist.detect(str(tmp_path))
    assert fmt == expected and why in reason
