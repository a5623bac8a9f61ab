# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small lxml helpers for libvirt XML, shared by the domain, network and storage services."""

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

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

LXML_REQUIREMENT = ("lxml", "lxml>=4.9", LXML_IMPORT_ERROR)


def from_string(xml):
    """Parse libvirt XML, or XML a user gave (a domain's `xml` option): no entities are expanded
    and nothing is fetched. Blank text is dropped so that pretty_print re-indents what we insert."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    return etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, parser)


def user_tree(text, option, root_tag):
    """A user's XML (the `xml` option of a domain, network, pool or volume) as a tree whose root is
    <root_tag>, or an InputError naming `option`. A document type declaration is refused: libvirt
    XML has none, and the entities it declares would reach libvirt unexpanded (an external one
    names a host file), so the daemon would refuse them only after earlier items were written."""
    try:
        root = from_string(text)
    except etree.XMLSyntaxError as exc:
        raise InputError(option, "not well-formed XML: %s" % exc)
    if root.getroottree().docinfo.doctype:
        raise InputError(option, "has a document type declaration (%s); libvirt XML takes none and no "
                                 "entities: remove it and write the values out"
                         % root.getroottree().docinfo.doctype)
    if root.tag != root_tag:
        raise InputError(option, "the root element must be <%s>, not <%s>" % (root_tag, root.tag))
    return root


def to_string(root):
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def child(parent, tag):
    """The first `tag` child of parent, created (appended) when missing."""
    node = parent.find(tag)
    if node is None:
        node = etree.SubElement(parent, tag)
    return node


def replace_children(parent, tag, elements):
    """Replace every `tag` child of parent by the elements, at the position of the first one."""
    old = parent.findall(tag)
    position = list(parent).index(old[0]) if old else len(parent)
    for node in old:
        parent.remove(node)
    for offset, element in enumerate(elements):
        parent.insert(position + offset, element)


def volume_format(vol):
    """The format (qcow2, raw, ...) libvirt records for a storage volume, or None."""
    fmt = from_string(vol.XMLDesc(0)).find("target/format")
    return fmt.get("type") if fmt is not None else None


def persistent_xml(obj, inactive_flag):
    """The persistent (inactive) XML of a libvirt network/pool/domain, falling back to its only XML
    on drivers without separate persistent definitions (they refuse the flag, e.g. the test driver)."""
    try:
        return obj.XMLDesc(inactive_flag)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        return obj.XMLDesc(0)
