# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_vlan: a kernel 802.1Q sub-interface (netlink), a port's VLANs on a VLAN-filtering Linux
bridge (netlink, AF_BRIDGE), or an Open vSwitch access/trunk port (OVSDB).

Kernels without 802.1Q (no 8021q module) or without bridge VLAN filtering are told apart before
anything is touched, and the error names the missing feature; an Open vSwitch port needs neither."""

from __future__ import annotations

import struct

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.net import netlink, ovsport
from ansible_collections.virtcloud.core.plugins.module_utils.net.host import CHANGE_OPTIONS, LINK_OPTIONS, LinkService, guard

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


def bridge_vlans(mode, vlan_id, trunks_):
    """The VLANs {vid: flags} a Linux bridge port has in `mode` (OVS's names): the PVID is the
    VLAN untagged frames arrive in; it leaves untagged, but tagged in native-tagged."""
    out = {vid: 0 for vid in trunks_}
    if mode != "trunk":
        out[vlan_id] = netlink.VLAN_PVID | (0 if mode == "native-tagged" else netlink.VLAN_UNTAGGED)
    return out


def bridge_port_facts(vlans):
    """vlan_id (the PVID), trunks (every other VLAN) and mode of a port's VLANs {vid: flags}; mode
    null when no mode describes them (no VLAN, or an untagged one besides the PVID)."""
    pvid = next((vid for vid, flags in vlans.items() if flags & netlink.VLAN_PVID), None)
    others = sorted(vid for vid in vlans if vid != pvid)
    if any(vlans[vid] & netlink.VLAN_UNTAGGED for vid in others) or not vlans:
        mode = None
    elif pvid is None:
        mode = "trunk"
    elif not vlans[pvid] & netlink.VLAN_UNTAGGED:
        mode = "native-tagged"
    else:
        mode = "native-untagged" if others else "access"
    return {"vlan_id": pvid, "trunks": others, "mode": mode}


def describe(vlans):
    """'10 (PVID, untagged), 20, 30' or 'none'."""
    flags = {netlink.VLAN_PVID: "PVID", netlink.VLAN_UNTAGGED: "untagged"}
    return ", ".join("%d%s" % (vid, " (%s)" % ", ".join(v for k, v in flags.items() if vlans[vid] & k)
                               if vlans[vid] else "") for vid in sorted(vlans)) or "none"


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
        if d["type"] == "bridge":
            self.check_bridge_port(d)
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
        elif d["type"] == "ovs":
            if d["parent"] is not None:
                raise InputError("parent", "applies to type=linux only; an Open vSwitch port belongs to a bridge")
            if present and d["vlan_id"] is None and not d["trunks"]:
                raise InputError("vlan_id", "an Open vSwitch VLAN port needs vlan_id (access tag) or trunks")
            for key in ("addresses", "mtu"):
                if d[key] is not None and not d["internal"]:
                    raise InputError(key, "an address or MTU needs an interface of the switch's own: set internal=true")
        self.check_ovs_persist(d)
        return d

    # ------------------------------------------------------------------ Linux bridge VLAN filtering
    @staticmethod
    def check_bridge_port(d):
        """The options of type=bridge, completed with the mode a VLAN and/or trunks imply."""
        for key in ("parent", "mtu", "addresses"):
            if d[key] is not None:
                raise InputError(key, "does not apply to type=bridge: the port's VLANs on a bridge are set, the "
                                      "interface itself is not changed")
        if d["internal"]:
            raise InputError("internal", "applies to type=ovs only")
        if d["persist"] != "none":
            raise InputError("persist", "is not available with type=bridge yet; leave it at none")
        if d["state"] == "absent":
            return
        if d["bridge"] is None:
            raise InputError("bridge", "is required with type=bridge: the Linux bridge the port's VLANs are on")
        if d["mode"] is None:
            d["mode"] = ("native-untagged" if d["trunks"] else "access") if d["vlan_id"] is not None else "trunk"
        if d["mode"] == "trunk":
            if d["vlan_id"] is not None:
                raise InputError("vlan_id", "a trunk port carries only tagged VLANs (trunks); for an untagged VLAN "
                                            "as well use mode=native-untagged")
            if not d["trunks"]:
                raise InputError("trunks", "mode=trunk needs the VLANs the port carries")
        elif d["vlan_id"] is None:
            raise InputError("vlan_id", "mode=%s needs vlan_id: the VLAN untagged frames belong to (PVID)" % d["mode"])
        elif d["mode"] == "access" and d["trunks"]:
            raise InputError("trunks", "an access port is in one VLAN; for tagged VLANs as well use mode=native-untagged")
        if netlink.bridge_vlan_filtering_support() is False:
            raise InputError("type", "type=bridge needs bridge VLAN filtering, which this kernel does not have "
                                     "(CONFIG_BRIDGE_VLAN_FILTERING); use type=ovs (an Open vSwitch access or trunk port)")

    def observe_bridge_port(self, desired):
        links = self.kernel.snapshot()
        link = links.get(desired["name"])
        if link is None:
            return None
        master = links.get(link["master"]) if link["master"] else None
        if master is None or master["kind"] != "bridge" or desired["bridge"] not in (None, master["name"]):
            return {"name": link["name"], "type": "bridge", "bridge": None, "vlans": {},
                    **bridge_port_facts({}), "kind": link["kind"]}
        vlans = self.kernel.bridge_vlans().get(link["name"], {})
        return {"name": link["name"], "type": "bridge", "bridge": master["name"], "vlans": vlans,
                **bridge_port_facts(vlans), "kind": link["kind"]}

    def plan_bridge_port(self, desired, observed):
        """Attach the port to the bridge (or detach it: absent), then give it exactly the VLANs
        of its mode: one request adds or changes, one removes."""
        links = self.kernel.snapshot()
        name = desired["name"]
        if desired["state"] == "absent":
            plan = Plan(observed)
            plan.after = None
            if observed is not None and observed["bridge"] is not None:
                guard(links, [(name, "detaches %s from %s" % (name, observed["bridge"]))], desired["force"])
                plan.step("detach %s from %s" % (name, observed["bridge"]), lambda: self.kernel.set_master(name, None),
                          undo=lambda: (self.kernel.set_master(name, observed["bridge"]),
                                        self.sync_vlans(name, observed["vlans"])))
            return plan
        netlink.require_interface(links, name, "name")
        bridge = netlink.require_interface(links, desired["bridge"], "bridge")
        if bridge["kind"] != "bridge":
            raise InputError("bridge", "%s is a %s, not a Linux bridge" % (desired["bridge"], bridge["kind"]))
        if not bridge["bridge"]["vlan_filtering"]:
            raise InputError("bridge", "bridge %s does not filter VLANs; set vlan_filtering=true on it (host_bridge)"
                             % desired["bridge"])
        if observed["kind"] == "bridge":
            raise InputError("name", "%s is a bridge itself, not a port; name the interface the VLANs are on" % name)
        vlans = bridge_vlans(desired["mode"], desired["vlan_id"], desired["trunks"] or [])
        after = {**observed, "bridge": desired["bridge"], "vlans": vlans, **bridge_port_facts(vlans)}
        plan = Plan(observed, after=after)
        before = observed["vlans"]
        if observed["bridge"] != desired["bridge"]:
            old = links[name]["master"]
            guard(links, [(name, "makes %s a port of %s" % (name, desired["bridge"]))], desired["force"])
            plan.step("attach %s to %s" % (name, desired["bridge"]), lambda: self.kernel.set_master(name, desired["bridge"]),
                      undo=lambda: self.kernel.set_master(name, old))
            before = None  # the bridge gives a new port its default VLAN; what there is is read then
        if before != vlans:
            plan.step("set VLANs of %s on %s to %s" % (name, desired["bridge"], describe(vlans)),
                      lambda: self.sync_vlans(name, vlans), undo=lambda: self.sync_vlans(name, observed["vlans"]))
        return plan

    def check_kind(self, observed, option="name"):
        if self.params.get("type") != "bridge":
            super().check_kind(observed, option)

    def facts(self, state):
        if state is None or state.get("type") != "bridge":
            return state
        return {k: v for k, v in state.items() if k not in ("vlans", "kind")}

    def sync_vlans(self, name, vlans):
        have = self.kernel.bridge_vlans().get(name, {})
        self.kernel.set_bridge_vlans(name, {vid: flags for vid, flags in vlans.items() if have.get(vid) != flags},
                                     remove=[vid for vid in have if vid not in vlans])

    # ------------------------------------------------------------------ Open vSwitch
    def observe(self, desired, batch=None):
        if desired["type"] == "bridge":
            return self.observe_bridge_port(desired)
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
        if desired["type"] == "bridge":
            return self.plan_bridge_port(desired, observed)
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
            parent = netlink.require_interface(links, desired["parent"], "parent")
            if desired["enabled"] and not parent["enabled"]:
                raise InputError("parent", "%s is down, and the kernel brings no VLAN up on a parent that is down; "
                                           "bring %s up first, or set enabled=false" % (parent["name"], parent["name"]))

    def created(self, desired):
        return {"name": desired["name"], "type": "vlan", "enabled": False, "mtu": None, "mac": None, "addresses": [],
                "parent": desired["parent"], "vlan_id": desired["vlan_id"], "bridge": None}

    def create_args(self, facts):
        return {"data": [netlink.attr(netlink.IFLA_VLAN_ID, struct.pack("=H", facts["vlan_id"]))], "link": facts["parent"]}

    def persisted(self, after):
        return {"kind": "vlan", **{k: after[k] for k in ("name", "enabled", "mtu", "addresses", "parent", "vlan_id")}}
