# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's network objects through rtnetlink (pyroute2): one snapshot of every link, address
and VXLAN flood entry in three dumps, and the few writes the host_* services need.

A link is read into one normalised dict:

    {"name", "index", "kind" ("bridge", "vxlan", "vlan", "veth", ... or "device" for a plain NIC),
     "enabled" (administratively up), "operstate", "mtu", "mac", "master" (name or None),
     "addresses" (sorted "198.18.5.1/24" strings), "ports" (bridges: sorted names),
     "bridge": {"stp", "forward_delay" (seconds), "vlan_filtering"} or None,
     "vxlan": {"vni", "local", "group", "dev", "port", "learning", "remotes"} or None,
     "vlan": {"parent", "vlan_id"} or None}

A VXLAN's `remotes` are its unicast destinations: a unicast `group` (the kernel's single `remote`)
and every all-zero flood entry of its forwarding database (head-end replication to several peers).
"""

from __future__ import annotations

import errno
import ipaddress
import os

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError, BackendUnavailable, InputError)

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    PYROUTE2_ERROR = None
except ImportError as exc:  # reported by the services' requirements
    IPRoute = None
    NetlinkError = OSError
    PYROUTE2_ERROR = exc

REQUIREMENT = ("pyroute2", "pyroute2>=0.7.3", PYROUTE2_ERROR)
FLOOD = "00:00:00:00:00:00"
IFF_UP = 1
CLOCK_HZ = 100  # the bridge's timers are in clock_t (USER_HZ) over netlink


def vlan_support():
    """Whether the running kernel can make 802.1Q sub-interfaces: the 8021q module is loaded (or
    built in: /proc/net/vlan), or a loadable one is in the module tree."""
    if os.path.isdir("/sys/module/8021q") or os.path.isdir("/proc/net/vlan"):
        return True
    tree = "/lib/modules/%s" % os.uname().release
    for index in ("modules.builtin", "modules.dep"):
        try:
            with open(os.path.join(tree, index)) as handle:
                if any("/8021q.ko" in line.split(":")[0] for line in handle):
                    return True
        except OSError:
            continue
    return False


def bridge_vlan_filtering_support():
    """Whether Linux bridges here can filter VLANs (CONFIG_BRIDGE_VLAN_FILTERING): every bridge then
    has the sysfs attribute. None when no bridge exists to tell."""
    bridges = [n for n in os.listdir("/sys/class/net") if os.path.isdir("/sys/class/net/%s/bridge" % n)]
    if not bridges:
        return None
    return os.path.exists("/sys/class/net/%s/bridge/vlan_filtering" % bridges[0])


def _attrs(msg):
    return dict(msg["attrs"]) if msg else {}


class Kernel:
    """One rtnetlink socket. `requests` counts the round trips (dumps and writes)."""

    def __init__(self):
        try:
            self.ipr = IPRoute()
        except OSError as exc:
            raise BackendUnavailable("cannot open a netlink socket to the kernel: %s" % exc)
        self.requests = 0

    def close(self):
        self.ipr.close()

    # ------------------------------------------------------------------ reading
    def snapshot(self):
        """name -> link dict (see the module docstring), from one dump of links and one of addresses;
        the flood entries of VXLAN devices from one more dump when there are VXLANs."""
        self.requests += 2
        links = self.ipr.get_links()
        addrs = self.ipr.get_addr()
        by_index = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in links}
        out = {}
        for msg in links:
            link = self._link(msg, by_index)
            out[link["name"]] = link
        for msg in addrs:
            name = by_index.get(msg["index"])
            address = msg.get_attr("IFA_ADDRESS")
            if name in out and address:
                if msg["family"] == 10 and address.startswith("fe80:"):
                    continue  # the kernel's own link-local address, never configured
                out[name]["addresses"].append("%s/%d" % (ipaddress.ip_address(address), msg["prefixlen"]))
        for link in out.values():
            link["addresses"].sort(key=_address_key)
            if link["master"] in out:
                out[link["master"]]["ports"].append(link["name"])
        for link in out.values():
            link["ports"].sort()
        vxlans = {link["index"]: link for link in out.values() if link["vxlan"]}
        if vxlans:
            self.requests += 1
            for entry in self.ipr.fdb("dump"):
                link = vxlans.get(entry["ifindex"])
                dst = entry.get_attr("NDA_DST")
                if link and dst and entry.get_attr("NDA_LLADDR") == FLOOD:
                    link["vxlan"]["remotes"].append(str(ipaddress.ip_address(dst)))
            for link in vxlans.values():
                link["vxlan"]["remotes"] = sorted(set(link["vxlan"]["remotes"]), key=_address_key)
        return out

    @staticmethod
    def _link(msg, by_index):
        info = msg.get_attr("IFLA_LINKINFO")
        kind = info.get_attr("IFLA_INFO_KIND") if info else None
        data = _attrs(info.get_attr("IFLA_INFO_DATA")) if info else {}
        master = msg.get_attr("IFLA_MASTER")
        link = {
            "name": msg.get_attr("IFLA_IFNAME"), "index": msg["index"], "kind": kind or "device",
            "enabled": bool(msg["flags"] & IFF_UP), "operstate": (msg.get_attr("IFLA_OPERSTATE") or "").lower(),
            "mtu": msg.get_attr("IFLA_MTU"), "mac": msg.get_attr("IFLA_ADDRESS"),
            "master": by_index.get(master) if master else None, "addresses": [], "ports": [],
            "bridge": None, "vxlan": None, "vlan": None,
        }
        if kind == "bridge":
            link["bridge"] = {"stp": bool(data.get("IFLA_BR_STP_STATE")),
                              "forward_delay": (data.get("IFLA_BR_FORWARD_DELAY") or 0) // CLOCK_HZ,
                              "vlan_filtering": bool(data.get("IFLA_BR_VLAN_FILTERING"))}
        elif kind == "vxlan":
            group = data.get("IFLA_VXLAN_GROUP") or data.get("IFLA_VXLAN_GROUP6")
            unicast = group and not ipaddress.ip_address(group).is_multicast
            link["vxlan"] = {"vni": data.get("IFLA_VXLAN_ID"),
                             "local": data.get("IFLA_VXLAN_LOCAL") or data.get("IFLA_VXLAN_LOCAL6") or None,
                             "group": None if unicast else (group or None),
                             "dev": by_index.get(data.get("IFLA_VXLAN_LINK")) if data.get("IFLA_VXLAN_LINK") else None,
                             "port": data.get("IFLA_VXLAN_PORT"),
                             "learning": bool(data.get("IFLA_VXLAN_LEARNING")),
                             "remotes": [str(ipaddress.ip_address(group))] if unicast else []}
        elif kind == "vlan":
            parent = msg.get_attr("IFLA_LINK")
            link["vlan"] = {"parent": by_index.get(parent), "vlan_id": data.get("IFLA_VLAN_ID")}
        return link

    # ------------------------------------------------------------------ writing
    def call(self, what, *args, **kwargs):
        """One rtnetlink request; the kernel's refusal becomes a BackendError saying what was refused."""
        self.requests += 1
        method = getattr(self.ipr, what)
        try:
            return method(*args, **kwargs)
        except NetlinkError as exc:
            raise BackendError(kernel_error(exc), errno=exc.code)

    def index(self, name):
        found = self.ipr.link_lookup(ifname=name)
        if not found:
            raise BackendError("interface %s does not exist (any more)" % name)
        return found[0]

    def create(self, name, kind, **attrs):
        self.call("link", "add", ifname=name, kind=kind, **attrs)

    def delete(self, name):
        found = self.ipr.link_lookup(ifname=name)
        if found:
            self.call("link", "del", index=found[0])

    def set(self, name, **attrs):
        self.call("link", "set", index=self.index(name), **attrs)

    def set_master(self, name, master):
        """Enslave `name` to the bridge `master`, or release it (master None)."""
        self.call("link", "set", index=self.index(name), master=self.index(master) if master else 0)

    def set_enabled(self, name, enabled):
        self.call("link", "set", index=self.index(name), state="up" if enabled else "down")

    def address(self, name, cidr, add=True):
        iface = ipaddress.ip_interface(cidr)
        self.call("addr", "add" if add else "del", index=self.index(name), address=str(iface.ip),
                  prefixlen=iface.network.prefixlen)

    def flood(self, name, remote, add=True):
        """Add or remove an all-zero forwarding entry: broadcast and unknown traffic of the VXLAN
        device `name` goes (also) to `remote`."""
        self.call("fdb", "append" if add else "del", ifindex=self.index(name), lladdr=FLOOD, dst=remote)


def _address_key(text):
    iface = ipaddress.ip_interface(text)
    return iface.version, iface.ip


def kernel_error(exc):
    code = getattr(exc, "code", None)
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    if code == errno.EOPNOTSUPP:
        return "the kernel refused it: %s (the kernel lacks the feature)" % reason
    return "the kernel refused it: %s" % reason


def require_interface(links, name, option):
    """The link `name` of a snapshot; an InputError naming `option` when it does not exist."""
    if name not in links:
        raise InputError(option, "interface %s does not exist on this host" % name)
    return links[name]
