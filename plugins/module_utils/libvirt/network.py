# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt virtual networks: XML model, normalisation, live updates (virNetworkUpdate) or redefine."""

from __future__ import annotations

import ipaddress

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import InfoService, Opt, Plan, differences
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService, libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import (
    LXML_REQUIREMENT,
    child,
    from_string,
    persistent_xml,
    replace_children,
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


# ---------------------------------------------------------------- XML <-> normalised dict
def _sorted(items):
    """Entries in a stable order (their fields in the order the normalisers build them)."""
    return sorted(items, key=lambda item: tuple(str(v) for v in item.values()))


def _range_xml(item):
    return '<range start="%s" end="%s"/>' % (item["start"], item["end"])


def _dhcp_host_xml(item):  # the snippets are built from validated values: addresses, host names
    attrs = "".join(' %s="%s"' % (key, item[key]) for key in ("mac", "name", "ip") if item.get(key))
    return "<host%s/>" % attrs


def _dns_host_xml(item):
    names = "".join("<hostname>%s</hostname>" % name for name in item["hostnames"])
    return '<host ip="%s">%s</host>' % (item["ip"], names)


def _portgroup_xml(item):
    vlan = ""
    if item.get("vlan") is not None or item.get("trunk"):
        tags = [item["vlan"]] if item.get("vlan") is not None else []
        tags += [t for t in item.get("trunk") or [] if t not in tags]
        native = ' nativeMode="untagged"' if item.get("vlan") is not None and item.get("trunk") else ""
        trunk = ' trunk="yes"' if item.get("trunk") else ""
        vlan = "<vlan%s>%s</vlan>" % (trunk, "".join(
            '<tag id="%d"%s/>' % (tag, native if tag == item.get("vlan") else "") for tag in tags))
    default = ' default="yes"' if item.get("default") else ""
    return '<portgroup name="%s"%s>%s</portgroup>' % (item["name"], default, vlan)


ITEM_XML = {"dhcp_ranges": _range_xml, "dhcp_hosts": _dhcp_host_xml, "dns_hosts": _dns_host_xml,
            "portgroups": _portgroup_xml}


def _parse_portgroup(node):
    item = {"name": node.get("name"), "vlan": None, "trunk": None, "default": node.get("default") == "yes"}
    vlan = node.find("vlan")
    if vlan is not None:
        tags = vlan.findall("tag")
        if vlan.get("trunk") == "yes" or len(tags) > 1:
            native = [int(t.get("id")) for t in tags if t.get("nativeMode")]
            item["vlan"] = native[0] if native else None
            item["trunk"] = sorted(int(t.get("id")) for t in tags if not t.get("nativeMode"))
        elif tags:
            item["vlan"] = int(tags[0].get("id"))
    return item


def parse(xml):
    """Normalised dict of a network's XML. Generated values (uuid, bridge, mac) are kept as facts."""
    root = from_string(xml)
    forward = root.find("forward")
    mode = "isolated" if forward is None else forward.get("mode", "nat")
    bridge = root.find("bridge")
    virtualport = root.find("virtualport")
    ip = next((node for node in root.findall("ip") if node.get("family", "ipv4") == "ipv4"), None)
    address = None
    ranges, hosts = [], []
    if ip is not None:
        prefix = ip.get("prefix")
        if prefix is None and ip.get("netmask"):
            prefix = ipaddress.IPv4Network("0.0.0.0/%s" % ip.get("netmask")).prefixlen
        address = str(ipaddress.IPv4Interface("%s/%s" % (ip.get("address"), prefix)))
        for node in ip.findall("dhcp/range"):
            ranges.append({"start": node.get("start"), "end": node.get("end")})
        for node in ip.findall("dhcp/host"):
            hosts.append({"mac": (node.get("mac") or "").lower() or None, "ip": node.get("ip"),
                          "name": node.get("name")})
    dns_hosts = [{"ip": node.get("ip"), "hostnames": sorted(h.text for h in node.findall("hostname"))}
                 for node in root.findall("dns/host")]
    mtu = root.find("mtu")
    mac = root.find("mac")
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "forward": mode,
        "bridge": bridge.get("name") if bridge is not None else None,
        "openvswitch": virtualport is not None and virtualport.get("type") == "openvswitch",
        "address": address,
        "dhcp_ranges": _sorted(ranges),
        "dhcp_hosts": _sorted(hosts),
        "dns_hosts": _sorted(dns_hosts),
        "portgroups": _sorted(_parse_portgroup(node) for node in root.findall("portgroup")),
        "mtu": int(mtu.get("size")) if mtu is not None else None,
        "mac": mac.get("address") if mac is not None else None,
    }


def render(state, base=None):
    """XML for `state`, edited into `base` (the inactive XML) so that what we do not manage —
    IPv6, DNS forwarders, domain, NAT port ranges, generated uuid/mac/bridge — is kept as it is."""
    root = from_string(base or "<network/>")
    child(root, "name").text = state["name"]
    if state.get("uuid"):
        child(root, "uuid").text = state["uuid"]
    mode = state["forward"]
    forward = root.find("forward")
    if mode == "isolated":
        if forward is not None:
            root.remove(forward)
    else:
        if forward is None or forward.get("mode", "nat") != mode:
            replace_children(root, "forward", ['<forward mode="%s"/>' % mode])
    bridge = root.find("bridge")
    if state.get("bridge"):
        if bridge is None:
            bridge = child(root, "bridge")
        bridge.set("name", state["bridge"])
    if mode == "bridge":
        # a host bridge: libvirt neither creates it nor runs STP, dnsmasq or a MAC on it
        for key in ("stp", "delay"):
            if bridge is not None:
                bridge.attrib.pop(key, None)
        for node in root.findall("mac") + root.findall("ip") + root.findall("dns"):
            root.remove(node)
    replace_children(root, "virtualport", ['<virtualport type="openvswitch"/>'] if state.get("openvswitch") else [])
    replace_children(root, "mtu", ['<mtu size="%d"/>' % state["mtu"]] if state.get("mtu") else [])
    if mode != "bridge":
        _render_ip(root, state)
        dns_hosts = [_dns_host_xml(item) for item in state.get("dns_hosts") or []]
        dns = root.find("dns")
        if dns is None and dns_hosts:
            dns = child(root, "dns")
        if dns is not None:
            replace_children(dns, "host", dns_hosts)
            if len(dns) == 0 and not dns.attrib:
                root.remove(dns)
    replace_children(root, "portgroup", [_portgroup_xml(item) for item in state.get("portgroups") or []])
    return to_string(root)


def _render_ip(root, state):
    ips = [node for node in root.findall("ip") if node.get("family", "ipv4") == "ipv4"]
    if not state.get("address"):
        for node in ips:
            root.remove(node)
        return
    iface = ipaddress.IPv4Interface(state["address"])
    ip = ips[0] if ips else child(root, "ip")
    ip.attrib.pop("netmask", None)
    ip.set("address", str(iface.ip))
    ip.set("prefix", str(iface.network.prefixlen))
    dhcp = ip.find("dhcp")
    entries = [_range_xml(r) for r in state.get("dhcp_ranges") or []]
    entries += [_dhcp_host_xml(h) for h in state.get("dhcp_hosts") or []]
    if dhcp is None and entries:
        dhcp = child(ip, "dhcp")
    if dhcp is not None:
        replace_children(dhcp, "range", [_range_xml(r) for r in state.get("dhcp_ranges") or []])
        replace_children(dhcp, "host", [_dhcp_host_xml(h) for h in state.get("dhcp_hosts") or []])
        if len(dhcp) == 0:
            ip.remove(dhcp)


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
        "name": Opt(required=True, update=None),
        "state": Opt(default="present", choices=["present", "absent"], update=None),
        "forward": Opt(choices=FORWARD_MODES, update="restart"),
        "bridge": Opt(update="restart"),
        "openvswitch": Opt(type="bool", update="restart"),
        "address": Opt(update="restart"),
        "dhcp_ranges": Opt(type="list", elements="dict", options=DHCP_RANGE, update="live", compare="set"),
        "dhcp_hosts": Opt(type="list", elements="dict", options=DHCP_HOST, update="live", compare="set"),
        "dns_hosts": Opt(type="list", elements="dict", options=DNS_HOST, update="live", compare="set"),
        "portgroups": Opt(type="list", elements="dict", options=PORTGROUP, update="live", compare="set"),
        "mtu": Opt(type="int", update="restart"),
        "active": Opt(type="bool", default=True, update=None),
        "autostart": Opt(type="bool", update=None),
        "restart": Opt(type="bool", default=False, update=None),
    }

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
            if d["address"] is None and (d["dhcp_ranges"] or d["dhcp_hosts"]):
                raise InputError("address", "required for DHCP (dhcp_ranges, dhcp_hosts)")
        return d

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
        return _sorted(out)

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
        return _sorted(out)

    def _dns_hosts(self, hosts):
        if hosts is None:
            return None
        return _sorted({"ip": self._ip("dns_hosts", item["ip"], None),
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
        return _sorted(out)

    # ------------------------------------------------------------ observed
    def observe(self, desired):
        self.net = self.lookup("network", desired["name"])
        if desired["state"] == "present":
            self._check_host(desired)
        if self.net is None:
            return None
        state = parse(definition(self.net))
        state["active"] = bool(self.net.isActive())
        state["autostart"] = bool(self.net.autostart())
        state["persistent"] = bool(self.net.isPersistent())
        # a redefined running network keeps its old definition until restarted
        state["restart_pending"] = state["active"] and _config(parse(self.net.XMLDesc(0))) != _config(state)
        return state

    def _check_host(self, desired):
        """Errors libvirt would only report after we had defined something, checked up front."""
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
        for other in self.conn.listAllNetworks():
            if other.name() == desired["name"]:
                continue
            theirs = subnet(parse(definition(other))["address"])
            if theirs is not None and mine.overlaps(theirs):
                raise InputError("address", "%s overlaps %s of libvirt network %r; choose a free subnet"
                                            % (mine, theirs, other.name()))

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        name = desired["name"]
        plan = Plan(observed)
        if desired["state"] == "absent":
            plan.after = None
            if observed is not None:
                if observed["active"]:
                    plan.step("stop network %s" % name, self.net.destroy)
                if observed["persistent"]:
                    plan.step("undefine network %s" % name, self.net.undefine)
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
            # lambdas, not bound methods: self.net only exists once the define step has run
            plan.step("define network %s" % name, lambda: self._define(xml),
                      undo=lambda: self.net.undefine())  # pylint: disable=unnecessary-lambda
            if desired["active"]:
                plan.step("start network %s" % name,
                          lambda: self.net.create(),  # pylint: disable=unnecessary-lambda
                          undo=lambda: self.net.destroy())  # pylint: disable=unnecessary-lambda
            plan.after["active"] = desired["active"]
            self._plan_autostart(plan, desired, False)
            return plan

        plan.changes = differences(self.options, desired, observed)
        plan.after = self._predict(desired, observed)
        redefine = [c.option for c in plan.changes if c.update == "restart"]
        live = [c for c in plan.changes if c.update == "live"]
        # live updates change the running network and its config together (only the config of an
        # inactive network). With a change that needs a redefine, the whole new definition goes in
        # at once: live entries may not fit the old subnet, and a restart applies them anyway.
        if not redefine:
            for change in live:
                self._plan_live(plan, change)
        else:
            xml = render(plan.after, definition(self.net))
            plan.step("redefine network %s (%s)" % (name, ", ".join(c.option for c in plan.changes)),
                      lambda: self._define(xml))
            plan.after["restart_pending"] = observed["active"]
        if plan.after["restart_pending"] and desired["active"]:
            if desired["restart"]:
                plan.step("restart network %s" % name, self._restart)
                plan.after["restart_pending"] = False
            else:
                plan.restart_required = True
                plan.warnings.append("network %s: %s applies when the network restarts (virsh net-destroy + "
                                     "net-start, or restart=true); guests on it lose connectivity briefly and may need their NICs reattached"
                                     % (name, ", ".join(redefine) or "its changed definition"))
        if desired["active"] and not observed["active"]:
            plan.step("start network %s" % name,
                      lambda: self.net.create())  # pylint: disable=unnecessary-lambda
            plan.after["restart_pending"] = False
        elif not desired["active"] and observed["active"]:
            plan.step("stop network %s" % name, self.net.destroy)
            plan.after["restart_pending"] = False
        plan.after["active"] = desired["active"]
        self._plan_autostart(plan, desired, observed["autostart"])
        return plan

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

    def _plan_live(self, plan, change):
        section = getattr(libvirt, LIVE_SECTIONS[change.option])
        before = change.before or []
        remove = [item for item in before if item not in change.after]
        add = [item for item in change.after if item not in before]
        to_xml = ITEM_XML[change.option]
        delete, add_last = libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
        # entries that changed are removed and added again; a failure puts the removed ones back
        for item in remove:
            plan.step("remove %s entry %s from network %s" % (change.option, _label(item), self.net.name()),
                      lambda x=to_xml(item): self._update(delete, section, x),
                      undo=lambda x=to_xml(item): self._update(add_last, section, x))
        for item in add:
            plan.step("add %s entry %s to network %s" % (change.option, _label(item), self.net.name()),
                      lambda x=to_xml(item): self._update(add_last, section, x),
                      undo=lambda x=to_xml(item): self._update(delete, section, x))

    def _plan_autostart(self, plan, desired, current):
        plan.after["autostart"] = self.plan_autostart(plan, desired["autostart"], current,
                                                      "network %s" % desired["name"], lambda: self.net)

    # ------------------------------------------------------------ apply
    def _define(self, xml):
        self.net = self.conn.networkDefineXML(xml)

    def _update(self, command, section, xml):
        flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
        if self.net.isActive():
            flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
        self.net.update(command, section, -1, xml, flags)

    def _restart(self):
        self.net.destroy()
        self.net.create()

    def facts(self, state):
        return state


def _label(item):
    return item.get("name") or item.get("ip") or item.get("start") or item.get("mac") or ""


def _config(state):
    """The part of a normalised network that a restart would change."""
    return {key: value for key, value in state.items() if key not in ("active", "autostart", "persistent")}


# ---------------------------------------------------------------- network_info
class NetworkInfoService(InfoService, LibvirtService):
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    result_key = "networks"
    options = {"name": Opt(update=None)}

    def observe(self, desired):
        networks = []
        # one listing call for all networks, active and inactive
        for net in self.conn.listAllNetworks(0):
            if desired["name"] and net.name() != desired["name"]:
                continue
            state = parse(definition(net))
            state["active"] = bool(net.isActive())
            state["autostart"] = bool(net.autostart())
            state["persistent"] = bool(net.isPersistent())
            state["leases"] = _leases(net) if state["active"] else []
            networks.append(state)
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
