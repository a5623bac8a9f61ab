# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt network XML as data: parse a definition into the normalised dict the network service
compares, render a dict back into a definition, and the entry snippets of live updates.

Pure functions over lxml trees, no libvirt connection, so they are unit-tested on their own. Every
element is built with lxml from values the service has validated; nothing is formatted as text.
"""

from __future__ import annotations

import copy
import ipaddress

from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml as dx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import (
    child,
    etree,
    from_string,
    replace_children,
    to_string,
)


def sort_entries(items):
    """Entries in a stable order (their fields in the order the normalisers build them)."""
    return sorted(items, key=lambda item: tuple(str(v) for v in item.values()))


# ---------------------------------------------------------------- entries (also virNetworkUpdate snippets)
def range_element(item):
    return etree.Element("range", start=item["start"], end=item["end"])


def dhcp_host_element(item):
    el = etree.Element("host")
    for key in ("mac", "name", "ip"):
        if item.get(key):
            el.set(key, item[key])
    return el


def dns_host_element(item):
    el = etree.Element("host", ip=item["ip"])
    for name in item["hostnames"]:
        etree.SubElement(el, "hostname").text = name
    return el


def portgroup_element(item):
    el = etree.Element("portgroup", name=item["name"])
    if item.get("default"):
        el.set("default", "yes")
    vlan_id, trunk = item.get("vlan"), item.get("trunk")
    if vlan_id is not None or trunk:
        tags = [vlan_id] if vlan_id is not None else []
        tags += [t for t in trunk or [] if t not in tags]
        vlan = etree.SubElement(el, "vlan")
        if trunk:
            vlan.set("trunk", "yes")
        for tag in tags:
            node = etree.SubElement(vlan, "tag", id=str(tag))
            if tag == vlan_id and trunk:
                node.set("nativeMode", "untagged")
    return el


ENTRY_ELEMENT = {"dhcp_ranges": range_element, "dhcp_hosts": dhcp_host_element, "dns_hosts": dns_host_element,
                 "portgroups": portgroup_element}


def entry_xml(option, item):
    """The XML of one entry of a list option, as virNetworkUpdate takes it."""
    return etree.tostring(ENTRY_ELEMENT[option](item), encoding="unicode")


def _elements(option, items):
    return [ENTRY_ELEMENT[option](item) for item in items or []]


# ---------------------------------------------------------------- XML -> normalised dict
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
        "dhcp_ranges": sort_entries(ranges),
        "dhcp_hosts": sort_entries(hosts),
        "dns_hosts": sort_entries(dns_hosts),
        "portgroups": sort_entries(_parse_portgroup(node) for node in root.findall("portgroup")),
        "mtu": int(mtu.get("size")) if mtu is not None else None,
        "mac": mac.get("address") if mac is not None else None,
    }


# ---------------------------------------------------------------- normalised dict -> XML
def render(state, base=None):
    """XML for `state`, edited into `base` (the inactive XML) so that what we do not manage —
    IPv6, DNS forwarders, domain, NAT port ranges, generated uuid/mac/bridge — is kept as it is."""
    root = from_string(base) if base else etree.Element("network")
    overlay(root, state)
    return to_string(root)


def overlay(root, state, keys=None):
    """Edit `state` into the <network> tree `root` in place: every option, or only `keys` (the
    options a user set on top of their own `xml`)."""
    def wanted(key):
        return keys is None or key in keys

    child(root, "name").text = state["name"]
    if state.get("uuid"):
        child(root, "uuid").text = state["uuid"]
    mode = state["forward"]
    forward = root.find("forward")
    if wanted("forward"):
        if mode == "isolated":
            if forward is not None:
                root.remove(forward)
        elif forward is None or forward.get("mode", "nat") != mode:
            replace_children(root, "forward", [etree.Element("forward", mode=mode)])
    bridge = root.find("bridge")
    if state.get("bridge") and wanted("bridge"):
        if bridge is None:
            bridge = child(root, "bridge")
        bridge.set("name", state["bridge"])
    if mode == "bridge" and wanted("forward"):
        # a host bridge: libvirt neither creates it nor runs STP, dnsmasq or a MAC on it
        for key in ("stp", "delay"):
            if bridge is not None:
                bridge.attrib.pop(key, None)
        for node in root.findall("mac") + root.findall("ip") + root.findall("dns"):
            root.remove(node)
    if wanted("openvswitch"):
        replace_children(root, "virtualport",
                         [etree.Element("virtualport", type="openvswitch")] if state.get("openvswitch") else [])
    if wanted("mtu"):
        replace_children(root, "mtu", [etree.Element("mtu", size=str(state["mtu"]))] if state.get("mtu") else [])
    if mode != "bridge":
        _render_ip(root, state, wanted)
        if wanted("dns_hosts"):
            dns_hosts = _elements("dns_hosts", state.get("dns_hosts"))
            dns = root.find("dns")
            if dns is None and dns_hosts:
                dns = child(root, "dns")
            if dns is not None:
                replace_children(dns, "host", dns_hosts)
                if len(dns) == 0 and not dns.attrib:
                    root.remove(dns)
    if wanted("portgroups"):
        replace_children(root, "portgroup", _elements("portgroups", state.get("portgroups")))
    return root


def _render_ip(root, state, wanted):
    ips = [node for node in root.findall("ip") if node.get("family", "ipv4") == "ipv4"]
    if wanted("address") and not state.get("address"):
        for node in ips:
            root.remove(node)
        return
    if not ips and not state.get("address"):
        return
    ip = ips[0] if ips else child(root, "ip")
    if wanted("address"):
        iface = ipaddress.IPv4Interface(state["address"])
        ip.attrib.pop("netmask", None)
        ip.set("address", str(iface.ip))
        ip.set("prefix", str(iface.network.prefixlen))
    dhcp = ip.find("dhcp")
    for key, tag in (("dhcp_ranges", "range"), ("dhcp_hosts", "host")):
        if not wanted(key):
            continue
        entries = _elements(key, state.get(key))
        if dhcp is None and entries:
            dhcp = child(ip, "dhcp")
        if dhcp is not None:
            replace_children(dhcp, tag, entries)
    if dhcp is not None and len(dhcp) == 0:
        ip.remove(dhcp)


# ---------------------------------------------------------------- the `xml` option
# Entry lists a user's <network> owns: a stored entry the XML no longer lists is dropped.
OWNED = {"network": ("ip", "route", "portgroup"), "ip": ("dhcp", "tftp"), "dhcp": ("range", "host"),
         "dns": ("host", "txt", "srv", "forwarder")}
# Entries libvirt changes on a running network (virNetworkUpdate): option -> path from the root,
# under the first IPv4 <ip> for DHCP.
LIVE_PATHS = {"dhcp_ranges": "dhcp/range", "dhcp_hosts": "dhcp/host", "dns_hosts": "dns/host",
              "portgroups": "portgroup"}


def normalise(root):
    """domain_xml's normalisation, and MAC addresses of DHCP hosts in lower case (as libvirt keeps them)."""
    dx.normalise(root)
    for host in root.iterfind("ip/dhcp/host"):
        if host.get("mac"):
            host.set("mac", host.get("mac").lower())
    return root


def _ipv4(root):
    return next((node for node in root.findall("ip") if node.get("family", "ipv4") == "ipv4"), None)


def live_entries(root, option):
    """The elements of one live section of a <network> tree."""
    path = LIVE_PATHS[option]
    if path.startswith("dhcp/"):
        ip = _ipv4(root)
        return ip.findall(path) if ip is not None else []
    return root.findall(path)


def without_live(root):
    """A copy of the tree without the entries of the live sections (and the <dhcp>/<dns> they
    leave empty): what only a redefine can change."""
    rest = copy.deepcopy(root)
    for option in LIVE_PATHS:
        for el in live_entries(rest, option):
            el.getparent().remove(el)
    for el in list(rest.iterfind("ip/dhcp")) + list(rest.iterfind("dns")):
        if len(el) == 0 and not {k for k in el.attrib if not k.startswith("{")}:
            el.getparent().remove(el)
    return rest


def entry_string(el):
    """One entry element as virNetworkUpdate takes it (the marks of `xmlmerge` removed)."""
    return dx.tostring(el)
