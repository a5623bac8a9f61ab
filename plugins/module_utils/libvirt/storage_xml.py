# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt storage pool and volume XML as data: render a pool's normalised dict into its definition
and parse a definition back, and the definition of a new volume.

Pure functions over lxml trees, no libvirt connection, so they are unit-tested on their own. Every
element is built with lxml from values the services have validated; nothing is formatted as text.
"""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import child, etree, from_string, to_string

# the fields of a pool's source, in the order the parsed facts list them
SOURCE_KEYS = ("host", "port", "dir", "devices", "name", "format", "iqn", "initiator")


# ---------------------------------------------------------------- pool
def render_pool(state):
    root = etree.Element("pool", type=state["type"])
    child(root, "name").text = state["name"]
    if state.get("uuid"):
        child(root, "uuid").text = state["uuid"]
    source = state.get("source") or {}
    if state["type"] != "dir":
        node = child(root, "source")
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
    child(child(root, "target"), "path").text = state["path"]
    return to_string(root)


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
    return {"name": root.findtext("name"), "uuid": root.findtext("uuid"), "type": kind,
            "path": root.findtext("target/path"),
            "source": {k: v for k, v in source.items() if v is not None} or None}


# ---------------------------------------------------------------- volume
def volume_xml(name, capacity, fmt, allocation=None):
    """A storage volume definition: the name (a file name in a directory pool) is text, so any
    character in it stays part of the name."""
    root = etree.Element("volume")
    etree.SubElement(root, "name").text = name
    etree.SubElement(root, "capacity", unit="bytes").text = str(capacity)
    if allocation is not None:
        etree.SubElement(root, "allocation", unit="bytes").text = str(allocation)
    etree.SubElement(etree.SubElement(root, "target"), "format", type=fmt)
    return etree.tostring(root, encoding="unicode")
