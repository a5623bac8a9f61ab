# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A user's own libvirt XML (the `xml` option of networks, pools and volumes) merged onto the stored
definition the way the guest module merges a domain's: with domain_xml's merge, normalise and
canonical, so that definitions are compared as canonical trees and never as text.

What the user's XML says wins. Every element directly under its root is marked `replace`: when
the stored element does not already contain it (libvirt may have added defaults to it), the user's
element replaces it whole. Lists of entries (a network's <ip>, DHCP hosts, DNS hosts, ...) are
`own`ed: a stored entry the XML no longer lists is dropped. Elements the XML leaves out (the UUID,
MAC address and bridge libvirt generated, a pool's capacity) are kept as they are.
"""

from __future__ import annotations

import copy

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml as dx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import etree, user_tree

KEPT = ("name", "uuid")  # identify the object: never replaced, compared on their own


def user_xml(text, root_tag, name, option="xml"):
    """The user's XML as a tree whose root is <root_tag> and whose <name> is `name` (set when the
    XML has none); an InputError naming `option` for anything else."""
    root = user_tree(text, option, root_tag)
    given = root.find("name")
    if given is not None and (given.text or "").strip() and given.text.strip() != name:
        raise InputError(option, "names %r in <name>, but the name option is %r; they must agree (or "
                                 "leave <name> out)" % (given.text.strip(), name))
    if given is None:
        given = etree.Element("name")
        root.insert(0, given)
    given.text = name
    return dx.normalise(root)


def mark(root, owned):
    """Mark a desired tree for `merge` (in place, returns root): the children of the root replace
    stored ones they are not contained in; `owned` maps a tag to the entry tags whose list every
    such element of the tree owns."""
    for el in root:
        if isinstance(el.tag, str) and el.tag not in KEPT:
            dx.replaceable(el)
    for el in root.iter(etree.Element):
        if el.tag in owned:
            dx.own(el, *owned[el.tag])
    return root


def merge(stored, want, normalise=dx.normalise):
    """The stored tree with the marked desired tree merged onto it, normalised (a new tree)."""
    return normalise(dx.merge(copy.deepcopy(stored), want))


def same(a, b):
    """Whether two normalised trees are the same definition."""
    return dx.canonical(a) == dx.canonical(b)


def uuid_check(want, stored, kind, option="xml"):
    """A UUID in the user's XML must be the stored one: libvirt cannot change it."""
    theirs, ours = want.findtext("uuid"), stored.findtext("uuid")
    if theirs and ours and theirs.strip().lower() != ours.strip().lower():
        raise InputError(option, "gives UUID %s, but %s exists with UUID %s; a UUID cannot change"
                                 % (theirs.strip(), kind, ours.strip()))


def tostring(root):
    """XML for libvirt, the marks removed."""
    return dx.tostring(root)
