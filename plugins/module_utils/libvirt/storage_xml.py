# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt storage pool and volume XML as data: render a pool's normalised dict into its definition
and parse a definition back, and the definition of a new volume.

Pure functions over lxml trees, no libvirt connection, so they are unit-tested on their own. Every
element is built with lxml from values the services have validated; nothing is formatted as text.
"""

from __future__ import annotations

import copy
import hashlib

from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import (
    child,
    etree,
    from_string,
    replace_children,
    to_string,
)

# the fields of a pool's source, in the order the parsed facts list them
SOURCE_KEYS = ("host", "port", "dir", "devices", "name", "format", "iqn", "initiator")
# <target><permissions> of a pool (its directory) or a volume (its file), in libvirt's order
PERMISSION_KEYS = ("mode", "owner", "group", "label")
# what libvirt reports about a pool or volume rather than keeps as its definition
POOL_GENERATED = ("capacity", "allocation", "available")
VOLUME_GENERATED = ("key", "allocation", "physical", "target/path", "target/timestamps")
# entry lists a user's <pool> owns (the devices of its source)
POOL_OWNED = {"source": ("device", "host")}

# A volume is made in several calls (create, upload or clone, resize, wipe), and a run can stop
# between them. While it is made, a marker volume <name>.virtcloud-partial stands next to it in
# the pool (where every later run, from any host, sees it); it is deleted once the volume is
# complete. A volume found with its marker is incomplete: made again, never taken as it is.
PARTIAL = ".virtcloud-partial"


def marker_name(name):
    """The name of the marker of volume `name` (a hash of the name when the name is too long)."""
    marker = name + PARTIAL
    if len(marker.encode("utf-8")) <= 255:
        return marker
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:32] + PARTIAL


# ---------------------------------------------------------------- permissions
def permissions(target):
    """{mode, owner, group, label} of a <target> element (None where not given): mode as the
    4-digit octal string libvirt writes, owner and group as the numbers it stores."""
    node = target.find("permissions") if target is not None else None
    out = dict.fromkeys(PERMISSION_KEYS)
    if node is None:
        return out
    for key in PERMISSION_KEYS:
        text = (node.findtext(key) or "").strip()
        if text:
            out[key] = int(text) if key in ("owner", "group") and text.lstrip("-").isdigit() else text
    if out["mode"] is not None:
        out["mode"] = "%04o" % int(out["mode"], 8)
    return out


def set_permissions(target, perms):
    """Write the permissions that are set (not None) into <target><permissions>, keeping the rest."""
    values = {key: perms.get(key) for key in PERMISSION_KEYS if perms.get(key) is not None}
    if not values:
        return
    node = child(target, "permissions")
    for key in PERMISSION_KEYS:
        if key in values:
            child(node, key).text = str(values[key])
    for key in PERMISSION_KEYS:  # libvirt's schema orders them: mode, owner, group, label
        found = node.find(key)
        if found is not None:
            node.remove(found)
            node.append(found)


def strip(root, paths):
    """A copy of root without the elements at `paths`."""
    out = copy.deepcopy(root)
    for path in paths:
        for el in out.findall(path):
            el.getparent().remove(el)
    return out


# ---------------------------------------------------------------- pool
def render_pool(state):
    return to_string(overlay_pool(etree.Element("pool"), state))


def overlay_pool(root, state, keys=None):
    """Edit `state` into the <pool> tree root in place: every option, or only `keys`."""
    def wanted(key):
        return keys is None or key in keys

    if state.get("type"):
        root.set("type", state["type"])
    child(root, "name").text = state["name"]
    if state.get("uuid"):
        child(root, "uuid").text = state["uuid"]
    if wanted("source") and state["type"] != "dir":
        replace_children(root, "source", [_source_element(state.get("source") or {}, state["type"])])
    if wanted("path") and state.get("path"):
        child(child(root, "target"), "path").text = state["path"]
    if any(state.get(key) is not None and wanted(key) for key in PERMISSION_KEYS):
        set_permissions(child(root, "target"), {key: state.get(key) for key in PERMISSION_KEYS if wanted(key)})
    return root


def _source_element(source, kind):
    node = etree.Element("source")
    if kind != "dir":
        if source.get("host"):
            host = child(node, "host")
            host.set("name", source["host"])
            if source.get("port"):
                host.set("port", str(source["port"]))
        for device in source.get("devices") or []:
            etree.SubElement(node, "device", path=device)
        if source.get("iqn"):
            etree.SubElement(node, "device", path=source["iqn"])
        if source.get("dir"):
            child(node, "dir").set("path", source["dir"])
        if source.get("name"):
            child(node, "name").text = source["name"]
        if source.get("format"):
            child(node, "format").set("type", source["format"])
        if source.get("initiator"):
            child(child(node, "initiator"), "iqn").set("name", source["initiator"])
    return node


def parse_pool(xml):
    root = from_string(xml)
    kind = root.get("type")
    node = root.find("source")
    source = dict.fromkeys(SOURCE_KEYS)
    if node is not None:
        host = node.find("host")
        if host is not None:
            source["host"] = host.get("name")
            source["port"] = int(host.get("port")) if host.get("port") else None
        devices = [d.get("path") for d in node.findall("device")]
        if kind == "iscsi":
            source["iqn"] = devices[0] if devices else None
        else:
            source["devices"] = devices or None
        source["dir"] = node.find("dir").get("path") if node.find("dir") is not None else None
        source["name"] = node.findtext("name")
        source["format"] = node.find("format").get("type") if node.find("format") is not None else None
        iqn = node.find("initiator/iqn")
        source["initiator"] = iqn.get("name") if iqn is not None else None
    if kind == "logical" and source["name"] and not source["format"]:
        source["format"] = "lvm2"
    out = {"name": root.findtext("name"), "uuid": root.findtext("uuid"), "type": kind,
           "path": root.findtext("target/path"),
           "source": {k: v for k, v in source.items() if v is not None} or None}
    out.update(permissions(root.find("target")))
    return out


# ---------------------------------------------------------------- volume
def volume_xml(name, capacity, fmt, allocation=None, perms=None, base=None, backing=None):
    """A storage volume definition, on top of `base` (a user's own <volume> tree) when given: the
    name (a file name in a directory pool) is text, so any character in it stays part of the name.
    `backing` ({path, format}) makes it an overlay on that image (a linked clone)."""
    root = strip(base, VOLUME_GENERATED) if base is not None else etree.Element("volume")
    child(root, "name").text = name
    replace_children(root, "capacity", [etree.Element("capacity", unit="bytes")])
    root.find("capacity").text = str(capacity)
    if allocation is not None:
        node = etree.Element("allocation", unit="bytes")
        node.text = str(allocation)
        root.insert(list(root).index(root.find("capacity")) + 1, node)
    target = child(root, "target")
    replace_children(target, "format", [etree.Element("format", type=fmt)])
    set_permissions(target, perms or {})
    if backing is not None:
        store = etree.Element("backingStore")
        etree.SubElement(store, "path").text = backing["path"]
        etree.SubElement(store, "format", type=backing["format"])
        replace_children(root, "backingStore", [store])
    return to_string(root)


def backing_store(root):
    """{path, format} of a <volume>'s backing store, or None."""
    path = root.findtext("backingStore/path")
    if not path:
        return None
    fmt = root.find("backingStore/format")
    return {"path": path, "format": fmt.get("type") if fmt is not None else None}


def volume_capacity(root):
    """Bytes of a <volume>'s <capacity> (any unit libvirt takes), or None."""
    node = root.find("capacity")
    if node is None or not (node.text or "").strip():
        return None
    from ansible_collections.virtcloud.core.plugins.module_utils.common.units import parse_size

    return parse_size("%s%s" % (node.text.strip(), node.get("unit") or ""), "xml")


def volume_rest(root):
    """What of a <volume> tree is neither generated nor changed through an option: the part of a
    user's XML that an existing volume must already have."""
    return strip(root, VOLUME_GENERATED + ("capacity", "target/format", "target/permissions"))
