# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistence of host networking: the kernel objects a host_* module made live, written in the format
of the host's network configuration tool so that they come back after a reboot.

    ifupdown    Debian's ifupdown 0.8 with bridge-utils: one stanza file in /etc/network/interfaces.d
    networkd    systemd-networkd: NAME.netdev + NAME.network (+ one .network per bridge port)
    nm_keyfile  NetworkManager keyfiles: one connection per object (+ one per bridge port), mode 0600

Only Linux kernel objects need this. Open vSwitch keeps its bridges, ports and interfaces in OVSDB,
whose database file (conf.db) is itself persistent: ovs-vswitchd recreates them at boot, so `type: ovs`
objects have no renderer here.

The input is a service's normalised desired dict; a value None means "not managed" and is left out,
so the tool's (or the kernel's) default applies. Where a format cannot express what was asked,
`render` raises InputError("persist", ...) naming the limit, before anything is written.

What each format can say (a limit is an InputError, never a silently different file):
- ifupdown knows bridges (bridge-utils: bridge_ports/stp/fd/vlan_aware) but not VXLAN: that is made
  with `ip link add ... type vxlan` in pre-up, several unicast remotes as head-end replication
  (`bridge fdb append 00:00:00:00:00:00 ... dst IP`), the bridge it joins in up; VLANs with
  `ip link add ... type vlan` for any name. Several addresses are several stanzas of the interface.
  `enabled: false` is "configured, then taken down" (post-up), since ifupdown has no down-but-present.
  The files sort bridges (10-) before VLANs (20-) and VXLANs (30-), the order `ifup -a` brings them up.
- systemd-networkd creates a stacked VLAN, or a VXLAN on an underlay `dev`, only from the parent's own
  .network file (VLAN=/VXLAN= there): virtcloud does not rewrite a host's uplink configuration, so
  these are refused; a VXLAN without `dev` is Independent=yes, several remotes are [BridgeFDB] entries.
  A bridge port's .network (Bridge=) replaces whatever other .network would have matched that port.
- NetworkManager's vxlan has exactly one `remote` (a unicast peer or the multicast group); a VXLAN
  that joins a bridge is a bridge port there and has no addresses. Bridge ports are written as
  Ethernet connections (NetworkManager also activates those on veth devices).
- `enabled: false` is autoconnect=false (NetworkManager) / ActivationPolicy=down (networkd).

Planning and applying are separate so that check mode can report exactly what a run writes:
`changes()` lists the files whose content differs (and the files of the same object that are no
longer rendered), `write()` applies such a list atomically, `snapshot()`/`restore()` undo it.
Every file starts with a marker line naming the object; `removal()` and the clean-up in `changes()`
only ever touch files that carry it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
import uuid

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

FORMATS = ("ifupdown", "networkd", "nm_keyfile")

_DIRS = {
    "ifupdown": "/etc/network/interfaces.d",
    "networkd": "/etc/systemd/network",
    "nm_keyfile": "/etc/NetworkManager/system-connections",
}
# Boot order for ifupdown (`ifup -a` follows the files' sorted order): a bridge before the VLANs and
# VXLANs that may be stacked on or enslaved to it.
_ORDER = {"bridge": "10", "vlan": "20", "vxlan": "30"}
_MODULE = {"bridge": "host_bridge", "vlan": "host_vlan", "vxlan": "host_vxlan"}
# uuid5 namespace of every NetworkManager connection virtcloud writes: the same object always gets
# the same UUID, so a rewrite never makes NetworkManager see a new connection.
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "persist.virtcloud.core")
ZERO_MAC = "00:00:00:00:00:00"
_MARKER = re.compile(r"^# managed by virtcloud\.core \((host_\w+) (\S+)\)", re.M)


def default_dir(fmt):
    """The directory the tool reads its configuration from."""
    return _DIRS[_format(fmt)]


def _format(fmt):
    if fmt not in FORMATS:
        raise InputError("persist", "%r is not a persistence format; use one of %s" % (fmt, ", ".join(FORMATS)))
    return fmt


def marker(obj_kind, name):
    return "# managed by virtcloud.core (%s %s) -- changes here are overwritten" % (_MODULE[obj_kind], name)


def detect(root="/"):
    """(format, reason) for `persist: auto`: the tool that configures this host's network, judged by
    the files it leaves under `root` (no commands run), or (None, reason) when there is none."""

    def exists(*parts):
        return os.path.exists(os.path.join(root, *parts))

    def has_files(directory, suffixes):
        path = os.path.join(root, directory)
        return os.path.isdir(path) and any(entry.endswith(suffixes) for entry in os.listdir(path))

    # /run is a tmpfs: NetworkManager and networkd make these only while they run
    if os.path.isdir(os.path.join(root, "run/NetworkManager")):
        return "nm_keyfile", "NetworkManager is running (/run/NetworkManager)"
    if exists("run/systemd/netif/state"):
        return "networkd", "systemd-networkd is running (/run/systemd/netif/state)"
    if exists("etc/systemd/system/multi-user.target.wants/systemd-networkd.service"):
        return "networkd", "systemd-networkd is enabled (multi-user.target.wants)"
    if has_files("etc/systemd/network", (".network", ".netdev")):
        return "networkd", "systemd-networkd is configured (/etc/systemd/network)"
    if exists("etc/network/interfaces"):
        return "ifupdown", "ifupdown is configured (/etc/network/interfaces)"
    return None, ("no NetworkManager, systemd-networkd or ifupdown found under %s; set persist to one of %s"
                  % (root, ", ".join(FORMATS)))


def _limit(fmt, problem):
    raise InputError("persist", "%s cannot express this: %s" % (fmt, problem))


def _addresses(obj):
    return list(obj.get("addresses") or [])


def _ports(obj):
    return (obj.get("ports") or []) if obj["kind"] == "bridge" else []


def _yes(value, yes="yes", no="no"):
    return yes if value else no


# ---------------------------------------------------------------- ifupdown
def _ifupdown(obj):
    name, kind = obj["name"], obj["kind"]
    options = []       # options of the first stanza: they create and configure the device
    if kind == "bridge":
        options.append("bridge_ports %s" % (" ".join(obj.get("ports") or []) or "none"))
        if obj.get("stp") is not None:
            options.append("bridge_stp %s" % _yes(obj["stp"], "on", "off"))
        if obj.get("forward_delay") is not None:
            options.append("bridge_fd %d" % obj["forward_delay"])
        if obj.get("vlan_filtering") is not None:
            options.append("bridge_vlan_aware %s" % _yes(obj["vlan_filtering"]))
    elif kind == "vlan":
        # ifupdown 0.8 makes VLANs itself only for PARENT.ID names; `ip link add` covers every name.
        options.append("pre-up ip link show dev $IFACE >/dev/null 2>&1 || ip link add link %s name $IFACE type vlan id %d"
                       % (obj["parent"], obj["vlan_id"]))
        options.append("post-down ip link del dev $IFACE 2>/dev/null || true")
    else:
        # Neither ifupdown nor bridge-utils knows VXLAN: create it with iproute2 in pre-up.
        options.append("pre-up ip link add $IFACE " + _ip_vxlan_args(obj))
        remotes = obj.get("remotes") or []
        if len(remotes) > 1:
            options.extend("pre-up bridge fdb append %s dev $IFACE dst %s" % (ZERO_MAC, remote) for remote in remotes)
        if obj.get("bridge"):
            options.append("up ip link set dev $IFACE master %s" % obj["bridge"])
        options.append("post-down ip link del dev $IFACE 2>/dev/null || true")
    if obj.get("mtu") is not None:
        options.append("mtu %d" % obj["mtu"])
    if obj.get("enabled") is False:
        # ifupdown has no "exists but down": bring it up as configured, then take the link down.
        options.append("post-up ip link set dev $IFACE down")

    addresses = _addresses(obj)
    stanzas = []
    for cidr in addresses or [None]:
        if cidr is None:
            head, body = "iface %s inet manual" % name, []
        else:
            family = "inet6" if ipaddress.ip_interface(cidr).version == 6 else "inet"
            head, body = "iface %s %s static" % (name, family), ["address %s" % cidr]
            if family == "inet6":
                body += ["dad-attempts 0", "accept_ra 0"]
        if not stanzas:
            body = options + body
        stanzas.append("\n".join([head] + ["    " + line for line in body]))
    text = "%s\nauto %s\n%s\n" % (marker(kind, name), name, "\n\n".join(stanzas))
    return {"virtcloud-%s-%s" % (_ORDER[kind], name): text}


def _ip_vxlan_args(obj):
    remotes = obj.get("remotes") or []
    words = ["type vxlan id %d" % obj["vni"], "dstport %d" % obj["port"]]
    if obj.get("local"):
        words.append("local %s" % obj["local"])
    if len(remotes) == 1:
        words.append("remote %s" % remotes[0])
    if obj.get("group"):
        words.append("group %s" % obj["group"])
    if obj.get("dev"):
        words.append("dev %s" % obj["dev"])
    if obj.get("learning") is not None:
        words.append(_yes(obj["learning"], "learning", "nolearning"))
    return " ".join(words)


# ---------------------------------------------------------------- systemd-networkd
def _ini(head, sections):
    """INI text: head comment, then [section] blocks of (key, value) pairs; None values are left out,
    and so is a section whose values all are, unless it was given as an empty (required) section."""
    blocks = [head]
    for section, pairs in sections:
        lines = ["%s=%s" % (key, value) for key, value in pairs if value is not None]
        if lines or not pairs:
            blocks.append("\n".join(["[%s]" % section] + lines))
    return "\n\n".join(blocks) + "\n"


def _networkd(obj):
    name, kind = obj["name"], obj["kind"]
    head = marker(kind, name)
    base = "50-virtcloud-%s" % name
    netdev = [("NetDev", [("Name", name), ("Kind", kind)])]
    network = [("Network", [("Address", cidr) for cidr in _addresses(obj)] + [("ConfigureWithoutCarrier", "yes")])]
    fdb = []
    if kind == "bridge":
        netdev.append(("Bridge", [("STP", None if obj.get("stp") is None else _yes(obj["stp"])),
                                  ("ForwardDelaySec", obj.get("forward_delay")),
                                  ("VLANFiltering", None if obj.get("vlan_filtering") is None
                                   else _yes(obj["vlan_filtering"]))]))
    elif kind == "vlan":
        _limit("networkd", "systemd-networkd creates a VLAN only from its parent's own .network file (VLAN=%s "
               "there); virtcloud does not rewrite %s's configuration: add VLAN=%s to it yourself or use "
               "persist ifupdown or nm_keyfile" % (name, obj["parent"], name))
    else:
        if obj.get("dev"):
            _limit("networkd", "systemd-networkd binds a VXLAN to an underlay only from that device's own .network "
                   "file (VXLAN=%s there); virtcloud does not rewrite %s's configuration: leave dev unset "
                   "(the route to local/remote picks the underlay) or add VXLAN=%s to it yourself"
                   % (name, obj["dev"], name))
        remotes = obj.get("remotes") or []
        netdev.append(("VXLAN", [("VNI", obj["vni"]), ("Local", obj.get("local")),
                                 ("Remote", remotes[0] if len(remotes) == 1 else None),
                                 ("Group", obj.get("group")), ("DestinationPort", obj["port"]),
                                 ("MacLearning", None if obj.get("learning") is None else _yes(obj["learning"])),
                                 ("Independent", "yes")]))
        if len(remotes) > 1:
            fdb = [("BridgeFDB", [("MACAddress", ZERO_MAC), ("Destination", remote)]) for remote in remotes]
        if obj.get("bridge"):
            network[0][1].insert(0, ("Bridge", obj["bridge"]))
    link = [("Link", [("MTUBytes", obj.get("mtu")),
                      ("ActivationPolicy", None if obj.get("enabled") is None else _yes(obj["enabled"], "up", "down"))])]
    files = {
        base + ".netdev": _ini(head, netdev),
        base + ".network": _ini(head, [("Match", [("Name", name)])] + link + network + fdb),
    }
    for port in _ports(obj):
        files["%s-port-%s.network" % (base, port)] = _ini(head, [("Match", [("Name", port)]),
                                                                 ("Network", [("Bridge", name)])])
    return files


# ---------------------------------------------------------------- NetworkManager keyfile
def connection_uuid(*parts):
    """The stable UUID of the connection for these name parts."""
    return str(uuid.uuid5(UUID_NAMESPACE, "/".join(parts)))


def _ip_sections(obj):
    if obj.get("addresses") is None:
        return [("ipv4", [("method", "disabled")]), ("ipv6", [("method", "ignore")])]
    sections = []
    for version, family, off in ((4, "ipv4", "disabled"), (6, "ipv6", "ignore")):
        cidrs = [cidr for cidr in obj["addresses"] if ipaddress.ip_interface(cidr).version == version]
        pairs = [("method", "manual" if cidrs else off)]
        pairs += [("address%d" % index, cidr) for index, cidr in enumerate(cidrs, 1)]
        sections.append((family, pairs))
    return sections


def _nm_keyfile(obj):
    name, kind = obj["name"], obj["kind"]
    head = marker(kind, name)
    base = "virtcloud-%s" % name
    connection = [("id", base), ("uuid", connection_uuid(kind, name)), ("type", kind), ("interface-name", name),
                  ("autoconnect", None if obj.get("enabled") is None else _yes(obj["enabled"], "true", "false"))]
    sections = []
    if kind == "bridge":
        sections.append(("bridge", [("stp", None if obj.get("stp") is None else _yes(obj["stp"], "true", "false")),
                                    ("forward-delay", obj.get("forward_delay")),
                                    ("vlan-filtering", None if obj.get("vlan_filtering") is None
                                     else _yes(obj["vlan_filtering"], "true", "false"))]))
    elif kind == "vlan":
        sections.append(("vlan", [("id", obj["vlan_id"]), ("parent", obj["parent"])]))
    else:
        remotes = obj.get("remotes") or []
        if len(remotes) > 1 or (remotes and obj.get("group")):
            _limit("nm_keyfile", "NetworkManager's vxlan has one remote (or one multicast group), not %s"
                   % ", ".join(remotes + ([obj["group"]] if obj.get("group") else [])))
        if not remotes and not obj.get("group"):
            _limit("nm_keyfile", "NetworkManager's vxlan needs a remote or a multicast group")
        sections.append(("vxlan", [("id", obj["vni"]), ("local", obj.get("local")),
                                   ("remote", remotes[0] if remotes else obj["group"]),
                                   ("parent", obj.get("dev")), ("destination-port", obj["port"]),
                                   ("learning", None if obj.get("learning") is None
                                    else _yes(obj["learning"], "true", "false"))]))
        if obj.get("bridge"):
            if obj.get("addresses"):
                _limit("nm_keyfile", "a NetworkManager bridge port has no addresses of its own (bridge %s, "
                       "addresses %s)" % (obj["bridge"], ", ".join(obj["addresses"])))
            connection += [("master", obj["bridge"]), ("slave-type", "bridge")]
    sections.append(("ethernet", [("mtu", obj.get("mtu"))]))
    # libnm's verify() wants the (empty) bridge-port setting of a port, and no IP configuration
    sections += [("bridge-port", [])] if kind == "vxlan" and obj.get("bridge") else _ip_sections(obj)
    files = {base + ".nmconnection": _ini(head, [("connection", connection)] + sections)}
    for port in _ports(obj):
        port_id = "%s-port-%s" % (base, port)
        files[port_id + ".nmconnection"] = _ini(head, [("connection", [
            ("id", port_id), ("uuid", connection_uuid("bridge-port", name, port)), ("type", "ethernet"),
            ("interface-name", port), ("master", name), ("slave-type", "bridge"), ("autoconnect", "true")]),
            ("ethernet", []), ("bridge-port", [])])
    return files


_RENDERERS = {"ifupdown": _ifupdown, "networkd": _networkd, "nm_keyfile": _nm_keyfile}


def render(fmt, obj):
    """{file name: content} of every file the object needs in this format."""
    return _RENDERERS[_format(fmt)](obj)


# ---------------------------------------------------------------- files
def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def owner(path):
    """(module, name) from a file's virtcloud marker, or None when the file is not ours."""
    text = _read(path) if os.path.isfile(path) else None
    found = _MARKER.match(text or "")
    return (found.group(1), found.group(2)) if found else None


def _ours(directory, kind, name):
    """The paths in directory whose marker names this object (any kind when kind is None)."""
    if not os.path.isdir(directory):
        return []
    modules = [_MODULE[kind]] if kind else list(_MODULE.values())
    return sorted(os.path.join(directory, entry) for entry in os.listdir(directory)
                  if "virtcloud-" in entry and not entry.startswith(".") and owner(os.path.join(directory, entry)) in
                  [(module, name) for module in modules])


def changes(fmt, obj, directory=None):
    """[(path, content or None to delete)]: the files to write so that `directory` holds exactly what
    render() gives for this object; files that already hold it are left out (no needless rewrite)."""
    directory = directory or default_dir(fmt)
    wanted = {os.path.join(directory, file): text for file, text in render(fmt, obj).items()}
    planned = [(path, text) for path, text in sorted(wanted.items()) if _read(path) != text]
    return planned + [(path, None) for path in _ours(directory, obj["kind"], obj["name"]) if path not in wanted]


def removal(fmt, name, directory=None):
    """[(path, None)]: the files of object `name` to delete for state=absent (only files with our marker)."""
    return [(path, None) for path in _ours(directory or default_dir(fmt), None, name)]


def write(planned):
    """Apply changes()/removal() output: each file replaced atomically (temp file + rename), mode 0600
    for NetworkManager keyfiles (it ignores others) and 0644 for the rest, or deleted."""
    for path, text in planned:
        if text is None:
            if os.path.lexists(path):
                os.unlink(path)
            continue
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        mode = 0o600 if path.endswith(".nmconnection") else 0o644
        handle, temp = tempfile.mkstemp(dir=directory, prefix=".virtcloud-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, mode)
            os.replace(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise


def snapshot(paths):
    """{path: current content or None}: what restore() puts back to undo a write()."""
    return {path: _read(path) for path in paths}


def restore(saved):
    """Undo a write(): every path gets its snapshot content back (None: the file is removed)."""
    write(sorted(saved.items()))
