# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the addresses, names and numbers every backend takes: MAC and IP addresses, IP
interfaces and networks, host names, Linux interface names, VLAN IDs, VXLAN VNIs, MTUs, ports.

Each function takes the value and the option it came from, and returns the value in its
normalised form (None stays None: the option was not set), or raises InputError naming the
option, saying what is wrong and showing a valid example. Booleans are never numbers: YAML
``yes`` is not VLAN 1.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

# patterns are used with fullmatch: '$' would also match before a trailing newline
_MAC = re.compile(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_LABEL_UNDERSCORE = re.compile(r"(?![-_])[A-Za-z0-9_-]{1,63}(?<!-)")
_DIGITS = re.compile(r"[0-9]+")

_IP = {  # version -> (what, example address, example interface, example network)
    None: ("an IP", "198.18.0.1 or 2001:db8::1", "198.18.5.1/24 or 2001:db8:5::1/64", "198.18.5.0/24 or 2001:db8:5::/64"),
    4: ("an IPv4", "198.18.0.1", "198.18.5.1/24", "198.18.5.0/24"),
    6: ("an IPv6", "2001:db8::1", "2001:db8:5::1/64", "2001:db8:5::/64"),
}


def mac_address(value, option, unicast=False):
    """'52:54:00:AB:cd:01' or '52-54-00-ab-cd-01' -> '52:54:00:ab:cd:01'. With unicast=True a
    multicast address (lowest bit of the first byte set) is refused: no NIC can have one."""
    if value is None:
        return None
    if not isinstance(value, str) or not _MAC.fullmatch(value):
        raise InputError(option, "%r is not a MAC address like 52:54:00:12:34:56" % (value,))
    mac = value.lower().replace("-", ":")
    if unicast and int(mac[:2], 16) & 1:
        raise InputError(option, "%s is a multicast MAC address (lowest bit of the first byte set); a NIC "
                                 "needs a unicast one like 52:54:00:12:34:56" % mac)
    return mac


def _ip(factory, value, option, version, kind, example):
    what = _IP[version][0]
    if not isinstance(value, str):
        raise InputError(option, "%r is not %s %s, e.g. %s" % (value, what, kind, example))
    try:
        parsed = factory(value.strip())
    except ValueError as exc:  # ipaddress says why, except when nothing in the text looked right
        why = "" if "does not appear to be" in str(exc) else " (%s)" % exc
        raise InputError(option, "%r is not %s %s%s, e.g. %s" % (value, what, kind, why, example))
    if version is not None and parsed.version != version:
        raise InputError(option, "%r is not %s %s, e.g. %s" % (value, what, kind, example))
    return parsed


def ip_address(value, option, version=None):
    """An IPv4 (version=4), IPv6 (6) or either (None) address -> its compressed, lowercase form."""
    if value is None:
        return None
    return str(_ip(ipaddress.ip_address, value, option, version, "address", _IP[version][1]))


def ip_interface(value, option, version=None):
    """A host address with its prefix length, '198.18.21.1/24' or '2001:db8::1/64' -> normalised."""
    if value is None:
        return None
    example = _IP[version][2]
    if isinstance(value, str) and "/" not in value:
        raise InputError(option, "give the address with the prefix length, e.g. %s" % example)
    return str(_ip(ipaddress.ip_interface, value, option, version, "address/prefix", example))


def ip_network(value, option, version=None, strict=True):
    """A network in CIDR form, '198.18.21.0/24' -> normalised. strict=False accepts host bits
    ('198.18.21.1/24') and clears them; strict=True refuses them."""
    if value is None:
        return None
    example = _IP[version][3]
    factory = ipaddress.ip_network if strict else (lambda text: ipaddress.ip_network(text, strict=False))
    return str(_ip(factory, value, option, version, "network in CIDR form", example))


def hostname(value, option, underscore=False):
    """A host name of RFC 1123 labels (letters, digits, '-' inside), joined by dots, at most 253
    characters, optionally ending in a dot. underscore=True also takes '_' inside a label, as
    dnsmasq does. Returned as given (DNS names are case-insensitive; the case is the user's)."""
    if value is None:
        return None
    label = _LABEL_UNDERSCORE if underscore else _LABEL
    name = value[:-1] if isinstance(value, str) and value.endswith(".") else value
    if not isinstance(value, str) or len(name) > 253 or not all(label.fullmatch(part) for part in name.split(".")):
        raise InputError(option, "%r is not a host name: labels of letters, digits and '-'%s (not at either end), "
                                 "1 to 63 characters each, joined by dots, at most 253 in all, e.g. db-1.lab"
                         % (value, " or '_'" if underscore else ""))
    return value


def interface_name(value, option):
    """A Linux network interface name: 1 to 15 bytes, no '/', ':' or whitespace, not '.' or '..'."""
    if value is None:
        return None
    if not isinstance(value, str):
        problem = "is not a string"
    elif not 1 <= len(value.encode("utf-8")) <= 15:
        problem = "must be 1 to 15 bytes long"
    elif value in (".", ".."):
        problem = "is reserved"
    elif "/" in value or ":" in value or any(char.isspace() for char in value):
        problem = "must not contain '/', ':' or whitespace"
    else:
        return value
    raise InputError(option, "%r is not a Linux interface name: it %s; e.g. eth0, br-lab or vlan20" % (value, problem))


def _number(value, option, what, low, high, example):
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(option, "%r is not %s (%d to %d), e.g. %s" % (value, what, low, high, example))
    return value


def seconds(value, option):
    """A timeout in whole seconds, 0 (do not wait) to one day -> int."""
    return None if value is None else _number(value, option, "a number of seconds", 0, 86400, 120)


def vlan_id(value, option):
    """An 802.1Q VLAN ID, 1 to 4094 (0 and 4095 are reserved) -> int."""
    return None if value is None else _number(value, option, "a VLAN ID", 1, 4094, 20)


def vxlan_vni(value, option):
    """A VXLAN network identifier, 1 to 16777215 (24 bits) -> int."""
    return None if value is None else _number(value, option, "a VXLAN VNI", 1, 16777215, 4242)


def mtu(value, option):
    """An MTU in bytes, 68 (the IPv4 minimum) to 65535 -> int."""
    return None if value is None else _number(value, option, "an MTU", 68, 65535, 1500)


def port(value, option):
    """A TCP/UDP/SCTP port, 1 to 65535 -> int."""
    return None if value is None else _number(value, option, "a port", 1, 65535, 8080)


def port_range(value, option):
    """A port or an ascending range of ports, 8080 / '8080' / '8000-8009' -> (first, last)."""
    if value is None:
        return None
    first, dash, last = value.partition("-") if isinstance(value, str) else (value, "", value)
    if dash and _DIGITS.fullmatch(first.strip()) and _DIGITS.fullmatch(last.strip()) and int(first) > int(last):
        raise InputError(option, "%r: a range of ports goes up, e.g. 8000-8009" % (value,))
    try:
        return port(first, option), port(last if dash else first, option)
    except InputError:
        raise InputError(option, "%r is not a port (1 to 65535) or range of ports, e.g. 8080 or 8000-8009" % (value,))
