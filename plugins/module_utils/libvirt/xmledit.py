# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small lxml helpers to edit libvirt XML in place, keeping everything we do not manage."""

from __future__ import annotations

try:
    from lxml import etree

    LXML_IMPORT_ERROR = None
except ImportError as exc:  # reported by the engine (Service.requirements) before anything is touched
    etree = None
    LXML_IMPORT_ERROR = exc

try:
    import libvirt
except ImportError:  # reported the same way, through LibvirtService.requirements
    libvirt = None

LXML_REQUIREMENT = ("lxml", "lxml>=4.9", LXML_IMPORT_ERROR)


def from_string(xml):
    # blank text dropped on parse so that pretty_print re-indents what we insert
    return etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))


def to_string(root):
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def child(parent, tag):
    """The first `tag` child of parent, created (appended) when missing."""
    node = parent.find(tag)
    if node is None:
        node = etree.SubElement(parent, tag)
    return node


def replace_children(parent, tag, fragments):
    """Replace every `tag` child of parent by the XML fragments, at the position of the first one."""
    old = parent.findall(tag)
    position = list(parent).index(old[0]) if old else len(parent)
    for node in old:
        parent.remove(node)
    for offset, fragment in enumerate(fragments):
        parent.insert(position + offset, from_string(fragment))


def persistent_xml(obj, inactive_flag):
    """The persistent (inactive) XML of a libvirt network/pool/domain, falling back to its only XML
    on drivers without separate persistent definitions (they refuse the flag, e.g. the test driver)."""
    try:
        return obj.XMLDesc(inactive_flag)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        return obj.XMLDesc(0)
