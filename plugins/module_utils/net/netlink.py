# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's network objects through rtnetlink: one snapshot of every link, address and VXLAN
flood entry in three dumps, and the few writes the host_* services need.

A small rtnetlink client on the standard library's AF_NETLINK socket (the messages of rtnetlink(7)
and the attributes of linux/if_link.h, if_addr.h and neighbour.h that these modules use): importing
a general netlink library costs a module run more than everything it then does (pyroute2 0.9: 150 ms
of imports against a few milliseconds of dumps).

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
import socket
import struct

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError, BackendUnavailable, InputError)

FLOOD = "00:00:00:00:00:00"
CLOCK_HZ = 100  # the bridge's timers are in clock_t (USER_HZ) over netlink

# rtnetlink(7) message types and flags
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
NLMSG_ERROR, NLMSG_DONE = 2, 3
F_REQUEST, F_MULTI, F_ACK, F_DUMP = 0x1, 0x2, 0x4, 0x300
F_EXCL, F_CREATE, F_APPEND = 0x200, 0x400, 0x800
IFF_UP = 0x1
NUD_PERMANENT, NTF_SELF = 0x80, 0x02
AF_BRIDGE = 7
NLA_F_NESTED = 0x8000

# attributes (linux/if_link.h, if_addr.h, neighbour.h)
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_OPERSTATE, IFLA_LINKINFO = 1, 3, 4, 5, 10, 16, 18
IFLA_AF_SPEC, IFLA_EXT_MASK = 26, 29
IFLA_BRIDGE_VLAN_INFO = 2            # in IFLA_AF_SPEC of an AF_BRIDGE message: struct bridge_vlan_info
RTEXT_FILTER_BRVLAN = 2              # IFLA_EXT_MASK: a bridge dump lists each port's VLANs
VLAN_PVID, VLAN_UNTAGGED = 0x2, 0x4  # bridge_vlan_info flags (BRIDGE_VLAN_INFO_PVID, _UNTAGGED)
BRIDGE_VLAN = struct.Struct("=HH")   # flags, vid
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_BR_FORWARD_DELAY, IFLA_BR_STP_STATE, IFLA_BR_VLAN_FILTERING = 1, 5, 7
(IFLA_VXLAN_ID, IFLA_VXLAN_GROUP, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LEARNING,
 IFLA_VXLAN_PORT, IFLA_VXLAN_GROUP6, IFLA_VXLAN_LOCAL6) = 1, 2, 3, 4, 7, 15, 16, 17
IFLA_VLAN_ID = 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
NDA_DST, NDA_LLADDR = 1, 2
OPERSTATES = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"]

IFINFO = struct.Struct("=BxHiII")   # family, type, index, flags, change
IFADDR = struct.Struct("=BBBBI")    # family, prefixlen, flags, scope, index
NDMSG = struct.Struct("=BxxxiHBB")  # family, ifindex, state, flags, type
NLMSG = struct.Struct("=IHHII")     # length, type, flags, seq, pid
RTA = struct.Struct("=HH")          # length, type


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


# ---------------------------------------------------------------------- attribute codec
def attr(kind, payload):
    """One attribute: `payload` bytes, or a list of attributes (nested)."""
    if isinstance(payload, list):
        payload, kind = b"".join(payload), kind | NLA_F_NESTED
    data = RTA.pack(RTA.size + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def u8(kind, value):
    return attr(kind, struct.pack("=B", value))


def u32(kind, value):
    return attr(kind, struct.pack("=I", value))


def text(kind, value):
    return attr(kind, value.encode() + b"\0")


def addr(kind, value):
    return attr(kind, ipaddress.ip_address(value).packed)


def attr_list(data):
    """[(type, payload bytes)] of a run of attributes, in order (a type may repeat)."""
    out, offset = [], 0
    while offset + RTA.size <= len(data):
        length, kind = RTA.unpack_from(data, offset)
        if length < RTA.size:
            break
        out.append((kind & ~NLA_F_NESTED, data[offset + RTA.size:offset + length]))
        offset += (length + 3) & ~3
    return out


def attrs(data):
    """{type: payload bytes} of a run of attributes (the last one of a type wins)."""
    return dict(attr_list(data))


def _u(data, fmt="=I"):
    return struct.unpack(fmt, data[:struct.calcsize(fmt)])[0] if data else None


def _str(data):
    return data.split(b"\0", 1)[0].decode(errors="replace") if data is not None else None


def _ip(data):
    return str(ipaddress.ip_address(bytes(data))) if data and len(data) in (4, 16) else None


def _mac(data):
    return ":".join("%02x" % b for b in data) if data else None


class Kernel:
    """One rtnetlink socket. `requests` counts the round trips (dumps and writes). The last snapshot
    is kept until this client writes something: planning reads the host once per run."""

    def __init__(self):
        try:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            self.sock.bind((0, 0))
        except OSError as exc:
            raise BackendUnavailable("cannot open a netlink socket to the kernel: %s" % exc)
        self.requests = 0
        self.seq = 0
        self.cached = None

    def close(self):
        self.sock.close()

    def _exchange(self, kind, flags, body):
        """Send one request; the payloads of its answer (one for a write's ack, many for a dump)."""
        self.requests += 1
        self.seq += 1
        self.sock.send(NLMSG.pack(NLMSG.size + len(body), kind, flags | F_REQUEST, self.seq, 0) + body)
        out = []
        while True:
            data = self.sock.recv(1 << 20)
            offset = 0
            while offset + NLMSG.size <= len(data):
                length, mtype, mflags, seq, _pid = NLMSG.unpack_from(data, offset)
                payload = data[offset + NLMSG.size:offset + length]
                offset += (length + 3) & ~3
                if seq != self.seq:
                    continue
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return out
                if mtype == NLMSG_DONE:
                    return out
                out.append((mtype, payload))
                if not mflags & F_MULTI and not flags & F_ACK:
                    return out

    def dump(self, kind, header):
        return [payload for _type, payload in self._exchange(kind, F_DUMP, header)]

    def write(self, kind, body, flags=0):
        """A change: the kernel's refusal becomes a BackendError naming its cause."""
        self.cached = None
        try:
            self._exchange(kind, flags | F_ACK, body)
        except OSError as exc:
            raise BackendError(kernel_error(exc), errno=exc.errno)

    # ------------------------------------------------------------------ reading
    def snapshot(self):
        """name -> link dict (see the module docstring), from one dump of links and one of addresses;
        the flood entries of VXLAN devices from one more dump when there are VXLANs."""
        if self.cached is not None:
            return self.cached
        links = [(IFINFO.unpack_from(p), attrs(p[IFINFO.size:])) for p in self.dump(RTM_GETLINK, IFINFO.pack(0, 0, 0, 0, 0))]
        by_index = {head[2]: _str(a.get(IFLA_IFNAME)) for head, a in links}
        out = {}
        for head, a in links:
            link = self._link(head, a, by_index)
            out[link["name"]] = link
        for payload in self.dump(RTM_GETADDR, IFADDR.pack(0, 0, 0, 0, 0)):
            family, prefixlen, _flags, _scope, index = IFADDR.unpack_from(payload)
            a = attrs(payload[IFADDR.size:])
            address = _ip(a.get(IFA_LOCAL) or a.get(IFA_ADDRESS))
            name = by_index.get(index)
            if name in out and address:
                if family == socket.AF_INET6 and ipaddress.ip_address(address).is_link_local:
                    continue  # the kernel's own link-local address, never configured
                out[name]["addresses"].append("%s/%d" % (address, prefixlen))
        for link in out.values():
            link["addresses"].sort(key=address_key)
            if link["master"] in out:
                out[link["master"]]["ports"].append(link["name"])
        for link in out.values():
            link["ports"].sort()
        vxlans = {link["index"]: link for link in out.values() if link["vxlan"]}
        if vxlans:
            for payload in self.dump(RTM_GETNEIGH, NDMSG.pack(AF_BRIDGE, 0, 0, 0, 0)):
                index = NDMSG.unpack_from(payload)[1]
                a = attrs(payload[NDMSG.size:])
                dst = _ip(a.get(NDA_DST))
                if index in vxlans and dst and _mac(a.get(NDA_LLADDR)) == FLOOD:
                    vxlans[index]["vxlan"]["remotes"].append(dst)
            for link in vxlans.values():
                link["vxlan"]["remotes"] = sorted(set(link["vxlan"]["remotes"]), key=address_key)
        self.cached = out
        return out

    @staticmethod
    def _link(head, a, by_index):
        info = attrs(a.get(IFLA_LINKINFO, b""))
        kind = _str(info.get(IFLA_INFO_KIND))
        data = attrs(info.get(IFLA_INFO_DATA, b""))
        master, operstate = _u(a.get(IFLA_MASTER)), _u(a.get(IFLA_OPERSTATE), "=B")
        link = {
            "name": _str(a.get(IFLA_IFNAME)), "index": head[2], "kind": kind or "device",
            "enabled": bool(head[3] & IFF_UP),
            "operstate": OPERSTATES[operstate] if operstate is not None and operstate < len(OPERSTATES) else "unknown",
            "mtu": _u(a.get(IFLA_MTU)), "mac": _mac(a.get(IFLA_ADDRESS)),
            "master": by_index.get(master) if master else None, "addresses": [], "ports": [],
            "bridge": None, "vxlan": None, "vlan": None,
        }
        if kind == "bridge":
            link["bridge"] = {"stp": bool(_u(data.get(IFLA_BR_STP_STATE))),
                              "forward_delay": (_u(data.get(IFLA_BR_FORWARD_DELAY)) or 0) // CLOCK_HZ,
                              "vlan_filtering": bool(_u(data.get(IFLA_BR_VLAN_FILTERING), "=B"))}
        elif kind == "vxlan":
            group = _ip(data.get(IFLA_VXLAN_GROUP)) or _ip(data.get(IFLA_VXLAN_GROUP6))
            group = None if group in ("0.0.0.0", "::") else group
            unicast = group is not None and not ipaddress.ip_address(group).is_multicast
            local = _ip(data.get(IFLA_VXLAN_LOCAL)) or _ip(data.get(IFLA_VXLAN_LOCAL6))
            dev = _u(data.get(IFLA_VXLAN_LINK))
            link["vxlan"] = {"vni": _u(data.get(IFLA_VXLAN_ID)),
                             "local": None if local in ("0.0.0.0", "::") else local,
                             "group": None if unicast else group,
                             "dev": by_index.get(dev) if dev else None,
                             "port": _u(data.get(IFLA_VXLAN_PORT), "!H"),
                             "learning": bool(_u(data.get(IFLA_VXLAN_LEARNING), "=B")),
                             "remotes": [group] if unicast else []}
        elif kind == "vlan":
            link["vlan"] = {"parent": by_index.get(_u(a.get(IFLA_LINK))), "vlan_id": _u(data.get(IFLA_VLAN_ID), "=H")}
        return link

    def bridge_vlans(self):
        """port name -> {vid: flags (VLAN_PVID | VLAN_UNTAGGED)} of every port of a VLAN-filtering Linux
        bridge, from one AF_BRIDGE dump (a port of a bridge that does not filter is listed with none)."""
        out = {}
        names = {link["index"]: name for name, link in self.snapshot().items()}
        header = IFINFO.pack(AF_BRIDGE, 0, 0, 0, 0) + u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN)
        for payload in self.dump(RTM_GETLINK, header):
            index = IFINFO.unpack_from(payload)[2]
            spec = attrs(payload[IFINFO.size:]).get(IFLA_AF_SPEC, b"")
            vlans = {}
            for kind, value in attr_list(spec):
                if kind == IFLA_BRIDGE_VLAN_INFO and len(value) >= BRIDGE_VLAN.size:
                    flags, vid = BRIDGE_VLAN.unpack_from(value)
                    vlans[vid] = flags & (VLAN_PVID | VLAN_UNTAGGED)
            if index in names:
                out[names[index]] = vlans
        return out

    # ------------------------------------------------------------------ writing
    def set_bridge_vlans(self, name, vlans, remove=()):
        """Give the bridge port `name` the VLANs {vid: flags} (added, or their flags changed) and take
        `remove` (vids) away: one request each."""
        header = IFINFO.pack(AF_BRIDGE, 0, self.index(name), 0, 0)
        for kind, entries in ((RTM_SETLINK, sorted(vlans.items())), (RTM_DELLINK, [(vid, 0) for vid in sorted(remove)])):
            if entries:
                spec = [attr(IFLA_BRIDGE_VLAN_INFO, BRIDGE_VLAN.pack(flags, vid)) for vid, flags in entries]
                self.write(kind, header + attr(IFLA_AF_SPEC, spec))

    def lookup(self, name):
        """The index of link `name`, or None: from the last snapshot, else one request (a link another
        program made since - ovs-vswitchd makes an Open vSwitch bridge's)."""
        if self.cached is not None and name in self.cached:
            return self.cached[name]["index"]
        try:
            answer = self._exchange(RTM_GETLINK, 0, IFINFO.pack(0, 0, 0, 0, 0) + text(IFLA_IFNAME, name))
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                return None
            raise BackendError(kernel_error(exc), errno=exc.errno)
        return IFINFO.unpack_from(answer[0][1])[2] if answer else None

    def index(self, name):
        index = self.lookup(name)
        if index is None:
            raise BackendError("interface %s does not exist (any more)" % name)
        return index

    def create(self, name, kind, data=(), link=None):
        """A new link of `kind` with the IFLA_INFO_DATA attributes `data` (encoded) and parent `link`."""
        body = [text(IFLA_IFNAME, name), attr(IFLA_LINKINFO, [text(IFLA_INFO_KIND, kind)]
                                              + ([attr(IFLA_INFO_DATA, list(data))] if data else []))]
        if link is not None:
            body.append(u32(IFLA_LINK, self.index(link)))
        self.write(RTM_NEWLINK, IFINFO.pack(0, 0, 0, 0, 0) + b"".join(body), F_CREATE | F_EXCL)

    def delete(self, name):
        index = self.lookup(name)
        if index is not None:
            self.write(RTM_DELLINK, IFINFO.pack(0, 0, index, 0, 0))

    def change(self, name, kind=None, data=(), mtu=None, mac=None):
        """Change a link in place: attributes of its kind (bridge timers, STP), MTU, MAC."""
        body = []
        if data:
            body.append(attr(IFLA_LINKINFO, [text(IFLA_INFO_KIND, kind), attr(IFLA_INFO_DATA, list(data))]))
        if mtu is not None:
            body.append(u32(IFLA_MTU, mtu))
        if mac is not None:
            body.append(attr(IFLA_ADDRESS, bytes(int(b, 16) for b in mac.split(":"))))
        self.write(RTM_NEWLINK, IFINFO.pack(0, 0, self.index(name), 0, 0) + b"".join(body))

    def set_master(self, name, master):
        """Enslave `name` to the bridge `master`, or release it (master None)."""
        index = self.index(name)
        self.write(RTM_NEWLINK, IFINFO.pack(0, 0, index, 0, 0) + u32(IFLA_MASTER, self.index(master) if master else 0))

    def set_enabled(self, name, enabled):
        self.write(RTM_NEWLINK, IFINFO.pack(0, 0, self.index(name), IFF_UP if enabled else 0, IFF_UP))

    def address(self, name, cidr, add=True):
        iface = ipaddress.ip_interface(cidr)
        family = socket.AF_INET if iface.version == 4 else socket.AF_INET6
        body = IFADDR.pack(family, iface.network.prefixlen, 0, 0, self.index(name))
        body += addr(IFA_LOCAL, iface.ip) + addr(IFA_ADDRESS, iface.ip)
        self.write(RTM_NEWADDR if add else RTM_DELADDR, body, F_CREATE | F_EXCL if add else 0)

    def flood(self, name, remote, add=True):
        """Add or remove an all-zero forwarding entry: broadcast and unknown traffic of the VXLAN
        device `name` goes (also) to `remote`."""
        body = NDMSG.pack(AF_BRIDGE, self.index(name), NUD_PERMANENT, NTF_SELF, 0)
        body += attr(NDA_LLADDR, bytes(6)) + addr(NDA_DST, remote)
        self.write(RTM_NEWNEIGH if add else RTM_DELNEIGH, body, F_CREATE | F_APPEND if add else 0)


def address_key(text_):
    """Sort key of an address, with or without its prefix length: IPv4 before IPv6, then numerically."""
    iface = ipaddress.ip_interface(text_)
    return iface.version, iface.ip


def kernel_error(exc):
    code = getattr(exc, "errno", None)
    reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
    if code == errno.EOPNOTSUPP:
        return "the kernel refused it: %s (the kernel lacks the feature)" % reason
    return "the kernel refused it: %s" % reason


def require_interface(links, name, option):
    """The link `name` of a snapshot; an InputError naming `option` when it does not exist."""
    if name not in links:
        raise InputError(option, "interface %s does not exist on this host" % name)
    return links[name]
