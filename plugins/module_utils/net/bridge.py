# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_bridge: a Linux bridge (netlink) or an Open vSwitch bridge (OVSDB), with its ports,
addresses and link state. An OVS bridge's own interface is a kernel link too: its addresses,
MTU and up/down go through netlink like a Linux bridge's."""

from __future__ import annotations

import os

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.net import netlink
from ansible_collections.virtcloud.core.plugins.module_utils.net.host import CHANGE_OPTIONS, LINK_OPTIONS, LinkService, names

OVS_ONLY = ("datapath_type", "fail_mode", "controllers", "protocols")
LINUX_ONLY = ("stp", "forward_delay", "vlan_filtering")
PROTOCOLS = ["OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow14", "OpenFlow15"]
CONTROLLER_SCHEMES = ("tcp:", "ssl:", "unix:", "ptcp:", "pssl:", "punix:")


def forward_delay(value, option):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 30:
        raise InputError(option, "%r is not a forward delay in seconds (0 to 30; 2 to 30 with stp), e.g. 4" % (value,))
    return value


def controllers(value, option):
    """OpenFlow controller targets: tcp:IP[:PORT], ssl:IP[:PORT], unix:PATH or the passive p* forms."""
    if value is None:
        return None
    for i, target in enumerate(value):
        if not isinstance(target, str) or not target.startswith(CONTROLLER_SCHEMES):
            raise InputError("%s[%d]" % (option, i), "%r is not a controller target like tcp:198.18.1.254:6653 "
                                                     "(tcp:, ssl:, unix:, ptcp:, pssl:, punix:)" % (target,))
        scheme, _sep, rest = target.partition(":")
        if scheme in ("tcp", "ssl"):
            host = rest.rsplit(":", 1)[0] if rest.count(":") == 1 or rest.startswith("[") else rest
            validate.ip_address(host.strip("[]"), "%s[%d]" % (option, i))
    return sorted(set(value))


class BridgeService(LinkService):
    kind = "bridge"
    master_fact = None
    connection = {"ovsdb": Opt(default=None)}
    options = {
        "name": name_opt(parse=validate.interface_name),
        "state": state_opt(["present", "absent"]),
        "type": Opt(default="linux", choices=["linux", "ovs"]),
        **LINK_OPTIONS,
        "ports": Opt(type="list", elements="str", parse=names),
        "ports_exclusive": Opt(type="bool", default=False),
        "stp": Opt(type="bool"),
        "forward_delay": Opt(type="int", parse=forward_delay),
        "vlan_filtering": Opt(type="bool"),
        "datapath_type": Opt(choices=["system", "netdev"]),
        "fail_mode": Opt(choices=["standalone", "secure"]),
        "controllers": Opt(type="list", elements="str", parse=controllers),
        "protocols": Opt(type="list", elements="str", choices=PROTOCOLS),
        **CHANGE_OPTIONS,
    }
    result_key = "bridge"

    def desired(self):
        d = self.parsed()
        wrong = OVS_ONLY if d["type"] == "linux" else LINUX_ONLY
        for key in wrong:
            if d.get(key) is not None:
                raise InputError(key, "applies to type=%s bridges only" % ("ovs" if d["type"] == "linux" else "linux"))
        if d.get("protocols") is not None:
            d["protocols"] = sorted(set(d["protocols"]))
        if d["stp"] and d["forward_delay"] is not None and d["forward_delay"] < 2:
            raise InputError("forward_delay", "must be 2 to 30 seconds with stp (the kernel refuses less)")
        self.check_ovs_persist(d)
        if d["vlan_filtering"] and netlink.bridge_vlan_filtering_support() is False:
            raise InputError("vlan_filtering", "this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); "
                                               "use an Open vSwitch bridge (type=ovs) for VLANs")
        return d

    def facts_type(self):
        return "ovs" if self.params.get("type") == "ovs" else "linux"

    # ------------------------------------------------------------------ observe
    def observe(self, desired, batch=None):
        links = self.kernel.snapshot()
        name = desired["name"]
        ovs_bridges = self.ovs.snapshot()["bridges"] if self.ovs else {}
        if name in ovs_bridges:
            return self.ovs_facts(name, ovs_bridges[name], links.get(name))
        link = links.get(name)
        return None if link is None else self.facts_of(link)

    def facts_of(self, link):
        out = {**self.base_facts(link), "type": "linux" if link["kind"] == "bridge" else link["kind"],
               "ports": list(link["ports"])}
        out.update(link["bridge"] or {})
        return out

    @staticmethod
    def ovs_facts(name, bridge, link):
        """An OVS bridge; its kernel interface (absent while ovs-vswitchd has not made it) gives the link facts."""
        base = {"enabled": False, "mtu": None, "mac": None, "addresses": []}
        if link is not None:
            base = {k: (list(link[k]) if k == "addresses" else link[k]) for k in base}
        return {"name": name, **base, "type": "ovs", "ports": sorted(p for p in bridge["ports"] if p != name),
                "datapath_type": bridge["datapath_type"] or "system", "fail_mode": bridge["fail_mode"],
                "controllers": list(bridge["controllers"]), "protocols": list(bridge["protocols"])}

    # ------------------------------------------------------------------ plan
    def check_kind(self, observed, option="type"):
        if observed is not None and observed["type"] != self.facts_type():
            raise InputError("type", "%s exists and is a %s bridge%s, not type=%s" % (
                observed["name"], observed["type"], "" if observed["type"] in ("linux", "ovs") else " (not a bridge)",
                self.facts_type()))

    def resolve(self, desired, observed, batch=None):
        self.check_kind(observed)
        if (observed is None and desired["state"] == "present" and desired["type"] == "ovs"
                and desired["datapath_type"] in (None, "system") and not os.path.isdir("/sys/module/openvswitch")):
            raise InputError("datapath_type", "this kernel has no openvswitch module, so the default (system) datapath "
                                              "cannot forward; give datapath_type=netdev (the userspace datapath)")
        return desired

    def check_references(self, links, desired):
        super().check_references(links, desired)
        for port in desired.get("ports") or []:
            netlink.require_interface(links, port, "ports")
            if port == desired["name"]:
                raise InputError("ports", "a bridge cannot be its own port")

    def created(self, desired):
        if desired["type"] == "ovs":
            return {"name": desired["name"], "type": "ovs", "enabled": False, "mtu": None, "mac": None, "addresses": [],
                    "ports": [], "datapath_type": "system", "fail_mode": None, "controllers": [], "protocols": []}
        return {"name": desired["name"], "type": "linux", "enabled": False, "mtu": 1500, "mac": None, "addresses": [],
                "ports": [], "stp": False, "forward_delay": 15, "vlan_filtering": False}

    def wanted(self, desired, observed):
        after = super().wanted(desired, observed)
        if desired["ports"] is not None and not desired["ports_exclusive"]:
            after["ports"] = sorted(set(desired["ports"]) | set((observed or {}).get("ports") or []))
        return after

    @property
    def mutable(self):
        if self.params.get("type") == "ovs":
            return LinkService.mutable
        return {**LinkService.mutable,
                "stp": lambda v: {"kind": "bridge", "data": [netlink.u32(netlink.IFLA_BR_STP_STATE, int(v))]},
                "forward_delay": lambda v: {"kind": "bridge", "data": [
                    netlink.u32(netlink.IFLA_BR_FORWARD_DELAY, v * netlink.CLOCK_HZ)]},
                "vlan_filtering": lambda v: {"kind": "bridge", "data": [netlink.u8(netlink.IFLA_BR_VLAN_FILTERING, int(v))]}}

    def create_args(self, facts):
        data = [netlink.u32(netlink.IFLA_BR_STP_STATE, int(facts["stp"])),
                netlink.u32(netlink.IFLA_BR_FORWARD_DELAY, facts["forward_delay"] * netlink.CLOCK_HZ)]
        if facts["vlan_filtering"]:  # a kernel without the feature refuses the attribute, even 0
            data.append(netlink.u8(netlink.IFLA_BR_VLAN_FILTERING, 1))
        return {"data": data}

    def build(self, facts):
        if facts["type"] != "ovs":
            super().build(facts)
            # a bridge takes the smallest MAC of its ports, and changes it as ports come and go, unless its
            # own is set: keep the one it was made with (or had, when a rollback makes it again)
            self.kernel.change(facts["name"], mac=facts["mac"] or self.kernel.snapshot()[facts["name"]]["mac"])
            return
        self.ovs.add_bridge(facts["name"], datapath_type=facts["datapath_type"], fail_mode=facts["fail_mode"],
                            controllers=facts["controllers"], protocols=facts["protocols"])
        for port in facts["ports"]:
            self.ovs.add_port(facts["name"], port)
        if facts["mtu"]:
            self.kernel.change(facts["name"], mtu=facts["mtu"])
        for address in facts["addresses"]:
            self.kernel.address(facts["name"], address)
        if facts["enabled"]:
            self.kernel.set_enabled(facts["name"], True)

    def connect_extra(self, facts, before):
        for port in facts["ports"]:
            self.kernel.set_master(port, facts["name"])

    def delete(self, facts):
        if facts["type"] == "ovs":
            self.ovs.del_bridge(facts["name"])
        else:
            self.kernel.delete(facts["name"])

    def plan_extra(self, plan, observed, after, cuts):
        name = observed["name"]
        if observed["type"] == "ovs":
            columns = {k: after[k] for k in OVS_ONLY if observed[k] != after[k]}
            if columns:
                old = {k: observed[k] for k in columns}
                plan.step("set %s of OVS bridge %s" % (", ".join(sorted(columns)), name),
                          lambda: self.ovs.set_bridge(name, **columns), undo=lambda: self.ovs.set_bridge(name, **old))
        if observed["type"] != "ovs" and set(after["ports"]) != set(observed["ports"]):
            plan.after["mac"] = None  # unless it was set, the kernel gives the bridge the smallest MAC of its ports
        for port in sorted(set(after["ports"]) - set(observed["ports"])):
            cuts.append((port, "makes %s a port of %s" % (port, name)))
            if observed["type"] == "ovs":
                plan.step("add port %s to %s" % (port, name), lambda p=port: self.ovs.add_port(name, p),
                          undo=lambda p=port: self.ovs.del_port(p))
            else:
                plan.step("add port %s to %s" % (port, name), lambda p=port: self.kernel.set_master(p, name),
                          undo=lambda p=port: self.kernel.set_master(p, None))
        for port in sorted(set(observed["ports"]) - set(after["ports"])):
            cuts.append((port, "detaches %s from %s" % (port, name)))
            if observed["type"] == "ovs":
                plan.step("remove port %s from %s" % (port, name), lambda p=port: self.ovs.del_port(p),
                          undo=lambda p=port: self.ovs.add_port(name, p))
            else:
                plan.step("remove port %s from %s" % (port, name), lambda p=port: self.kernel.set_master(p, None),
                          undo=lambda p=port: self.kernel.set_master(p, name))

    def persisted(self, after):
        if after["type"] == "ovs":
            return None
        return {"kind": "bridge", **{k: after[k] for k in ("name", "enabled", "mtu", "addresses", "ports", "stp",
                                                           "forward_delay", "vlan_filtering")}}
