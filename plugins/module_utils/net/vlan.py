# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_vlan: a kernel 802.1Q sub-interface (netlink), or an Open vSwitch access/trunk port (OVSDB).

Kernels without 802.1Q (no 8021q module) or without bridge VLAN filtering are told apart before
anything is touched, and the error names the missing feature; an Open vSwitch port needs neither."""

from __future__ import annotations

import struct

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.net import netlink, ovsport
from ansible_collections.virtcloud.core.plugins.module_utils.net.host import CHANGE_OPTIONS, LINK_OPTIONS, LinkService

MODES = ["access", "trunk", "native-tagged", "native-untagged"]


def trunks(value, option):
    """VLAN IDs and ranges ("100-110") -> sorted unique IDs."""
    if value is None:
        return None
    out = set()
    for i, item in enumerate(value):
        where = "%s[%d]" % (option, i)
        first, dash, last = item.partition("-") if isinstance(item, str) else (item, "", item)
        low, high = validate.vlan_id(first, where), validate.vlan_id(last if dash else first, where)
        if low > high:
            raise InputError(where, "%r: a range of VLAN IDs goes up, e.g. 100-110" % (item,))
        out.update(range(low, high + 1))
    return sorted(out)


class VlanService(LinkService):
    kind = "vlan"
    master_fact = "bridge"
    immutable = ("parent", "vlan_id")
    connection = {"ovsdb": Opt(default=None)}
    options = {
        "name": name_opt(parse=validate.interface_name),
        "state": state_opt(["present", "absent"]),
        "type": Opt(default="linux", choices=["linux", "ovs", "bridge"]),
        "vlan_id": Opt(type="int", parse=validate.vlan_id),
        "parent": Opt(parse=validate.interface_name),
        "bridge": Opt(parse=validate.interface_name),
        "trunks": Opt(type="list", elements="raw", parse=trunks),
        "mode": Opt(choices=MODES),
        "internal": Opt(type="bool", default=False),
        **LINK_OPTIONS,
        **CHANGE_OPTIONS,
    }
    result_key = "vlan"
    port_what = "VLAN port"

    def desired(self):
        d = self.parsed()
        present = d["state"] == "present"
        if d["type"] == "bridge" and present:
            if netlink.bridge_vlan_filtering_support() is not True:
                raise InputError("type", "type=bridge needs bridge VLAN filtering, which this kernel does not have "
                                         "(CONFIG_BRIDGE_VLAN_FILTERING); use type=ovs (an Open vSwitch access or trunk port)")
            raise InputError("type", "type=bridge (Linux bridge VLAN filtering) is not supported by this version; "
                                     "use type=ovs (an Open vSwitch access or trunk port)")
        if d["type"] == "linux":
            for key in ("trunks", "mode"):
                if d[key] is not None:
                    raise InputError(key, "applies to type=ovs only")
            if present:
                for key in ("parent", "vlan_id"):
                    if d[key] is None:
                        raise InputError(key, "is required with type=linux (an 802.1Q sub-interface of parent)")
                if not netlink.vlan_support():
                    raise InputError("type", "this kernel has no 802.1Q VLAN support (the 8021q module, "
                                             "CONFIG_VLAN_8021Q) so it cannot make the sub-interface %s.%s; use type=ovs "
                                             "(an Open vSwitch access port) or a kernel with 8021q" % (d["parent"], d["vlan_id"]))
        if d["type"] == "ovs":
            if d["parent"] is not None:
                raise InputError("parent", "applies to type=linux only; an Open vSwitch port belongs to a bridge")
            if present and d["vlan_id"] is None and not d["trunks"]:
                raise InputError("vlan_id", "an Open vSwitch VLAN port needs vlan_id (access tag) or trunks")
            for key in ("addresses", "mtu"):
                if d[key] is not None and not d["internal"]:
                    raise InputError(key, "an address or MTU needs an interface of the switch's own: set internal=true")
        self.check_ovs_persist(d)
        return d

    # ------------------------------------------------------------------ Open vSwitch
    def observe(self, desired, batch=None):
        if desired["type"] != "ovs":
            return super().observe(desired, batch)
        port, _bridges = ovsport.observe(self.ovs, desired["name"])
        if port is None:
            return None
        out = {"name": desired["name"], "type": "ovs", "bridge": port["bridge"], "vlan_id": port["tag"],
               "trunks": list(port["trunks"]), "mode": port["vlan_mode"],
               "internal": port["interface_type"] == "internal"}
        if out["internal"]:
            link = self.kernel.snapshot().get(desired["name"])
            out.update({k: (list(link[k]) if k == "addresses" else link[k]) for k in ("enabled", "mtu", "addresses")}
                       if link else {"enabled": False, "mtu": None, "addresses": []})
        return out

    def plan(self, desired, observed):
        if desired["type"] != "ovs":
            return super().plan(desired, observed)
        out = self.plan_port(desired, observed)
        if desired["state"] == "present" and desired["internal"]:
            link = {"name": desired["name"], "type": "ovs", "enabled": False, "mtu": None, "addresses": []}
            link.update({k: observed[k] for k in link if observed and k in observed})
            self.plan_changes(out, link, out.after, [])
        return out

    def port_after(self, desired, observed):
        links = self.kernel.snapshot()
        if not desired["internal"]:
            netlink.require_interface(links, desired["name"], "name")
        after = {"name": desired["name"], "type": "ovs", "bridge": desired["bridge"], "vlan_id": desired["vlan_id"],
                 "trunks": desired["trunks"] or [], "mode": desired["mode"], "internal": desired["internal"]}
        if desired["internal"]:
            self.check_addresses(links, desired)
            before = observed if observed is not None and observed["internal"] else {}
            after.update({"enabled": desired["enabled"],
                          "mtu": desired["mtu"] if desired["mtu"] is not None else before.get("mtu"),
                          "addresses": desired["addresses"] if desired["addresses"] is not None
                          else before.get("addresses", [])})
        return after

    @staticmethod
    def ovs_port(facts):
        if facts is None:
            return None
        return {"bridge": facts["bridge"], "interface_type": "internal" if facts["internal"] else "", "options": {},
                "tag": facts["vlan_id"], "trunks": facts["trunks"], "vlan_mode": facts["mode"]}

    def plan_extra(self, plan, observed, after, cuts):
        if observed.get("type") != "ovs":
            super().plan_extra(plan, observed, after, cuts)

    # ------------------------------------------------------------------ kernel
    def facts_of(self, link):
        out = {**self.base_facts(link), "bridge": link["master"]}
        out.update(link["vlan"] or {"parent": None, "vlan_id": None})
        return out

    def check_references(self, links, desired):
        super().check_references(links, desired)
        if desired.get("parent"):
            netlink.require_interface(links, desired["parent"], "parent")

    def created(self, desired):
        return {"name": desired["name"], "type": "vlan", "enabled": False, "mtu": None, "mac": None, "addresses": [],
                "parent": desired["parent"], "vlan_id": desired["vlan_id"], "bridge": None}

    def create_args(self, facts):
        return {"data": [netlink.attr(netlink.IFLA_VLAN_ID, struct.pack("=H", facts["vlan_id"]))], "link": facts["parent"]}

    def persisted(self, after):
        return {"kind": "vlan", **{k: after[k] for k in ("name", "enabled", "mtu", "addresses", "parent", "vlan_id")}}
