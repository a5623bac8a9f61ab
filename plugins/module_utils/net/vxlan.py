# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_vxlan: a kernel VXLAN device (netlink) or an Open vSwitch VXLAN port (OVSDB).

A kernel VXLAN reaches several unicast peers by head-end replication: one all-zero entry per
peer in its forwarding database (`bridge fdb append 00:00:00:00:00:00 dev vx0 dst PEER`), which
can be added and removed without recreating the device. The VNI, local address, group, underlay
device, UDP port and learning are fixed at creation: changing one recreates the device."""

from __future__ import annotations

import ipaddress
import struct

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.net import netlink, ovsport
from ansible_collections.virtcloud.core.plugins.module_utils.net.host import CHANGE_OPTIONS, LINK_OPTIONS, LinkService, ip

VXLAN_FACTS = ("vni", "local", "group", "dev", "port", "learning", "remotes", "bridge")


def remotes(value, option):
    if value is None:
        return None
    out = [ip(item, "%s[%d]" % (option, i), multicast=False) for i, item in enumerate(value)]
    return sorted(set(out), key=netlink.address_key)


class VxlanService(LinkService):
    kind = "vxlan"
    master_fact = "bridge"
    immutable = ("vni", "local", "group", "dev", "port", "learning")
    connection = {"ovsdb": Opt(default=None)}
    options = {
        "name": name_opt(parse=validate.interface_name),
        "state": state_opt(["present", "absent"]),
        "type": Opt(default="linux", choices=["linux", "ovs"]),
        "vni": Opt(type="int", parse=validate.vxlan_vni),
        "local": Opt(parse=lambda v, o: ip(v, o, multicast=False)),
        "remotes": Opt(type="list", elements="str", aliases=["remote"], parse=remotes),
        "group": Opt(parse=lambda v, o: ip(v, o, multicast=True)),
        "dev": Opt(parse=validate.interface_name),
        "port": Opt(type="int", default=4789, parse=validate.port),
        "learning": Opt(type="bool"),
        "bridge": Opt(parse=validate.interface_name),
        **LINK_OPTIONS,
        **CHANGE_OPTIONS,
    }
    result_key = "vxlan"
    port_what = "VXLAN port"

    def desired(self):
        d = self.parsed()
        if d["state"] == "present" and d["vni"] is None:
            raise InputError("vni", "is required with state=present (1 to 16777215)")
        if d["group"] and d["remotes"]:
            raise InputError("group", "give either a multicast group or unicast remotes, not both")
        families = {ipaddress.ip_address(a).version for a in [d["local"], d["group"], *(d["remotes"] or [])] if a}
        if len(families) > 1:
            raise InputError("local", "local, group and remotes must all be IPv4 or all IPv6")
        if d["type"] == "ovs":
            for key in ("group", "dev", "learning", "addresses", "mtu"):
                if d[key] is not None:
                    raise InputError(key, "applies to type=linux only (an Open vSwitch VXLAN port has none)")
            if d["state"] == "present" and len(d["remotes"] or []) != 1:
                raise InputError("remotes", "an Open vSwitch VXLAN port has exactly one remote (one port per peer)")
        self.check_ovs_persist(d)
        return d

    # ------------------------------------------------------------------ Open vSwitch
    def observe(self, desired, batch=None):
        if desired["type"] != "ovs":
            return super().observe(desired, batch)
        port, _bridges = ovsport.observe(self.ovs, desired["name"])
        if port is None:
            return None
        opts = port["options"]
        return {"name": desired["name"], "type": "ovs" if port["interface_type"] == "vxlan" else port["interface_type"] or "system",
                "bridge": port["bridge"], "vni": _int(opts.get("key")), "local": opts.get("local_ip"),
                "remotes": [opts["remote_ip"]] if opts.get("remote_ip") else [],
                "port": _int(opts.get("dst_port")) or 4789}

    def plan(self, desired, observed):
        return super().plan(desired, observed) if desired["type"] != "ovs" else self.plan_port(desired, observed)

    @staticmethod
    def port_after(desired, observed):
        return {"name": desired["name"], "type": "ovs", "bridge": desired["bridge"], "vni": desired["vni"],
                "local": desired["local"], "remotes": desired["remotes"], "port": desired["port"]}

    @staticmethod
    def ovs_port(facts):
        if facts is None:
            return None
        options = {"key": str(facts["vni"]), "remote_ip": facts["remotes"][0] if facts["remotes"] else None,
                   "local_ip": facts["local"], "dst_port": str(facts["port"]) if facts["port"] != 4789 else None}
        return {"bridge": facts["bridge"], "interface_type": "vxlan", "tag": None, "trunks": [], "vlan_mode": None,
                "options": {k: v for k, v in options.items() if v is not None}}

    # ------------------------------------------------------------------ kernel
    def facts_of(self, link):
        out = {**self.base_facts(link), "bridge": link["master"]}
        out.update(link["vxlan"] or {})
        if link["vxlan"]:
            out["remotes"] = list(link["vxlan"]["remotes"])
        return out

    def check_references(self, links, desired):
        super().check_references(links, desired)
        if desired.get("dev"):
            netlink.require_interface(links, desired["dev"], "dev")

    def created(self, desired):
        return {"name": desired["name"], "type": "vxlan", "enabled": False, "mtu": None, "mac": None, "addresses": [],
                "vni": desired["vni"], "local": desired["local"], "group": desired["group"], "dev": desired["dev"],
                "port": desired["port"], "learning": True if desired["learning"] is None else desired["learning"],
                "remotes": [], "bridge": None}

    def wanted(self, desired, observed):
        after = super().wanted(desired, observed)
        for key in ("local", "group", "dev"):  # part of the device: unset means none, not "keep"
            after[key] = desired[key]
        return after

    def create_args(self, facts):
        data = [netlink.u32(netlink.IFLA_VXLAN_ID, facts["vni"]),
                netlink.attr(netlink.IFLA_VXLAN_PORT, struct.pack("!H", facts["port"])),
                netlink.u8(netlink.IFLA_VXLAN_LEARNING, int(facts["learning"]))]
        v6 = any(a and ":" in a for a in (facts["local"], facts["group"]))
        if facts["local"]:
            data.append(netlink.addr(netlink.IFLA_VXLAN_LOCAL6 if v6 else netlink.IFLA_VXLAN_LOCAL, facts["local"]))
        if facts["group"]:
            data.append(netlink.addr(netlink.IFLA_VXLAN_GROUP6 if v6 else netlink.IFLA_VXLAN_GROUP, facts["group"]))
        if facts["dev"]:
            data.append(netlink.u32(netlink.IFLA_VXLAN_LINK, self.kernel.index(facts["dev"])))
        return {"data": data}

    def connect_extra(self, facts, before):
        super().connect_extra(facts, before)
        for remote in facts["remotes"]:
            self.kernel.flood(facts["name"], remote)

    def plan_extra(self, plan, observed, after, cuts):
        super().plan_extra(plan, observed, after, cuts)
        name = observed["name"]
        for remote in sorted(set(after["remotes"]) - set(observed["remotes"])):
            plan.step("add remote %s to %s" % (remote, name), lambda r=remote: self.kernel.flood(name, r),
                      undo=lambda r=remote: self.kernel.flood(name, r, add=False))
        for remote in sorted(set(observed["remotes"]) - set(after["remotes"])):
            plan.step("remove remote %s from %s" % (remote, name), lambda r=remote: self.kernel.flood(name, r, add=False),
                      undo=lambda r=remote: self.kernel.flood(name, r))

    def persisted(self, after):
        return {"kind": "vxlan", **{k: after[k] for k in ("name", "enabled", "mtu", "addresses") + VXLAN_FACTS}}


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
