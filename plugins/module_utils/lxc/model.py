# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classic LXC containers as data: names, configuration values, the network option, the host's
cgroup layout. Pure functions (no liblxc), so that they are tested on their own; the service
(container.py) asks liblxc itself to check keys and values.

LXC's configuration is key = value lines (lxc.container.conf(5)); a key may repeat
(lxc.mount.entry), which liblxc reports as a list. A task names each key it manages, as a
string, a number, a boolean, a list (every value of a repeating key) or null (the key unset,
LXC's default).
"""

from __future__ import annotations

import re

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

# what lxc-create and the templates take as a name: it becomes a directory under lxcpath and the
# container's host name (lxc.uts.name), so no '/', no whitespace, not '.' or '..', at most 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NET = "lxc.net.0."
# keys read at boot by lxc-autostart, not by the container: a change needs no restart
AUTOSTART_KEYS = ("lxc.start.auto", "lxc.start.delay", "lxc.start.order", "lxc.group")
CGROUP_PREFIXES = {"lxc.cgroup.": 1, "lxc.cgroup2.": 2}
NETWORK_FIELDS = ("type", "link", "name", "ipv4", "gateway", "hwaddr", "mtu")
# network field -> lxc.net.0 key
NETWORK_KEYS = {"type": "type", "link": "link", "name": "name", "ipv4": "ipv4.address", "gateway": "ipv4.gateway",
                "hwaddr": "hwaddr", "mtu": "mtu", "flags": "flags"}


def name(value, option):
    """A container name LXC and its templates take: letters, digits, '_', '.', '-' (not first), 1 to 64."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InputError(option, "%r is not a container name LXC takes: 1 to 64 letters, digits, '_', '.' or '-', "
                                 "starting with a letter or digit, e.g. web-1" % (value,))
    return value


def config_value(value, option):
    """A task's value of one key -> None (unset: LXC's default) or the list of strings to write."""
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    out = []
    for item in values:
        if isinstance(item, bool):
            out.append("1" if item else "0")
        elif isinstance(item, (int, float, str)):
            out.append(str(item).strip())
        else:
            raise InputError(option, "%r is not a value LXC takes: a string, number, boolean, a list of them "
                                     "(a repeating key) or null" % (item,))
        if "\n" in out[-1]:
            raise InputError(option, "%r: one value is one line" % (item,))
    return out


def config_keys(config, option="config"):
    """The task's config: {key: [values] or None}, keys checked for their form (liblxc checks that it knows them)."""
    if config is None:
        return {}
    out = {}
    for key, value in config.items():
        where = "%s.%s" % (option, key)
        if not isinstance(key, str) or not key.startswith("lxc.") or key != key.strip():
            raise InputError(option, "%r is not an LXC configuration key: keys start with 'lxc.', e.g. "
                                     "lxc.start.auto (lxc.container.conf(5))" % (key,))
        out[key] = config_value(value, where)
    return out


def network(value, option="network"):
    """The network option -> the lxc.net.0 keys it sets ({key suffix: value}), or {"type": "empty"} for none.

    none (a container with only its loopback, LXC's 'empty'), or a dict: type veth (the default) onto
    `link` (a host bridge), with ipv4 (address/prefix), gateway (an address or 'auto'), name (the
    interface in the container, eth0 by default), hwaddr and mtu."""
    if value is None:
        return None
    if value == "none" or (isinstance(value, dict) and value.get("type") == "none" and len(value) == 1):
        return {"type": "empty"}
    if not isinstance(value, dict):
        raise InputError(option, "%r is not a network: give none, or a dict such as {type: veth, link: br0, "
                                 "ipv4: 198.18.5.10/24, gateway: 198.18.5.1}" % (value,))
    unknown = sorted(set(value) - set(NETWORK_FIELDS))
    if unknown:
        raise InputError(option, "unknown field %s; a network has %s"
                         % (", ".join(map(str, unknown)), ", ".join(NETWORK_FIELDS)))
    kind = value.get("type", "veth")
    if kind == "none":
        raise InputError(option + ".type", "none takes no other fields (a container without network has no link)")
    if kind != "veth":
        raise InputError(option + ".type", "%r is not a network type of this option: veth or none (other LXC "
                                           "network types go in config as lxc.net.0.* keys)" % (kind,))
    if not value.get("link"):
        raise InputError(option + ".link", "a veth network needs the host bridge it joins, e.g. link: br0")
    keys = {"type": "veth", "link": validate.interface_name(value["link"], option + ".link"), "flags": "up",
            "name": validate.interface_name(value.get("name") or "eth0", option + ".name")}
    if value.get("ipv4") is not None:
        keys["ipv4.address"] = validate.ip_interface(value["ipv4"], option + ".ipv4", version=4)
    gateway = value.get("gateway")
    if gateway is not None:
        if keys.get("ipv4.address") is None:
            raise InputError(option + ".gateway", "a gateway needs the container's own address (ipv4)")
        keys["ipv4.gateway"] = "auto" if gateway == "auto" else validate.ip_address(gateway, option + ".gateway", 4)
    if value.get("hwaddr") is not None:
        keys["hwaddr"] = validate.mac_address(value["hwaddr"], option + ".hwaddr", unicast=True)
    if value.get("mtu") is not None:
        keys["mtu"] = str(validate.mtu(value["mtu"], option + ".mtu"))
    return keys


def network_facts(keys):
    """lxc.net.0 keys as liblxc reports them ({suffix: value}) -> the network fact."""
    if not keys or not keys.get("type"):
        return None
    if keys["type"] == "empty":
        return {"type": "none"}
    out = {field: keys.get(NETWORK_KEYS[field]) or None for field in NETWORK_FIELDS}
    return out


def single(value):
    """liblxc's answer for a key (a string, or a list for a repeating key) -> a list of strings."""
    if value is None or value is False or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def cgroup_key(key):
    """lxc.cgroup.memory.limit_in_bytes -> (1, 'memory.limit_in_bytes'); other keys -> None."""
    for prefix, version in CGROUP_PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return version, key[len(prefix):]
    return None


def cgroup_layout(proc_cgroups, unified_controllers):
    """The host's cgroup controllers by version: {1: {...}, 2: {...}}. `proc_cgroups` is the text of
    /proc/cgroups (a controller whose hierarchy is not 0 is mounted as v1), `unified_controllers` the
    text of the unified hierarchy's cgroup.controllers ('' when there is none)."""
    v1 = set()
    for line in proc_cgroups.splitlines():
        fields = line.split()
        if len(fields) >= 4 and not line.startswith("#") and fields[1] != "0" and fields[3] == "1":
            v1.add(fields[0])
    return {1: v1, 2: set(unified_controllers.split()) - v1}


def live_cgroup(key, layout):
    """Whether a cgroup key can be written to a running container on this host (its controller
    is mounted in the hierarchy of the key's version); None for a key that is not a cgroup key."""
    found = cgroup_key(key)
    if found is None:
        return None
    version, item = found
    return item.split(".", 1)[0] in layout.get(version, set())
