# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An OVF descriptor (DSP0243, 1.x or 2.0) built from an export spec, valid against the DMTF XSDs.

Pure function over plain data (ova/export.py builds the spec from the guest), so it is unit-tested
on its own against the schemas. The spec:

    name, description|None, ovf_version '1.0'|'2.0', os {id (CIM OS type), type (vmw:osType), description},
    cpus, memory (bytes), firmware 'bios'|'efi',
    disks  [{href, size|None (file bytes), capacity (bytes), populated_size|None, bus, controller, unit,
             controller_model|None}],
    cdroms [{bus, controller, unit, controller_model|None}],
    nics   [{network, model|None, mac|None}],
    record {digest, size|None}: what ova_export records to tell an up-to-date OVA (see export.py)

Choices that make the package import in the most places:
- RASD elements in schema (alphabetical) order; every item has an ElementName and an InstanceID.
- VirtualSystemType lists "vmx-13 virtualbox-2.2": VMware reads the first, VirtualBox finds its own.
- Controllers: IDE (5), SCSI (6, ResourceSubType from the libvirt model: lsilogic, virtio-scsi, ...),
  SATA (20, AHCI), virtio-blk (20, "virtio": no other tool has a name for it).
- NICs: ResourceSubType E1000 / E1000e / VmxNet3 / PCNet32 / virtio / rtl8139, Connection = the
  network name, Address = the MAC (kept on import).
- UEFI: <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/> (VMware's key;
  VirtualBox and our importer read it too).
- Our record sits in attributes of the Envelope in our own namespace (the schema allows any
  attribute there), so reading it back costs one parse of the first member.
"""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import etree
from ansible_collections.virtcloud.core.plugins.module_utils.ova.vmdk import FORMAT_URL

ENVELOPE = {"1.0": "http://schemas.dmtf.org/ovf/envelope/1", "2.0": "http://schemas.dmtf.org/ovf/envelope/2"}
RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
VSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
CIM = "http://schemas.dmtf.org/wbem/wscim/1/common"
VMW = "http://www.vmware.com/schema/ovf"
VCT = "urn:virtcloud:core:ova"
RECORD_DIGEST = "{%s}exportDigest" % VCT
RECORD_SIZE = "{%s}archiveSize" % VCT

SYSTEM_TYPE = "vmx-13 virtualbox-2.2"
# the order of the CIM RASD schema (a sequence: alphabetical)
RASD_ORDER = ("Address", "AddressOnParent", "AllocationUnits", "AutomaticAllocation", "Caption", "Connection",
              "Description", "ElementName", "HostResource", "InstanceID", "Parent", "ResourceSubType",
              "ResourceType", "VirtualQuantity")

# bus -> (ResourceType, ResourceSubType or None, name)
CONTROLLERS = {
    "ide": (5, None, "IDE Controller"),
    "scsi": (6, "lsilogic", "SCSI Controller"),
    "sata": (20, "AHCI", "SATA Controller"),
    "virtio": (20, "virtio", "VirtIO Block Controller"),
}
SCSI_MODELS = {"lsilogic": "lsilogic", "lsisas1068": "lsilogicsas", "lsisas1078": "lsilogicsas",
               "virtio-scsi": "virtio-scsi", "vmpvscsi": "VirtualSCSI", "buslogic": "buslogic"}
NIC_MODELS = {"e1000": "E1000", "e1000e": "E1000e", "vmxnet3": "VmxNet3", "pcnet": "PCNet32",
              "virtio": "virtio", "rtl8139": "rtl8139"}
BUSES = tuple(CONTROLLERS)


def _sub(parent, tag, text=None, attrs=None):
    el = etree.SubElement(parent, tag, attrs or {})
    if text is not None:
        el.text = str(text)
    return el


class _Hardware:
    """The Items of a VirtualHardwareSection, numbered in order."""

    def __init__(self, section):
        self.section = section
        self.count = 0

    def item(self, **fields):
        self.count += 1
        fields["InstanceID"] = self.count
        required = fields.pop("required", None)
        extra = fields.pop("extra", ())
        ovf = self.section.nsmap[None]
        item = _sub(self.section, "{%s}Item" % ovf, attrs=None if required is None else {"{%s}required" % ovf: required})
        for key in RASD_ORDER:
            if fields.get(key) is not None:
                _sub(item, "{%s}%s" % (RASD, key), fields[key])
        for el in extra:
            item.append(el)
        return self.count


def _controllers(hw, devices):
    """One controller item per (bus, controller index) the devices use: their InstanceIDs."""
    ids = {}
    for dev in devices:
        key = (dev["bus"], dev["controller"])
        if key in ids:
            continue
        rtype, subtype, label = CONTROLLERS[dev["bus"]]
        if dev["bus"] == "scsi":
            subtype = SCSI_MODELS.get(dev.get("controller_model") or "lsilogic", dev.get("controller_model"))
        ids[key] = hw.item(Address=dev["controller"], Description=label,
                           ElementName="%s%d" % (dev["bus"], dev["controller"]),
                           ResourceSubType=subtype, ResourceType=rtype)
    return ids


def build(spec):
    """The descriptor as bytes (UTF-8, with an XML declaration)."""
    ovf = ENVELOPE[spec["ovf_version"]]

    def q(tag):
        return "{%s}%s" % (ovf, tag)
    nsmap = {None: ovf, "ovf": ovf, "rasd": RASD, "vssd": VSSD, "cim": CIM, "vmw": VMW, "vct": VCT}
    env = etree.Element(q("Envelope"), nsmap=nsmap)
    record = spec.get("record") or {}
    if record.get("digest"):
        env.set(RECORD_DIGEST, record["digest"])
    if record.get("size") is not None:
        env.set(RECORD_SIZE, str(record["size"]))

    refs = _sub(env, q("References"))
    for index, disk in enumerate(spec["disks"], start=1):
        attrs = {q("href"): disk["href"], q("id"): "file%d" % index}
        if disk.get("size") is not None:
            attrs[q("size")] = str(disk["size"])
        _sub(refs, q("File"), attrs=attrs)

    if spec["disks"]:
        section = _sub(env, q("DiskSection"))
        _sub(section, q("Info"), "Virtual disk information")
        for index, disk in enumerate(spec["disks"], start=1):
            attrs = {q("capacity"): str(disk["capacity"]), q("capacityAllocationUnits"): "byte",
                     q("diskId"): "vmdisk%d" % index, q("fileRef"): "file%d" % index, q("format"): FORMAT_URL}
            if disk.get("populated_size") is not None:
                attrs[q("populatedSize")] = str(disk["populated_size"])
            _sub(section, q("Disk"), attrs=attrs)

    networks = []
    for nic in spec["nics"]:
        if nic["network"] not in networks:
            networks.append(nic["network"])
    if networks:
        section = _sub(env, q("NetworkSection"))
        _sub(section, q("Info"), "The list of logical networks")
        for name in networks:
            net = _sub(section, q("Network"), attrs={q("name"): name})
            _sub(net, q("Description"), "The %s network" % name)

    system = _sub(env, q("VirtualSystem"), attrs={q("id"): spec["name"]})
    _sub(system, q("Info"), "A virtual machine")
    _sub(system, q("Name"), spec["name"])
    if spec.get("description"):
        annotation = _sub(system, q("AnnotationSection"))
        _sub(annotation, q("Info"), "A human-readable annotation")
        _sub(annotation, q("Annotation"), spec["description"])
    osinfo = spec["os"]
    os_attrs = {q("id"): str(osinfo["id"])}
    if osinfo.get("type"):
        os_attrs["{%s}osType" % VMW] = osinfo["type"]
    os_section = _sub(system, q("OperatingSystemSection"), attrs=os_attrs)
    _sub(os_section, q("Info"), "The kind of installed guest operating system")
    if osinfo.get("description"):
        _sub(os_section, q("Description"), osinfo["description"])

    section = _sub(system, q("VirtualHardwareSection"))
    _sub(section, q("Info"), "Virtual hardware requirements")
    vssd = _sub(section, q("System"))
    _sub(vssd, "{%s}ElementName" % VSSD, "Virtual Hardware Family")
    _sub(vssd, "{%s}InstanceID" % VSSD, 0)
    _sub(vssd, "{%s}VirtualSystemIdentifier" % VSSD, spec["name"])
    _sub(vssd, "{%s}VirtualSystemType" % VSSD, SYSTEM_TYPE)

    hw = _Hardware(section)
    hw.item(AllocationUnits="hertz * 10^6", Description="Number of Virtual CPUs",
            ElementName="%d virtual CPU(s)" % spec["cpus"], ResourceType=3, VirtualQuantity=spec["cpus"])
    mib = -(-spec["memory"] // (1 << 20))
    hw.item(AllocationUnits="byte * 2^20", Description="Memory Size", ElementName="%d MB of memory" % mib,
            ResourceType=4, VirtualQuantity=mib)
    controllers = _controllers(hw, list(spec["disks"]) + list(spec["cdroms"]))
    for index, disk in enumerate(spec["disks"], start=1):
        hw.item(AddressOnParent=disk["unit"], ElementName="disk%d" % index,
                HostResource="ovf:/disk/vmdisk%d" % index, Parent=controllers[(disk["bus"], disk["controller"])],
                ResourceType=17)
    for index, cdrom in enumerate(spec["cdroms"], start=1):
        hw.item(AddressOnParent=cdrom["unit"], AutomaticAllocation="false", Description="CD-ROM drive",
                ElementName="cdrom%d" % index, Parent=controllers[(cdrom["bus"], cdrom["controller"])],
                ResourceType=15, required="false")
    for index, nic in enumerate(spec["nics"], start=1):
        model = nic.get("model")
        hw.item(Address=nic.get("mac"), AutomaticAllocation="true", Connection=nic["network"],
                Description="%s ethernet adapter on %s" % (NIC_MODELS.get(model, model or "default"), nic["network"]),
                ElementName="ethernet%d" % index, ResourceSubType=NIC_MODELS.get(model, model),
                ResourceType=10)
    if spec.get("firmware") == "efi":
        _sub(section, "{%s}Config" % VMW, attrs={q("required"): "false", "{%s}key" % VMW: "firmware",
                                                 "{%s}value" % VMW: "efi"})
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def read_record(data):
    """What a descriptor says about itself: {version, digest, size} (our record: None where absent),
    or None when it is no OVF Envelope. `data`: the descriptor's bytes (trailing padding allowed),
    parsed without entities, DTDs or network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    name = etree.QName(root)
    versions = {uri: version for version, uri in ENVELOPE.items()}
    if name.localname != "Envelope" or name.namespace not in versions:
        return None
    size = root.get(RECORD_SIZE)
    return {"version": versions[name.namespace], "digest": root.get(RECORD_DIGEST),
            "size": int(size) if size and size.isdigit() else None}
