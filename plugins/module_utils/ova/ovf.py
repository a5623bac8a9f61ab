# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OVF descriptors (DSP0243 1.x and 2.x) read into plain facts: what a virtual system needs.

Safe XML first: a descriptor comes from whoever made the .ova, so a DOCTYPE of any kind (entity
expansion, external entities, external DTDs) is refused before the XML parser sees the document, and
lxml runs without DTD loading, entity resolution, network access or huge-tree mode.

What is read: References (files, gzip compression, chunks), DiskSection (capacity with allocation
units), NetworkSection, and per VirtualSystem: Name, AnnotationSection, ProductSection (product and
properties), EulaSection, OperatingSystemSection, VirtualHardwareSection (Item, StorageItem,
EthernetPortItem by ResourceType, disks attached to their controllers through Parent/InstanceID and
AddressOnParent), VMware's vmw:Config/ExtraConfig (firmware) and vmw:CoresPerSocket, VirtualBox's
vbox:Machine (firmware, CPUs, memory where the OVF items lack them), DeploymentOptionSection (items of
other configurations are left out). Everything else is kept as a name in `foreign`, never fatal.

A VirtualSystemCollection: the first VirtualSystem gives the top-level facts (with the EULAs, product
and properties of the collections around it), a warning says so, and `systems` lists every system's
facts in document order.
"""

from __future__ import annotations

import re

try:
    from lxml import etree
except ImportError:  # reported through the services' requirements (xmledit.LXML_REQUIREMENT)
    etree = None

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.ova.archive import MAX_DESCRIPTOR, check_name

OVF_VERSIONS = {"http://schemas.dmtf.org/ovf/envelope/1": "1.0", "http://schemas.dmtf.org/ovf/envelope/2": "2.0"}
VMW = "http://www.vmware.com/schema/ovf"
VBOX = "http://www.virtualbox.org/ovf/machine"
PREFIXES = {VMW: "vmw", VBOX: "vbox"}
PREFIXES.update((ns, "ovf") for ns in OVF_VERSIONS)

# DSP1041 resource types
CPU, MEMORY, IDE, SCSI, ETHERNET, FLOPPY, CD, DVD, DISK, OTHER_STORAGE, USB = 3, 4, 5, 6, 10, 14, 15, 16, 17, 20, 23
CONTROLLERS = (IDE, SCSI, OTHER_STORAGE, USB)
IGNORED_RESOURCES = {1, 2, 7, 8, 9, 11, 12, 13, 18, 19, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35}

SCSI_MODELS = {"lsilogic": "lsilogic", "lsilogicsas": "lsilogicsas", "buslogic": "buslogic",
               "virtualscsi": "pvscsi", "pvscsi": "pvscsi", "virtio-scsi": "virtio-scsi", "virtio": "virtio-scsi"}
NIC_MODELS = {"e1000": "e1000", "e1000e": "e1000e", "vmxnet3": "vmxnet3", "pcnet32": "pcnet", "pcnet": "pcnet",
              "am79c970a": "pcnet", "am79c973": "pcnet", "82540em": "e1000", "82543gc": "e1000",
              "82545em": "e1000", "virtio": "virtio", "virtio-net": "virtio", "rtl8139": "rtl8139"}
DISK_FORMATS = (  # (pattern of the ovf:format URL, format)
    (r"vmdk\.html#(streamoptimized|compressed)$", "streamOptimized"),
    (r"vmdk\.html#(sparse|monolithicsparse)$", "monolithicSparse"),
    (r"vmdk\.html", "vmdk"),
    (r"qcow", "qcow2"),
    (r"vhdx", "vhdx"),
    (r"(virtualserver|vhd)", "vpc"),
    (r"(raw|wiki/byte)", "raw"),
)
UNIT_WORDS = {"byte": 1, "bytes": 1, "b": 1}
for _power, _prefix in enumerate(("kilo", "mega", "giga", "tera", "peta"), start=1):
    for _word in (_prefix + "byte", _prefix + "bytes", _prefix[0] + "b", _prefix[0] + "ib", _prefix[0] + "ibyte"):
        UNIT_WORDS[_word] = 1024 ** _power
_HOST_RESOURCE = re.compile(r"^(?:ovf:)?/+(disk|file)/(.+)$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_PROPERTY_REF = re.compile(r"^\$\{([^}]+)\}$")


# ---------------------------------------------------------------------------------------- safe XML
def _prolog_text(data):
    """The start of the document as text, decoded far enough to see its prolog (markup is ASCII in
    every ASCII-compatible encoding; UTF-16/32 are recognised by BOM or zero bytes)."""
    head = data[:65536]
    for bom, codec in ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
                       (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\xef\xbb\xbf", "utf-8")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, "ignore")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", "ignore")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", "ignore")
    return head.decode("latin-1")


_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.S)


def _refuse_doctype(data, option):
    """Walk the prolog (XML declaration, comments, processing instructions) up to the root element;
    a DOCTYPE there (the only place entities can be declared) is refused."""
    text, pos = _prolog_text(data), 0
    while True:
        match = _PROLOG_ITEM.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
    rest = text[pos:pos + 9]
    if rest.upper().startswith("<!DOCTYPE"):
        raise InputError(option, "the OVF descriptor has a DOCTYPE (a DTD, which can declare entities or "
                                 "fetch external files); OVF descriptors have none, and it is refused unread")
    if not rest.startswith("<") or rest.startswith("<!"):
        raise InputError(option, "the OVF descriptor is not XML (no root element after the prolog)")


def _parser(recover=False):
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, recover=recover)


def safe_tree(data, option="src", what="the OVF descriptor"):
    """(root element, warnings) of an XML document from an untrusted source. The only leniency: a
    namespace declaration whose URI is not a valid URI (the DSP0243 2.1.1 example has a space in
    one) is accepted with a warning, since names are then matched by their local part."""
    if len(data) > MAX_DESCRIPTOR:
        raise InputError(option, "%s is %d bytes, more than the %d an OVF descriptor may have here"
                         % (what, len(data), MAX_DESCRIPTOR))
    _refuse_doctype(data, option)
    warnings = []
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        errors = list(parser.error_log)  # this parse's own messages (exc.error_log holds the thread's earlier ones)
        if not errors or any(e.type_name != "WAR_NS_URI" for e in errors):
            raise InputError(option, "%s is not well-formed XML: %s" % (what, exc))
        root = etree.fromstring(data, _parser(recover=True))
        warnings.extend("%s: %s (line %d); read anyway" % (what, e.message, e.line) for e in errors)
    if root is None or root.getroottree().docinfo.doctype:
        raise InputError(option, "%s is not a usable XML document" % what)
    return root, warnings


# ---------------------------------------------------------------------------------------- helpers
def _local(el):
    return etree.QName(el).localname


def _ns(el):
    return etree.QName(el).namespace


def _elements(el):
    return [c for c in el if isinstance(c.tag, str)]


def _qualified(el):
    ns = _ns(el)
    prefix = PREFIXES.get(ns) or el.prefix
    if prefix:
        return "%s:%s" % (prefix, _local(el))
    return "{%s}%s" % (ns, _local(el)) if ns else _local(el)


def _text(el):
    if el is None or el.text is None:
        return None
    value = el.text.strip()
    return value or None


def _int(value, option, where):
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InputError(option, "%s: %r is not a whole number" % (where, value))
    if number < 0:
        raise InputError(option, "%s: %r is negative" % (where, value))
    return number


def _bool(value, default):
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")


def allocation_units(text, option, where):
    """The number of bytes one unit of `text` is: DSP0004 programmatic units ("byte * 2^20",
    "byte*10^3", "byte"), and the words tools write ("MegaBytes", "KB", "GiB"). KB/MB/GB are powers
    of 1024, as VirtualBox means them (its "512 MegaBytes" of memory are 512 MiB)."""
    if text is None or not text.strip():
        return 1
    factor, base = 1, False
    for part in text.replace(" ", "").lower().split("*"):
        power = re.fullmatch(r"(\d+)\^(\d+)", part)
        if power and int(power.group(2)) <= 80:
            factor *= int(power.group(1)) ** int(power.group(2))
        elif part.isdigit():
            factor *= int(part)
        elif part in UNIT_WORDS and not base:
            factor *= UNIT_WORDS[part]
            base = True
        else:
            raise InputError(option, "%s: unknown allocation unit %r (expected bytes, such as 'byte * 2^20' "
                                     "or 'MegaBytes')" % (where, text))
    if not base:
        raise InputError(option, "%s: allocation unit %r is not a number of bytes" % (where, text))
    return factor


def disk_format(url):
    if not url:
        return None
    for pattern, name in DISK_FORMATS:
        if re.search(pattern, url, re.I):
            return name
    return None


def check_href(href, file_id, option):
    where = "File %s" % file_id
    if href is None:
        raise InputError(option, "%s has no ovf:href" % where)
    if _URL.match(href):
        raise InputError(option, "%s: href %r is a URL; only files inside the package are read" % (where, href))
    return check_name(href, option, "%s: href" % where)


def mac(value):
    """A MAC address as aa:bb:cc:dd:ee:ff, or None when `value` is not one."""
    if not value:
        return None
    digits = re.sub(r"[-:.]", "", value.strip()).lower()
    if not re.fullmatch(r"[0-9a-f]{12}", digits):
        return None
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


# ---------------------------------------------------------------------------------------- reader
class _Reader:
    """One descriptor being read: its OVF namespace, option name, and what it found on the way."""

    def __init__(self, root, option, warnings):
        self.ns = _ns(root)
        self.option = option
        self.warnings = warnings
        self.foreign = []
        self.configuration = None

    def attr(self, el, name):
        value = el.get("{%s}%s" % (self.ns, name))
        return el.get(name) if value is None else value

    def kids(self, el, name):
        return [c for c in _elements(el) if _local(c) == name and _ns(c) in OVF_VERSIONS]

    def kid(self, el, name):
        found = self.kids(el, name)
        return found[0] if found else None

    def kid_text(self, el, name):
        return _text(self.kid(el, name))

    def unknown(self, el):
        name = _qualified(el)
        if name not in self.foreign:
            self.foreign.append(name)

    def applies(self, el):
        """Whether an element with ovf:configuration / ovf:bound belongs to the deployed configuration."""
        if (self.attr(el, "bound") or "normal") != "normal":
            return False
        configurations = self.attr(el, "configuration")
        if configurations and self.configuration is not None:
            return self.configuration in configurations.split()
        return True


def references(data, option="src"):
    """The file names a descriptor's References give (checked as plain names), in order."""
    return [f["href"] for f in parse(data, option)["files"].values()]


def parse(data, option="src"):
    """The facts of an OVF descriptor (bytes), described in the module docstring. Any descriptor that
    is not a usable OVF Envelope is an InputError naming `option`."""
    root, warnings = safe_tree(data, option)
    if _local(root) != "Envelope" or _ns(root) not in OVF_VERSIONS:
        raise InputError(option, "the descriptor is XML but not an OVF descriptor: its root element is %s, "
                                 "not the Envelope of %s" % (root.tag, " or ".join(OVF_VERSIONS)))
    reader = _Reader(root, option, warnings)
    files = _files(reader, root)
    deployment = reader.kid(root, "DeploymentOptionSection")
    if deployment is not None:
        configurations = reader.kids(deployment, "Configuration")
        chosen = [c for c in configurations if _bool(reader.attr(c, "default"), False)] or configurations
        if chosen:
            reader.configuration = reader.attr(chosen[0], "id")
            warnings.append("the descriptor offers deployment options %s; %s (its default) is read"
                            % (", ".join(reader.attr(c, "id") or "?" for c in configurations), reader.configuration))
    networks = []
    for section in reader.kids(root, "NetworkSection"):
        for network in reader.kids(section, "Network"):
            networks.append({"name": reader.attr(network, "name"), "description": reader.kid_text(network, "Description")})
    disk_elements = [d for section in reader.kids(root, "DiskSection") for d in reader.kids(section, "Disk")]
    known = {"References", "DiskSection", "NetworkSection", "DeploymentOptionSection", "VirtualSystem",
             "VirtualSystemCollection", "Info", "Strings"}
    for el in _elements(root):
        if not (_ns(el) in OVF_VERSIONS and _local(el) in known):
            reader.unknown(el)
    found = []
    _systems(reader, root, [], found)
    if not found:
        raise InputError(option, "the OVF descriptor describes no VirtualSystem")
    properties = []
    for vs, collections in found:  # properties first: a disk capacity may be a ${property}
        properties.append(_properties(reader, collections + [vs]))
    disks = {}
    for disk in disk_elements:
        entry = _disk(reader, disk, files, properties[0])
        if entry["id"] in disks:
            raise InputError(option, "DiskSection: disk %s is declared twice" % entry["id"])
        disks[entry["id"]] = entry
    systems = [_system(reader, vs, collections, disks, files, props) for (vs, collections), props in zip(found, properties)]
    attached = {d["id"] for system in systems for d in system["disks"]}
    loose = [dict(d, bus=None, controller_model=None, unit=None, controller=None)
             for d in disks.values() if d["id"] not in attached]
    if loose:
        warnings.append("disk(s) %s of the DiskSection are attached to no virtual system's hardware; listed "
                        "without a bus" % ", ".join(d["id"] for d in loose))
        systems[0]["disks"].extend(loose)
    if len(systems) > 1:
        warnings.append("the descriptor is a VirtualSystemCollection of %d virtual systems (%s); the first, %s, "
                        "is the one described at the top level, see `systems` for all"
                        % (len(systems), ", ".join(s["virtual_system_id"] or "?" for s in systems), systems[0]["name"]))
    for system in systems:
        warnings.extend(system.pop("_warnings"))
    result = {"version": OVF_VERSIONS[reader.ns], "files": files, "networks": networks}
    result.update(systems[0])
    result["systems"] = systems
    result["foreign"] = reader.foreign
    result["warnings"] = warnings
    return result


def _files(reader, root):
    files = {}
    for section in reader.kids(root, "References"):
        for el in reader.kids(section, "File"):
            file_id = reader.attr(el, "id")
            if not file_id:
                raise InputError(reader.option, "References: a File has no ovf:id")
            if file_id in files:
                raise InputError(reader.option, "References: File %s is declared twice" % file_id)
            href = check_href(reader.attr(el, "href"), file_id, reader.option)
            if any(f["href"] == href for f in files.values()):
                raise InputError(reader.option, "References: File %s names %s, which another File names too"
                                 % (file_id, href))
            compression = reader.attr(el, "compression")
            if compression in (None, "", "identity"):
                compression = None
            elif compression != "gzip":
                raise InputError(reader.option, "File %s: compression %r is not supported (gzip is, as OVF defines)"
                                 % (file_id, compression))
            chunk = _int(reader.attr(el, "chunkSize"), reader.option, "File %s ovf:chunkSize" % file_id)
            files[file_id] = {"href": href,
                              "size": _int(reader.attr(el, "size"), reader.option, "File %s ovf:size" % file_id),
                              "compression": compression, "chunk_size": chunk or None}
    return files


def _systems(reader, el, collections, found):
    """Every VirtualSystem under `el`, in document order, with the collections around it."""
    for child in _elements(el):
        if _ns(child) not in OVF_VERSIONS:
            continue
        if _local(child) == "VirtualSystem":
            found.append((child, collections))
        elif _local(child) == "VirtualSystemCollection":
            for section in _elements(child):
                if _ns(section) not in OVF_VERSIONS or _local(section) not in (
                        "Info", "Name", "VirtualSystem", "VirtualSystemCollection", "ProductSection", "EulaSection",
                        "AnnotationSection", "StartupSection"):
                    reader.unknown(section)
            _systems(reader, child, collections + [child], found)


def _properties(reader, holders):
    props = []
    for holder in holders:
        for section in reader.kids(holder, "ProductSection"):
            prefix, instance = reader.attr(section, "class"), reader.attr(section, "instance")
            for el in reader.kids(section, "Property"):
                key = ".".join(p for p in (prefix, reader.attr(el, "key"), instance) if p)
                value = reader.attr(el, "value")
                for alternative in reader.kids(el, "Value"):
                    if reader.configuration and reader.configuration in (reader.attr(alternative, "configuration") or "").split():
                        value = reader.attr(alternative, "value")
                props.append({"key": key, "type": reader.attr(el, "type"), "value": value,
                              "user_configurable": _bool(reader.attr(el, "userConfigurable"), False),
                              "label": reader.kid_text(el, "Label"), "description": reader.kid_text(el, "Description")})
    return props


def _disk(reader, el, files, properties):
    disk_id = reader.attr(el, "diskId")
    where = "DiskSection: disk %s" % disk_id
    if not disk_id:
        raise InputError(reader.option, "DiskSection: a Disk has no ovf:diskId")
    file_id = reader.attr(el, "fileRef") or None
    if file_id is not None and file_id not in files:
        raise InputError(reader.option, "%s refers to file %s, which References does not declare" % (where, file_id))
    capacity = reader.attr(el, "capacity")
    ref = _PROPERTY_REF.match(capacity or "")
    if ref:
        values = [p["value"] for p in properties if p["key"] == ref.group(1)]
        if not values or values[0] is None:
            raise InputError(reader.option, "%s: its capacity %s names no property with a value" % (where, capacity))
        capacity = values[0]
    if capacity is None:
        raise InputError(reader.option, "%s has no ovf:capacity" % where)
    units = allocation_units(reader.attr(el, "capacityAllocationUnits"), reader.option, where)
    url = reader.attr(el, "format")
    fmt = disk_format(url)
    if url and fmt is None:
        reader.warnings.append("%s: format %s is not one this collection knows" % (where, url))
    populated = _int(reader.attr(el, "populatedSize"), reader.option, "%s ovf:populatedSize" % where)
    return {"id": disk_id, "file_id": file_id, "capacity": _int(capacity, reader.option, "%s ovf:capacity" % where) * units,
            "populated_size": populated, "format": fmt, "format_url": url}


def _item(reader, el):
    """An Item/StorageItem/EthernetPortItem as {local name: text} (HostResource, Connection: lists)."""
    fields = {"HostResource": [], "Connection": []}
    for child in _elements(el):
        name = _local(child)
        if name in ("HostResource", "Connection"):
            if _text(child):
                fields[name].append(_text(child))
        elif name == "CoresPerSocket":
            fields[name] = _text(child)
        else:
            fields.setdefault(name, _text(child))
    return fields


def _controller(item):
    """(bus, controller model) of a controller item."""
    kind = item["ResourceType"]
    subtype = (item.get("ResourceSubType") or "").lower()
    if kind == IDE:
        return "ide", None
    if kind == SCSI:
        return "scsi", SCSI_MODELS.get(subtype, subtype or None)
    if kind == USB:
        return "usb", None
    described = " ".join((subtype, (item.get("ElementName") or "").lower(), (item.get("Caption") or "").lower()))
    if "nvme" in described:
        return "nvme", None
    if "ahci" in described or "sata" in described:
        return "sata", "ahci"
    if "virtio" in described:
        return "virtio", None
    return None, subtype or None


def _system(reader, vs, collections, disks, files, properties):
    warnings = []
    vs_id = reader.attr(vs, "id")
    where = "VirtualSystem %s" % vs_id
    facts = {"virtual_system_id": vs_id, "name": reader.kid_text(vs, "Name"), "description": None,
             "os": {"id": None, "type": None, "description": None}, "cpus": None, "cores_per_socket": None,
             "memory": None, "firmware": "bios", "system_type": None, "disks": [], "cdroms": [], "nics": [],
             "product": None, "eula": [], "properties": properties}
    for holder in collections + [vs]:
        for section in reader.kids(holder, "EulaSection"):
            facts["eula"].extend(_text(lic) for lic in reader.kids(section, "License") if _text(lic))
    for holder in [vs] + collections[::-1]:
        for section in reader.kids(holder, "ProductSection"):
            if facts["product"] is None and reader.kid(section, "Product") is not None:
                facts["product"] = {"product": reader.kid_text(section, "Product"),
                                    "vendor": reader.kid_text(section, "Vendor"),
                                    "version": reader.kid_text(section, "Version"),
                                    "full_version": reader.kid_text(section, "FullVersion"),
                                    "url": reader.kid_text(section, "ProductUrl")}
    hardware, machine = [], None
    for el in _elements(vs):
        name, ns = _local(el), _ns(el)
        if ns in OVF_VERSIONS and name in ("Info", "Name", "EulaSection", "ProductSection"):
            continue
        if ns in OVF_VERSIONS and name == "AnnotationSection":
            facts["description"] = reader.kid_text(el, "Annotation")
        elif ns in OVF_VERSIONS and name == "OperatingSystemSection":
            facts["os"] = {"id": _int(reader.attr(el, "id"), reader.option, "%s OperatingSystemSection ovf:id" % where),
                           "type": el.get("{%s}osType" % VMW) or _text(next(
                               (c for c in _elements(el) if _ns(c) == VBOX and _local(c) == "OSType"), None)),
                           "description": reader.kid_text(el, "Description")}
        elif ns in OVF_VERSIONS and name == "VirtualHardwareSection":
            hardware.append(el)
        else:
            reader.unknown(el)
            if ns == VBOX and name == "Machine":
                machine = el
    if not hardware:
        raise InputError(reader.option, "%s has no VirtualHardwareSection" % where)
    if len(hardware) > 1:
        warnings.append("%s has %d VirtualHardwareSections; the first is read" % (where, len(hardware)))
    _hardware(reader, hardware[0], facts, disks, files, where, warnings)
    if machine is not None:
        _vbox_machine(machine, facts)
    if facts["cpus"] is None:
        facts["cpus"] = 1
        warnings.append("%s declares no CPU item; 1 CPU assumed" % where)
    if facts["memory"] is None:
        warnings.append("%s declares no memory item" % where)
    if facts["name"] is None:
        facts["name"] = facts.pop("_identifier", None) or vs_id
    facts.pop("_identifier", None)
    facts["_warnings"] = warnings
    return facts


def _hardware(reader, section, facts, disks, files, where, warnings):
    system = reader.kid(section, "System")
    if system is not None:
        for child in _elements(system):
            if _local(child) == "VirtualSystemType":
                facts["system_type"] = _text(child)
            elif _local(child) == "VirtualSystemIdentifier":
                facts["_identifier"] = _text(child)
    items = []
    for el in _elements(section):
        name, ns = _local(el), _ns(el)
        if ns in OVF_VERSIONS and name in ("Item", "StorageItem", "EthernetPortItem"):
            if reader.applies(el):
                items.append(_item(reader, el))
        elif ns == VMW and name in ("Config", "ExtraConfig"):
            if el.get("{%s}key" % VMW) == "firmware" and (el.get("{%s}value" % VMW) or "").lower() == "efi":
                facts["firmware"] = "efi"
        elif not (ns in OVF_VERSIONS and name in ("Info", "System")):
            reader.unknown(el)
    by_id = {}
    for item in items:
        item["ResourceType"] = _int(item.get("ResourceType"), reader.option, "%s Item ResourceType" % where)
        if item.get("InstanceID"):
            by_id[item["InstanceID"]] = item
    for item in items:
        kind = item["ResourceType"]
        label = "%s item %s (%s)" % (where, item.get("InstanceID"), item.get("ElementName") or item.get("Caption") or kind)
        if kind == CPU and facts["cpus"] is None:
            facts["cpus"] = _int(item.get("VirtualQuantity") or "1", reader.option, label)
            facts["cores_per_socket"] = _int(item.get("CoresPerSocket"), reader.option, label)
        elif kind == MEMORY and facts["memory"] is None:
            quantity = _int(item.get("VirtualQuantity"), reader.option, label)
            units = item.get("AllocationUnits") or "byte * 2^20"
            facts["memory"] = quantity * allocation_units(units, reader.option, label) if quantity is not None else None
        elif kind == ETHERNET:
            subtype = (item.get("ResourceSubType") or "").lower() or None
            facts["nics"].append({"network": (item["Connection"] or [None])[0],
                                  "model": NIC_MODELS.get(subtype, subtype),
                                  "mac": mac(item.get("Address")),
                                  "connected": _bool(item.get("AutomaticAllocation"), True)})
        elif kind in (DISK, CD, DVD, FLOPPY):
            _drive(reader, item, label, by_id, disks, files, facts, warnings)
        elif kind not in CONTROLLERS and kind not in IGNORED_RESOURCES:
            warnings.append("%s: resource type %s is not one this collection knows; ignored" % (label, kind))


def _drive(reader, item, label, by_id, disks, files, facts, warnings):
    kind = item["ResourceType"]
    parent = by_id.get(item.get("Parent")) if item.get("Parent") else None
    if item.get("Parent") and parent is None:
        raise InputError(reader.option, "%s: its Parent %s is no item of the VirtualHardwareSection"
                         % (label, item["Parent"]))
    if kind == FLOPPY:
        bus, model = "fdc", None
    elif parent is not None and parent["ResourceType"] in CONTROLLERS:
        bus, model = _controller(parent)
    else:
        bus, model = None, None
        if parent is not None:
            warnings.append("%s: its Parent is not a disk controller" % label)
    unit = _int(item.get("AddressOnParent"), reader.option, "%s AddressOnParent" % label)
    controller = _int(parent.get("Address"), reader.option, "%s controller Address" % label) if parent else None
    place = {"bus": bus, "controller_model": model, "unit": unit, "controller": controller}
    refs = []
    for resource in item["HostResource"]:
        match = _HOST_RESOURCE.match(resource)
        if match is None:
            raise InputError(reader.option, "%s: HostResource %r is not ovf:/disk/<id> or ovf:/file/<id>"
                             % (label, resource))
        refs.append(match.groups())
    if kind == DISK:
        if not refs:
            warnings.append("%s: a disk drive without a HostResource; ignored" % label)
            return
        what, ref = refs[0]
        if what == "disk":
            if ref not in disks:
                raise InputError(reader.option, "%s: HostResource names disk %s, which the DiskSection does not "
                                                "declare" % (label, ref))
            facts["disks"].append(dict(disks[ref], **place))
        else:
            if ref not in files:
                raise InputError(reader.option, "%s: HostResource names file %s, which References does not "
                                                "declare" % (label, ref))
            facts["disks"].append(dict({"id": None, "file_id": ref, "capacity": None, "populated_size": None,
                                        "format": None, "format_url": None}, **place))
        return
    file_id = None
    for what, ref in refs:
        if what == "file":
            if ref not in files:
                raise InputError(reader.option, "%s: HostResource names file %s, which References does not "
                                                "declare" % (label, ref))
            file_id = ref
        elif ref in disks and kind == FLOPPY:
            facts["disks"].append(dict(disks[ref], **place))
            return
    if kind in (CD, DVD):
        facts["cdroms"].append(dict(place, file_id=file_id))


def _vbox_machine(machine, facts):
    """What VirtualBox's own machine description adds: EFI firmware, and CPUs/memory when the OVF
    items lack them. Its elements are matched by local name (VirtualBox writes them in the OVF
    namespace)."""
    for el in machine.iter():
        if not isinstance(el.tag, str):
            continue
        name = _local(el)
        if name == "Firmware" and (el.get("type") or "").upper().startswith("EFI"):
            facts["firmware"] = "efi"
        elif name == "CPU" and facts["cpus"] is None and (el.get("count") or "").isdigit():
            facts["cpus"] = int(el.get("count"))
        elif name == "Memory" and facts["memory"] is None and (el.get("RAMSize") or "").isdigit():
            facts["memory"] = int(el.get("RAMSize")) << 20
