# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt virtual networks: input validation, live updates (virNetworkUpdate) or redefine; the XML
model is network_xml."""

from __future__ import annotations

import ipaddress

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import (
    InfoService,
    Opt,
    Plan,
    differences,
    name_opt,
    state_opt,
)
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService, libvirt, listed
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import network_xml as nx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import xmlmerge
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.network_xml import entry_xml, parse, render, sort_entries
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import (
    LXML_REQUIREMENT,
    from_string,
    persistent_xml,
    to_string,
)

FORWARD_MODES = ["nat", "route", "open", "isolated", "bridge"]

DHCP_RANGE = {"start": Opt(required=True), "end": Opt(required=True)}
DHCP_HOST = {"mac": Opt(), "ip": Opt(required=True), "name": Opt()}
DNS_HOST = {"ip": Opt(required=True), "hostnames": Opt(type="list", elements="str", required=True)}
PORTGROUP = {
    "name": Opt(required=True),
    "vlan": Opt(type="int"),
    "trunk": Opt(type="list", elements="int"),
    "default": Opt(type="bool", default=False),
}

# Sections libvirt can change on a running network without restarting it (virNetworkUpdate).
# option -> (section constant name, needs an <ip> element)
LIVE_SECTIONS = {
    "dhcp_ranges": "VIR_NETWORK_SECTION_IP_DHCP_RANGE",
    "dhcp_hosts": "VIR_NETWORK_SECTION_IP_DHCP_HOST",
    "dns_hosts": "VIR_NETWORK_SECTION_DNS_HOST",
    "portgroups": "VIR_NETWORK_SECTION_PORTGROUP",
}


# ---------------------------------------------------------------- input checks
def subnet(address):
    return ipaddress.IPv4Interface(address).network if address else None


def definition(net):
    """The persistent (inactive) XML of a network: what a restart would bring up."""
    return persistent_xml(net, libvirt.VIR_NETWORK_XML_INACTIVE)


# ---------------------------------------------------------------- service
class NetworkService(LibvirtService):
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    result_key = "network"
    options = {
        "name": name_opt(),
        "state": state_opt(["present", "absent"]),
        "forward": Opt(choices=FORWARD_MODES, update="restart"),
        "bridge": Opt(update="restart"),
        "openvswitch": Opt(type="bool", update="restart"),
        "address": Opt(update="restart"),
        "dhcp_ranges": Opt(type="list", elements="dict", options=DHCP_RANGE, update="live", compare="set"),
        "dhcp_hosts": Opt(type="list", elements="dict", options=DHCP_HOST, update="live", compare="set"),
        "dns_hosts": Opt(type="list", elements="dict", options=DNS_HOST, update="live", compare="set"),
        "portgroups": Opt(type="list", elements="dict", options=PORTGROUP, update="live", compare="set"),
        "mtu": Opt(type="int", update="restart"),
        "active": Opt(type="bool", default=True),
        "autostart": Opt(type="bool"),
        "restart": Opt(type="bool", default=False),
        "xml": Opt(),  # compared by plan, as a merged tree
    }
    # the options a user can set on top of their own xml, which then win
    MODELLED = ("forward", "bridge", "openvswitch", "address", "dhcp_ranges", "dhcp_hosts", "dns_hosts",
                "portgroups", "mtu")

    # ------------------------------------------------------------ desired
    def desired(self):
        p = self.params
        d = {key: p[key]
             for key in ("name", "state", "forward", "bridge", "openvswitch", "mtu", "active", "autostart", "restart")}
        self.check_name(d["name"])
        if p["state"] == "absent":
            return d
        d["mtu"] = validate.mtu(d["mtu"], "mtu")
        d["bridge"] = validate.interface_name(d["bridge"], "bridge")
        d["address"] = self._address(p["address"])
        net = subnet(d["address"])
        d["dhcp_ranges"] = self._ranges(p["dhcp_ranges"], net)
        d["dhcp_hosts"] = self._dhcp_hosts(p["dhcp_hosts"], net)
        d["dns_hosts"] = self._dns_hosts(p["dns_hosts"])
        d["portgroups"] = self._portgroups(p["portgroups"], d["openvswitch"])
        d["xml"] = self._xml(p["xml"], d) if p.get("xml") else None
        if d["forward"] == "bridge":
            if not d["bridge"]:
                raise InputError("bridge", "forward=bridge needs the name of an existing host bridge")
            for option in ("address", "dhcp_ranges", "dhcp_hosts", "dns_hosts"):
                if d[option]:
                    raise InputError(option, "not possible with forward=bridge: the host bridge's own "
                                             "network provides addresses; use forward=nat/route/open/isolated")
        else:
            if d["openvswitch"] and d["forward"] is not None:
                raise InputError("openvswitch", "only with forward=bridge (an existing Open vSwitch bridge)")
            if d["address"] is None and d["xml"] is None and (d["dhcp_ranges"] or d["dhcp_hosts"]):
                raise InputError("address", "required for DHCP (dhcp_ranges, dhcp_hosts)")
        return d

    def _xml(self, text, d):
        """The user's <network> with the options they also set edited in (the options win),
        marked for xmlmerge.merge."""
        root = xmlmerge.user_xml(text, "network", d["name"])
        keys = [key for key in self.MODELLED if d[key] is not None]
        if keys:
            state = parse(to_string(root))
            state.update((key, d[key]) for key in keys)
            if state["address"] is None and (state["dhcp_ranges"] or state["dhcp_hosts"]):
                raise InputError("address", "required for DHCP (dhcp_ranges, dhcp_hosts): set it, or an "
                                            "<ip> in xml")
            nx.overlay(root, state, keys)
        return xmlmerge.mark(nx.normalise(root), nx.OWNED)

    @staticmethod
    def _address(value):
        if value is None:
            return None
        iface = ipaddress.IPv4Interface(validate.ip_interface(value, "address", version=4))
        if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
            raise InputError("address", "%s is the network or broadcast address of %s; use a host address"
                                        % (iface.ip, iface.network))
        return str(iface)

    @staticmethod
    def _ip(option, value, net):
        ip = ipaddress.IPv4Address(validate.ip_address(value, option, version=4))
        if net is not None and ip not in net:
            raise InputError(option, "%s is outside the network %s (address)" % (ip, net))
        return str(ip)

    def _ranges(self, ranges, net):
        if ranges is None:
            return None
        out = []
        for item in ranges:
            start = self._ip("dhcp_ranges", item["start"], net)
            end = self._ip("dhcp_ranges", item["end"], net)
            if ipaddress.IPv4Address(start) > ipaddress.IPv4Address(end):
                raise InputError("dhcp_ranges", "start %s is after end %s" % (start, end))
            out.append({"start": start, "end": end})
        return sort_entries(out)

    def _dhcp_hosts(self, hosts, net):
        if hosts is None:
            return None
        out = []
        for item in hosts:
            if not item.get("mac") and not item.get("name"):
                raise InputError("dhcp_hosts", "each host needs a mac or a name (entry for %s)" % item["ip"])
            # libvirt refuses a multicast MAC here; dnsmasq serves names with '_' too
            mac = validate.mac_address(item.get("mac"), "dhcp_hosts", unicast=True)
            name = validate.hostname(item.get("name"), "dhcp_hosts", underscore=True)
            out.append({"mac": mac, "ip": self._ip("dhcp_hosts", item["ip"], net), "name": name})
        return sort_entries(out)

    def _dns_hosts(self, hosts):
        if hosts is None:
            return None
        return sort_entries({"ip": self._ip("dns_hosts", item["ip"], None),
                             "hostnames": sorted(validate.hostname(name, "dns_hosts", underscore=True)
                                                 for name in item["hostnames"])}
                            for item in hosts)

    @staticmethod
    def _portgroups(groups, openvswitch):
        if groups is None:
            return None
        out = []
        for item in groups:
            if not item["name"] or set(item["name"]) & set("<>&'\"") or item["name"] != item["name"].strip():
                # libvirt writes port group names into its own XML unescaped, then cannot read it back
                raise InputError("portgroups", "%r: a portgroup name must be non-empty, without <, >, &, "
                                               "quotes or surrounding spaces" % item["name"])
            tags = ([item["vlan"]] if item.get("vlan") is not None else []) + (item.get("trunk") or [])
            for tag in tags:
                try:
                    validate.vlan_id(tag, "portgroups")
                except InputError as exc:
                    raise InputError("portgroups", "portgroup %s: %s" % (item["name"], exc.problem))
            if tags and not openvswitch:
                raise InputError("portgroups", "VLAN tags on portgroup %s need openvswitch=true: a Linux "
                                               "bridge network cannot tag guest ports" % item["name"])
            out.append({"name": item["name"], "vlan": item.get("vlan"),
                        "trunk": sorted(item["trunk"]) if item.get("trunk") else None,
                        "default": bool(item.get("default"))})
        if sum(item["default"] for item in out) > 1:
            raise InputError("portgroups", "at most one portgroup can be the default")
        return sort_entries(out)

    # ------------------------------------------------------------ observed
    def observe(self, desired, batch=None):
        net = self.net(desired["name"])
        if net is None:
            return None
        state = parse(definition(net))
        state["active"] = bool(net.isActive())
        state["autostart"] = bool(net.autostart())
        state["persistent"] = bool(net.isPersistent())
        # a redefined running network keeps its old definition until restarted
        running = _runnable(net.XMLDesc(0)) if state["active"] else None
        state["restart_pending"] = running is not None and not xmlmerge.same(running, _runnable(definition(net)))
        if desired.get("xml") is not None:
            state["tree"] = nx.normalise(from_string(definition(net)))
        return state

    def net(self, name):
        return self.lookup("network", name)

    def resolve(self, desired, observed, batch=None):
        """Errors libvirt would only report after we had defined something, checked up front: the
        host bridge exists, the subnet overlaps no other libvirt network."""
        if desired["state"] == "present":
            self._check_host(desired if desired["xml"] is None else parse(xmlmerge.tostring(desired["xml"])))
        return desired

    def _check_host(self, desired):
        if desired["forward"] == "bridge":
            try:
                self.conn.interfaceLookupByName(desired["bridge"])
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_INTERFACE:
                    raise InputError("bridge", "host bridge %r does not exist; create it first (for Open "
                                               "vSwitch: ovs-vsctl add-br)" % desired["bridge"])
                if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
        mine = subnet(desired["address"])
        if mine is None:
            return
        others = [net for net in self.conn.listAllNetworks() if net.name() != desired["name"]]
        for name, theirs in listed(others, lambda net: (net.name(), subnet(parse(definition(net))["address"]))):
            if theirs is not None and mine.overlaps(theirs):
                raise InputError("address", "%s overlaps %s of libvirt network %r; choose a free subnet"
                                            % (mine, theirs, name))

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        name = desired["name"]
        plan = Plan(observed)
        if desired["state"] == "absent":
            plan.after = None
            if observed is not None:
                if observed["active"]:
                    plan.step("stop network %s" % name, lambda: self.net(name).destroy())
                if observed["persistent"]:
                    plan.step("undefine network %s" % name, lambda: self.net(name).undefine())
            return plan

        if observed is None and desired["xml"] is not None:
            xml = xmlmerge.tostring(desired["xml"])
            plan.after = dict(parse(xml), uuid=None, bridge=parse(xml)["bridge"], mac=None, active=False,
                              autostart=False, persistent=True, restart_pending=False)
            plan.step("define network %s" % name, lambda: self.conn.networkDefineXML(xml),
                      undo=lambda: self.net(name).undefine())
            self._plan_create_tail(plan, desired)
            return plan
        if observed is None:
            # defaults apply to a new network only: on an existing one an omitted option is unmanaged
            desired = dict(desired, forward=desired["forward"] or "nat",
                           openvswitch=bool(desired["openvswitch"]))
            if desired["address"] is None and desired["forward"] in ("nat", "route", "open"):
                raise InputError("address", "forward=%s needs the network's IPv4 address/prefix, "
                                            "e.g. 198.18.5.1/24" % desired["forward"])
            plan.after = self._predict(desired, {"name": name, "uuid": None, "bridge": None, "mac": None,
                                                 "active": False, "autostart": False, "persistent": True,
                                                 "restart_pending": False})
            xml = render(plan.after)
            plan.step("define network %s" % name, lambda: self.conn.networkDefineXML(xml),
                      undo=lambda: self.net(name).undefine())
            self._plan_create_tail(plan, desired)
            return plan

        if desired["xml"] is not None:
            redefine = self._plan_xml(plan, desired, observed)
        else:
            redefine = self._plan_options(plan, desired, observed)
        if plan.after["restart_pending"] and desired["active"]:
            if desired["restart"]:
                plan.step("restart network %s" % name, lambda: self._restart(name))
                plan.after["restart_pending"] = False
            else:
                plan.restart_required = True
                plan.warnings.append("network %s: %s applies when the network restarts (virsh net-destroy + "
                                     "net-start, or restart=true); guests on it lose connectivity briefly and may need their NICs reattached"
                                     % (name, ", ".join(redefine) or "its changed definition"))
        if desired["active"] and not observed["active"]:
            plan.step("start network %s" % name, lambda: self.net(name).create())
            plan.after["restart_pending"] = False
        elif not desired["active"] and observed["active"]:
            plan.step("stop network %s" % name, lambda: self.net(name).destroy())
            plan.after["restart_pending"] = False
        plan.after["active"] = desired["active"]
        self._plan_autostart(plan, desired, observed["autostart"])
        return plan

    def _plan_create_tail(self, plan, desired):
        name = desired["name"]
        if desired["active"]:
            plan.step("start network %s" % name, lambda: self.net(name).create(),
                      undo=lambda: self.net(name).destroy())
        plan.after["active"] = desired["active"]
        self._plan_autostart(plan, desired, False)

    def _plan_options(self, plan, desired, observed):
        """Steps for the options that differ; returns those that need a redefine."""
        name = desired["name"]
        plan.changes = differences(self.options, desired, observed)
        plan.after = self._predict(desired, observed)
        redefine = [c.option for c in plan.changes if c.update == "restart"]
        live = [c for c in plan.changes if c.update == "live"]
        # live updates change the running network and its config together (only the config of an
        # inactive network). With a change that needs a redefine, the whole new definition goes in
        # at once: live entries may not fit the old subnet, and a restart applies them anyway.
        if not redefine:
            for change in live:
                self._plan_live(plan, name, change)
        else:
            after = plan.after
            plan.step("redefine network %s (%s)" % (name, ", ".join(c.option for c in plan.changes)),
                      lambda: self.conn.networkDefineXML(render(after, definition(self.net(name)))))
            plan.after["restart_pending"] = observed["active"]
        return redefine

    def _plan_xml(self, plan, desired, observed):
        """Steps for the user's xml (with the options on it) merged onto the stored definition:
        when only entries of the live sections differ they are updated live, like the options;
        any other difference redefines the network. Returns what needs a redefine."""
        name, stored = desired["name"], observed["tree"]
        xmlmerge.uuid_check(desired["xml"], stored, "network %s" % name)
        merged = xmlmerge.merge(stored, desired["xml"], nx.normalise)
        plan.after = dict(observed, **parse(xmlmerge.tostring(merged)))
        del plan.after["tree"]
        if xmlmerge.same(merged, stored):
            return []
        if not xmlmerge.same(nx.without_live(merged), nx.without_live(stored)):
            xml = xmlmerge.tostring(merged)
            plan.step("redefine network %s (xml)" % name, lambda: self.conn.networkDefineXML(xml),
                      undo=lambda old=xmlmerge.tostring(stored): self.conn.networkDefineXML(old))
            plan.after["restart_pending"] = observed["active"]
            return ["xml"]
        for option in LIVE_SECTIONS:
            self._plan_live_xml(plan, name, option, nx.live_entries(stored, option), nx.live_entries(merged, option))
        return []

    def _predict(self, desired, observed):
        after = dict(observed)
        for key, opt in self.options.items():
            if opt.update is not None and desired.get(key) is not None:
                after[key] = desired[key]
        for key in ("address", "dhcp_ranges", "dhcp_hosts", "dns_hosts", "portgroups", "mtu", "openvswitch"):
            after.setdefault(key, [] if key in LIVE_SECTIONS else None)
        if after["forward"] == "bridge":
            after.update(address=None, dhcp_ranges=[], dhcp_hosts=[], dns_hosts=[], mac=None)
        return after

    def _plan_live(self, plan, name, change):
        # entries that changed are removed and added again; a failure puts the removed ones back
        before = change.before or []
        self._plan_entries(plan, name, change.option,
                           [(entry_xml(change.option, item), _label(item), False)
                            for item in before if item not in change.after] +
                           [(entry_xml(change.option, item), _label(item), True)
                            for item in change.after if item not in before])

    def _plan_live_xml(self, plan, name, option, before, after):
        """Live steps for one section from its entry elements before and after (compared canonically)."""
        have = {xmlmerge.dx.canonical(el): el for el in before}
        want = {xmlmerge.dx.canonical(el): el for el in after}
        self._plan_entries(plan, name, option,
                           [(nx.entry_string(el), _label(dict(el.attrib)), False)
                            for key, el in have.items() if key not in want] +
                           [(nx.entry_string(el), _label(dict(el.attrib)), True)
                            for key, el in want.items() if key not in have])

    def _plan_entries(self, plan, name, option, entries):
        """One step per (entry XML, label, add?) of a live section; removals first, each undone by
        its opposite."""
        section = getattr(libvirt, LIVE_SECTIONS[option])
        delete, add_last = libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
        for xml, label, add in sorted(entries, key=lambda entry: entry[2]):
            do, undo = (add_last, delete) if add else (delete, add_last)
            plan.step(("add %s entry %s to network %s" if add else "remove %s entry %s from network %s")
                      % (option, label, name),
                      lambda x=xml, c=do: self._update(name, c, section, x),
                      undo=lambda x=xml, c=undo: self._update(name, c, section, x))

    def _plan_autostart(self, plan, desired, current):
        name = desired["name"]
        plan.after["autostart"] = self.plan_autostart(plan, desired["autostart"], current, "network %s" % name,
                                                      lambda: self.net(name))

    # ------------------------------------------------------------ apply
    def _update(self, name, command, section, xml):
        net = self.net(name)
        flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
        if net.isActive():
            flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
        net.update(command, section, -1, xml, flags)

    def _restart(self, name):
        net = self.net(name)
        net.destroy()
        net.create()

    def facts(self, state):
        return {key: value for key, value in state.items() if key != "tree"} if state else state


def _label(item):
    return item.get("name") or item.get("ip") or item.get("start") or item.get("mac") or ""


def _runnable(xml):
    """A network definition, normalised, without what only the running network shows: how many
    guest interfaces use it or each of its host devices, and the NAT port range libvirt fills in
    when it starts a NAT network (1024-65535). What is left is what a restart would change."""
    tree = nx.normalise(from_string(xml))
    for el in tree.iter():
        el.attrib.pop("connections", None)
    for nat in tree.iterfind("forward/nat"):
        for port in nat.findall("port"):
            if (port.get("start"), port.get("end")) == ("1024", "65535"):
                nat.remove(port)
        if len(nat) == 0 and not nat.attrib:
            nat.getparent().remove(nat)
    return tree


# ---------------------------------------------------------------- network_info
class NetworkInfoService(InfoService, LibvirtService):
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    result_key = "networks"
    options = {"name": Opt()}

    def observe(self, desired, batch=None):
        def read(net):
            state = parse(definition(net))
            state["active"] = bool(net.isActive())
            state["autostart"] = bool(net.autostart())
            state["persistent"] = bool(net.isPersistent())
            state["leases"] = _leases(net) if state["active"] else []
            return state

        # one listing call for all networks, active and inactive
        networks = listed([net for net in self.conn.listAllNetworks(0)
                           if not desired["name"] or net.name() == desired["name"]], read)
        if desired["name"] and not networks:
            raise InputError("name", "libvirt network %r does not exist" % desired["name"])
        return sorted(networks, key=lambda n: n["name"])


def _leases(net):
    try:
        leases = net.DHCPLeases()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return None  # a driver without dnsmasq (remote ESX, test) cannot tell
        raise
    return sorted((_lease(lease) for lease in leases), key=lambda lease: lease["ip"])


def _lease(lease):
    return {"mac": lease.get("mac"), "ip": lease.get("ipaddr"), "prefix": lease.get("prefix"),
            "hostname": lease.get("hostname"), "client_id": lease.get("clientid"),
            "expires": lease.get("expirytime"), "interface": lease.get("iface")}
