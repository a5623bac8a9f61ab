"""common/validate.py: the address, name and number checks every backend shares."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate as v
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError


def refused(check, value, *args, **kwargs):
    """The InputError `check` raises for `value`, with its option and message checked."""
    with pytest.raises(InputError) as err:
        check(value, "opt", *args, **kwargs)
    assert err.value.option == "opt" and err.value.msg.startswith("opt: ")
    assert "e.g. " in err.value.msg or "like " in err.value.msg, err.value.msg  # shows a valid example
    return err.value.msg


@pytest.mark.parametrize("check", [v.mac_address, v.ip_address, v.ip_interface, v.ip_network, v.hostname,
                                   v.interface_name, v.vlan_id, v.vxlan_vni, v.mtu, v.port, v.port_range])
def test_none_means_not_set(check):
    assert check(None, "opt") is None


# ---------------------------------------------------------------- MAC
@pytest.mark.parametrize("value, expected", [
    ("52:54:00:12:34:56", "52:54:00:12:34:56"),
    ("52:54:00:AB:cD:EF", "52:54:00:ab:cd:ef"),
    ("52-54-00-AB-CD-EF", "52:54:00:ab:cd:ef"),
    ("01:00:5e:00:00:01", "01:00:5e:00:00:01"),  # multicast is a MAC address too
])
def test_mac_normalised(value, expected):
    assert v.mac_address(value, "mac") == expected


@pytest.mark.parametrize("value", ["zz", "", "52:54:00:12:34", "52:54:00:12:34:56:78", "52:54:00-12:34:56",
                                   "5254.0012.3456", "52:54:00:12:34:5g", "52:54:00:12:34:56\n", 525400123456])
def test_mac_refused(value):
    assert "like 52:54:00:12:34:56" in refused(v.mac_address, value)


def test_mac_unicast():
    assert v.mac_address("02:00:00:00:00:01", "mac", unicast=True) == "02:00:00:00:00:01"
    assert "multicast" in refused(v.mac_address, "01:00:5E:00:00:01", unicast=True)
    assert "multicast" in refused(v.mac_address, "ff:ff:ff:ff:ff:ff", unicast=True)


# ---------------------------------------------------------------- IP
@pytest.mark.parametrize("value, version, expected", [
    ("198.18.0.1", None, "198.18.0.1"),
    ("198.18.0.1", 4, "198.18.0.1"),
    (" 198.18.0.1 ", 4, "198.18.0.1"),
    ("2001:DB8:0:0:0:0:0:1", None, "2001:db8::1"),
    ("2001:db8::1", 6, "2001:db8::1"),
    ("::", 6, "::"),
    ("::ffff:198.18.0.1", 6, "::ffff:c612:1"),
    ("fe80::1%eth0", 6, "fe80::1%eth0"),
])
def test_ip_address(value, version, expected):
    assert v.ip_address(value, "ip", version=version) == expected


@pytest.mark.parametrize("value, version, fragment", [
    ("198.18.0.256", None, "not an IP address"),
    ("198.18.0", 4, "not an IPv4 address"),
    ("2001:db8::1", 4, "e.g. 198.18.0.1"),
    ("198.18.0.1", 6, "e.g. 2001:db8::1"),
    ("[2001:db8::1]", 6, "not an IPv6 address"),
    ("2001:db8:::1", 6, "not an IPv6 address"),
    ("198.18.0.1/24", 4, "not an IPv4 address"),
    (3323068417, None, "not an IP address"),  # ipaddress would take an int; an option value must be text
    (True, 4, "not an IPv4 address"),
])
def test_ip_address_refused(value, version, fragment):
    assert fragment in refused(v.ip_address, value, version=version)


@pytest.mark.parametrize("value, version, expected", [
    ("198.18.21.1/24", 4, "198.18.21.1/24"),
    ("198.18.21.1/255.255.255.0", 4, "198.18.21.1/24"),
    ("2001:DB8:5::1/64", 6, "2001:db8:5::1/64"),
    ("2001:db8:5::1/64", None, "2001:db8:5::1/64"),
])
def test_ip_interface(value, version, expected):
    assert v.ip_interface(value, "address", version=version) == expected


@pytest.mark.parametrize("value, version, fragment", [
    ("198.18.21.1", 4, "with the prefix length, e.g. 198.18.5.1/24"),
    ("2001:db8::1", 6, "with the prefix length, e.g. 2001:db8:5::1/64"),
    ("198.18.21.1/33", 4, "not an IPv4 address/prefix"),
    ("not-an-ip/24", None, "not an IP address/prefix"),
    ("2001:db8::1/64", 4, "e.g. 198.18.5.1/24"),
])
def test_ip_interface_refused(value, version, fragment):
    assert fragment in refused(v.ip_interface, value, version=version)


def test_ip_network_strict_or_not():
    assert v.ip_network("198.18.21.0/24", "subnet") == "198.18.21.0/24"
    assert v.ip_network("2001:DB8:5::/64", "subnet", version=6) == "2001:db8:5::/64"
    assert "has host bits set" in refused(v.ip_network, "198.18.21.1/24")
    assert v.ip_network("198.18.21.1/24", "subnet", strict=False) == "198.18.21.0/24"
    assert v.ip_network("198.18.21.1", "subnet", version=4) == "198.18.21.1/32"
    assert "e.g. 2001:db8:5::/64" in refused(v.ip_network, "198.18.21.0/24", version=6)
    assert "not an IPv4 network in CIDR form" in refused(v.ip_network, "198.18.21.0/xx", version=4)


# ---------------------------------------------------------------- names
@pytest.mark.parametrize("value", ["db", "DB-1.lab", "a", "1host", "db.lab.", "x" * 63, ".".join(["a" * 63] * 3 + ["b" * 61])])
def test_hostname(value):
    assert v.hostname(value, "name") == value


@pytest.mark.parametrize("value", ["", ".", "-db", "db-", "db..lab", "db_1", "db&1", "<gw>", "db lab", "x" * 64,
                                   ".".join(["a" * 63] * 3 + ["b" * 62]), "db\n", "k\u212a", 42])
def test_hostname_refused(value):
    assert "is not a host name" in refused(v.hostname, value)


def test_hostname_underscore_on_request():
    assert v.hostname("db_1.lab", "name", underscore=True) == "db_1.lab"
    assert "or '_'" in refused(v.hostname, "_db", underscore=True)


@pytest.mark.parametrize("value", ["eth0", "br-lab", "vlan20", "a", "x" * 15, "eth0.20", "é" * 7, "virbr%d"])
def test_interface_name(value):
    assert v.interface_name(value, "parent") == value


@pytest.mark.parametrize("value, fragment", [
    ("x" * 16, "1 to 15 bytes"), ("", "1 to 15 bytes"), ("é" * 8, "1 to 15 bytes"),
    (".", "reserved"), ("..", "reserved"),
    ("eth/0", "'/'"), ("eth0:1", "':'"), ("eth 0", "whitespace"), ("eth0\n", "whitespace"), ("a\tb", "whitespace"),
    (0, "not a string"),
])
def test_interface_name_refused(value, fragment):
    msg = refused(v.interface_name, value)
    assert fragment in msg and "e.g. eth0" in msg


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("check, good, bad", [
    (v.vlan_id, [1, 20, 4094, "20"], [0, 4095, -1, True, False, 1.0, "1.0", "0x10", "", "twenty"]),
    (v.vxlan_vni, [1, 16777215], [0, 16777216, True]),
    (v.mtu, [68, 1500, 65535], [67, 65536, True]),
    (v.port, [1, 65535, "8080"], [0, 65536, True, "80/tcp", " "]),
])
def test_numbers_and_their_boundaries(check, good, bad):
    for value in good:
        assert check(value, "opt") == int(value)
    for value in bad:
        assert "is not a" in refused(check, value)


def test_number_message_says_range_and_example():
    assert refused(v.vlan_id, 4095) == "opt: 4095 is not a VLAN ID (1 to 4094), e.g. 20"
    assert refused(v.vlan_id, True) == "opt: True is not a VLAN ID (1 to 4094), e.g. 20"
    assert refused(v.mtu, 67) == "opt: 67 is not an MTU (68 to 65535), e.g. 1500"
    assert refused(v.vxlan_vni, 0) == "opt: 0 is not a VXLAN VNI (1 to 16777215), e.g. 4242"


@pytest.mark.parametrize("value, expected", [
    (80, (80, 80)), ("80", (80, 80)), ("8000-8009", (8000, 8009)), ("1-65535", (1, 65535)), ("53-53", (53, 53)),
])
def test_port_range(value, expected):
    assert v.port_range(value, "ports") == expected


@pytest.mark.parametrize("value, fragment", [
    ("9-1", "goes up"), ("0-5", "not a port"), ("1-65536", "not a port"), ("80-", "not a port"),
    ("-80", "not a port"), ("1-2-3", "not a port"), ("http", "not a port"), (True, "not a port"), (0, "not a port"),
])
def test_port_range_refused(value, fragment):
    assert fragment in refused(v.port_range, value)
