"""Fixture OVAs for the OVF/OVA tests, the demo and the benchmark (issue 22).

Good packages -- laid out the way real tools write them:

    from lib.ova import build_ova, boot_disk, boot_vmdk, big_ova, hostile_ova, HOSTILE_CASES

    info = build_ova(tmp_path / "tiny.ova")                      # generic OVF 1.0, IDE, SHA256 manifest
    info = build_ova(path, flavour="vmware")                    # ovftool style
    info = build_ova(path, flavour="virtualbox", ovf_version="2.0")
    info = build_ova(path, gzip=True, chunk_size=4 << 20)       # compressed, chunked disk members

- ``boot_disk()``: a 32 MiB raw disk that boots under SeaBIOS (syslinux on a FAT file system, the
  Debian cloud kernel and the busybox initramfs of lib.guest); its init prints ``GUEST_MARKER`` on
  ttyS0. ``boot_vmdk()``: the same disk as a streamOptimized VMDK (~15 MB). Both are built once per
  machine and cached under ``ASSET_DIR`` like lib.guest's assets (a directory named after a hash of
  the recipe, a lock file, published by an atomic rename).
- ``build_ova(dest, ...)`` writes one OVA (or a directory-form package with ``layout="directory"``)
  and returns a dict describing it (see its docstring).
- ``hostile_ova(dest, case)`` writes one hostile archive of ``HOSTILE_CASES`` (each case says which
  fragment the importer's error message carries, ``case.expect``); the builders write nothing
  outside ``dest``'s directory and read nothing but their own cached fixtures.
- ``big_ova(dest=None, size=1 GiB)``: the benchmark's OVA (a streamOptimized disk, partly random
  data, the rest zeros), cached under ``ASSET_DIR`` (``dest`` given: hard-linked or copied there).
- ``boot_and_wait(disk, ...)``: defines a throw-away TCG guest in qemu:///system that boots BIOS-style
  from ``disk`` and waits (bounded) for the marker on its serial console.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip as gzip_module
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
import time
import uuid
from typing import Callable, NamedTuple

from lxml import etree

try:
    from lib.guest import ASSET_DIR, GUEST_MARKER, guest_assets
except ImportError:      # run as a script: python tests/lib/ova.py ...
    from guest import ASSET_DIR, GUEST_MARKER, guest_assets  # type: ignore[no-redef]

MiB = 1 << 20
GiB = 1 << 30

# ---------------------------------------------------------------- namespaces and formats
NS = {
    "ovf1": "http://schemas.dmtf.org/ovf/envelope/1",
    "ovf2": "http://schemas.dmtf.org/ovf/envelope/2",
    "rasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData",
    "vssd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData",
    "sasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData",
    "epasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData",
    "cim": "http://schemas.dmtf.org/wbem/wscim/1/common",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "vmw": "http://www.vmware.com/schema/ovf",
    "vbox": "http://www.virtualbox.org/ovf/machine",
}
# VirtualBox's OVF 2.0 export names the SASD/EPASD namespaces with a ".xsd" suffix (as its real
# descriptors do, tests/data/ovf-samples/virtualbox-ubuntu.2.0.ovf); an importer must cope.
VBOX_SASD = NS["sasd"] + ".xsd"
VBOX_EPASD = NS["epasd"] + ".xsd"
FORMAT_STREAM = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
FORMAT_SPARSE = "http://www.vmware.com/specifications/vmdk.html#sparse"
FORMAT_QCOW2 = "http://www.gnome.org/~markmc/qcow-image-format.html"   # oVirt's OVAs use this URL

FLAVOURS = ("generic", "vmware", "virtualbox")
NIC_SUBTYPES = {"e1000": "E1000", "e1000e": "E1000e", "vmxnet3": "VmxNet3", "pcnet": "PCNet32",
                "virtio": "virtio", "rtl8139": "rtl8139"}
DEFAULT_NICS = {"generic": [{"network": "LAN", "model": "e1000"}],
                "vmware": [{"network": "VM Network", "model": "vmxnet3"}],
                "virtualbox": [{"network": "NAT", "model": "e1000"}]}
# How each tool writes a manifest line: VMware (and the OVF spec's example) "SHA256(name)= hex",
# VirtualBox (IPRT RTManifestWriteStandard) "SHA256 (name) = hex".
MANIFEST_LINE = {"generic": "%s(%s)= %s\n", "vmware": "%s(%s)= %s\n", "virtualbox": "%s (%s) = %s\n"}

SYSLINUX_CFG = "DEFAULT linux\nPROMPT 0\nTIMEOUT 1\nLABEL linux\n  KERNEL vmlinuz\n  APPEND initrd=initrd.gz console=ttyS0 panic=-1\n"
BOOT_DISK_MIB = 32


def _run(argv, **kw):
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, **kw)
    if proc.returncode:
        raise RuntimeError("%s failed (%s): %s %s" % (" ".join(map(str, argv)), proc.returncode,
                                                      proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.stdout


def _tool_version(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.splitlines()[:1]


# ---------------------------------------------------------------- cache
def cached(kind, recipe, build):
    """The directory ASSET_DIR/<kind>-<hash of recipe>, built by ``build(staging_dir)`` on first use.
    Concurrent builders are serialised by a lock file (one of ours, not lib.guest's, so a builder may
    call guest_assets()) and the result appears atomically (rename)."""
    final = os.path.join(ASSET_DIR, "%s-%s" % (kind, hashlib.sha256(recipe.encode()).hexdigest()[:12]))
    if os.path.isdir(final):
        return final
    os.makedirs(ASSET_DIR, exist_ok=True)
    with open(os.path.join(ASSET_DIR, ".lock-ova"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(final):
            staging = tempfile.mkdtemp(prefix=".%s-" % kind, dir=ASSET_DIR)
            try:
                build(staging)
                os.chmod(staging, 0o755)
                os.rename(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    return final


def _boot_recipe():
    kernel, initrd = guest_assets()
    return kernel, initrd, "\n".join([
        "boot-disk v1", os.path.dirname(kernel), SYSLINUX_CFG, str(BOOT_DISK_MIB),
        *_tool_version(["dpkg-query", "-W", "-f=${Version}\n", "syslinux"])])


def boot_disk():
    """Path of the cached bootable raw disk (32 MiB, FAT + syslinux + kernel + initramfs)."""
    kernel, initrd, recipe = _boot_recipe()

    def build(staging):
        image = os.path.join(staging, "disk.img")
        with open(image, "wb") as handle:
            handle.truncate(BOOT_DISK_MIB * MiB)
        cfg = os.path.join(staging, "syslinux.cfg")
        with open(cfg, "w") as handle:
            handle.write(SYSLINUX_CFG)
        _run(["mkfs.vfat", "-n", "VCTBOOT", image])
        _run(["mcopy", "-i", image, kernel, initrd, cfg, "::/"])
        _run(["syslinux", "--install", image])
        os.remove(cfg)
        os.chmod(image, 0o644)

    return os.path.join(cached("ova-bootdisk", recipe, build), "disk.img")


def boot_vmdk():
    """Path of the cached bootable disk as a streamOptimized VMDK."""
    raw = boot_disk()
    recipe = "boot-vmdk v1\n%s\n%s" % (raw, _tool_version(["qemu-img", "--version"]))

    def build(staging):
        to_vmdk(raw, os.path.join(staging, "disk.vmdk"))

    return os.path.join(cached("ova-bootvmdk", recipe, build), "disk.vmdk")


def to_vmdk(src, dest):
    """qemu-img convert SRC (any format qemu-img reads) to a streamOptimized VMDK at DEST."""
    _run(["qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", src, dest])


def image_info(path):
    return json.loads(_run(["qemu-img", "info", "--output=json", path]))


# ---------------------------------------------------------------- descriptor
class _Disk(NamedTuple):
    file_id: str
    disk_id: str
    href: str            # the File's href (for chunked files: the base name of the chunks)
    size: int            # the stored file's size (compressed when gzip)
    capacity: int        # bytes
    populated: int
    compression: str | None
    chunk_size: int | None
    format_url: str


def _q(ns, tag):
    return "{%s}%s" % (NS.get(ns, ns), tag)


class _Writer:
    """Builds one descriptor: knows the flavour's namespaces, item element names and habits."""

    def __init__(self, flavour, ovf_version):
        if flavour not in FLAVOURS:
            raise ValueError("flavour must be one of %s" % (FLAVOURS,))
        if ovf_version not in ("1.0", "2.0"):
            raise ValueError("ovf_version must be '1.0' or '2.0'")
        self.flavour, self.version = flavour, ovf_version
        self.ovf = NS["ovf1"] if ovf_version == "1.0" else NS["ovf2"]
        self.sasd = VBOX_SASD if flavour == "virtualbox" else NS["sasd"]
        self.epasd = VBOX_EPASD if flavour == "virtualbox" else NS["epasd"]
        nsmap = {None: self.ovf, "ovf": self.ovf, "rasd": NS["rasd"], "vssd": NS["vssd"], "xsi": NS["xsi"]}
        if flavour == "vmware":
            nsmap.update(cim=NS["cim"], vmw=NS["vmw"])
        if flavour == "virtualbox":
            nsmap["vbox"] = NS["vbox"]
        if ovf_version == "2.0":
            nsmap.update(sasd=self.sasd, epasd=self.epasd)
        self.root = etree.Element(self.o("Envelope"), nsmap=nsmap)
        self.next_instance = 1

    def o(self, tag):
        return "{%s}%s" % (self.ovf, tag)

    def sub(self, parent, tag, text=None, **attrs):
        node = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
        if text is not None:
            node.text = str(text)
        return node

    def section(self, parent, tag, info, **attrs):
        node = self.sub(parent, self.o(tag), **attrs)
        self.sub(node, self.o("Info"), info)
        return node

    def item(self, hardware, fields, kind="Item", vendor=()):
        """One RASD/SASD/EPASD item with its fields in the schema's (alphabetical) order, except
        VirtualBox's OVF 1.0 export, which writes Caption/ElementName/Description first."""
        ns = {"Item": NS["rasd"], "StorageItem": self.sasd, "EthernetPortItem": self.epasd}[kind]
        if self.version == "1.0":
            kind, ns = "Item", NS["rasd"]
        node = self.sub(hardware, self.o(kind))
        fields = {k: v for k, v in fields.items() if v is not None}
        fields["InstanceID"] = self.next_instance
        self.next_instance += 1
        if self.flavour == "virtualbox":
            fields.setdefault("Caption", fields.get("ElementName"))
        if self.flavour != "virtualbox" or self.version == "2.0":
            fields.setdefault("ElementName", fields.get("Caption") or fields.get("Description"))
        if self.flavour == "virtualbox" and self.version == "1.0":
            first = ["Caption", "ElementName", "Description", "InstanceID", "ResourceType", "ResourceSubType"]
            keys = [k for k in first if k in fields] + [k for k in fields if k not in first]
        else:
            keys = sorted(fields)
        for key in keys:
            self.sub(node, "{%s}%s" % (ns, key), fields[key])
        for key, value in vendor:
            attrs = {self.o("required"): "false", _q("vmw", "key"): key, _q("vmw", "value"): value}
            self.sub(node, _q("vmw", "Config"), **attrs)
        return fields["InstanceID"]


def _descriptor(flavour, ovf_version, name, disks, nics, firmware, cpus, memory_mib, extra):
    w = _Writer(flavour, ovf_version)
    env, o = w.root, w.o
    if ovf_version == "2.0" or flavour == "virtualbox":
        env.set(o("version"), ovf_version)
    if flavour == "virtualbox":
        env.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    if flavour == "vmware":
        env.set(_q("vmw", "buildId"), "build-18663434")
    refs = w.sub(env, o("References"))
    for disk in disks:
        w.sub(refs, o("File"), **{o("href"): disk.href, o("id"): disk.file_id, o("size"): disk.size,
                                  o("compression"): disk.compression, o("chunkSize"): disk.chunk_size})
    section = w.section(env, "DiskSection", {"virtualbox": "List of the virtual disks used in the package"}
                        .get(flavour, "Virtual disk information"))
    for disk in disks:
        attrs = {o("capacity"): disk.capacity, o("diskId"): disk.disk_id, o("fileRef"): disk.file_id,
                 o("format"): disk.format_url}
        if flavour == "vmware":
            mib = -(-disk.capacity // MiB)
            attrs.update({o("capacity"): mib, o("capacityAllocationUnits"): "byte * 2^20",
                          o("populatedSize"): disk.populated})
        if flavour == "virtualbox":
            attrs[_q("vbox", "uuid")] = str(uuid.uuid5(uuid.NAMESPACE_URL, name + disk.disk_id))
        w.sub(section, o("Disk"), **attrs)
    section = w.section(env, "NetworkSection", "The list of logical networks")
    for network in dict.fromkeys(nic["network"] for nic in nics):
        w.sub(w.sub(section, o("Network"), **{o("name"): network}), o("Description"),
              "The %s network" % network)
    system = w.sub(env, o("VirtualSystem"), **{o("id"): name})
    w.sub(system, o("Info"), "A virtual machine")
    w.sub(system, o("Name"), name)
    os_info = dict({"generic": {"id": 101, "description": "Other Linux (64-bit)"},
                    "vmware": {"id": 101, "type": "other5xLinux64Guest"},
                    "virtualbox": {"id": 102, "description": "Linux_64"}}[flavour], **extra.get("os", {}))
    section = w.section(system, "OperatingSystemSection", "The kind of installed guest operating system",
                        **{o("id"): os_info["id"], _q("vmw", "osType"): os_info.get("type")})
    if os_info.get("description"):
        w.sub(section, o("Description"), os_info["description"])
    if flavour == "virtualbox":
        w.sub(section, _q("vbox", "OSType"), os_info.get("description", "Linux_64"), **{o("required"): "false"})

    hardware = w.section(system, "VirtualHardwareSection", "Virtual hardware requirements")
    # generic tools (packer, open-vmdk) write a vmx-NN type so that VMware accepts their OVAs
    vst = extra.get("system_type", {"generic": "vmx-07", "vmware": "vmx-13", "virtualbox": "virtualbox-2.2"}[flavour])
    system_node = w.sub(hardware, o("System"))
    for key, value in (("ElementName", "Virtual Hardware Family"), ("InstanceID", 0),
                       ("VirtualSystemIdentifier", name), ("VirtualSystemType", vst)):
        w.sub(system_node, _q("vssd", key), value)
    cpu_fields = {"Description": "Number of Virtual CPUs", "ElementName": "%d virtual CPU(s)" % cpus,
                  "ResourceType": 3, "VirtualQuantity": cpus}
    if flavour == "vmware":
        cpu_fields["AllocationUnits"] = "hertz * 10^6"
    w.item(hardware, cpu_fields)
    if flavour == "vmware" and extra.get("cores_per_socket"):
        last = hardware[-1]
        w.sub(last, _q("vmw", "CoresPerSocket"), extra["cores_per_socket"], **{o("required"): "false"})
    w.item(hardware, {"AllocationUnits": "MegaBytes" if flavour == "virtualbox" else "byte * 2^20",
                      "Description": "Memory Size", "ElementName": "%dMB of memory" % memory_mib,
                      "ResourceType": 4, "VirtualQuantity": memory_mib})
    # disk controller, the way each tool describes it
    if flavour == "vmware":
        controller = w.item(hardware, {"Address": 0, "Description": "SCSI Controller",
                                       "ElementName": "SCSI controller 0", "ResourceSubType": "lsilogic",
                                       "ResourceType": 6})
    elif flavour == "virtualbox":
        w.item(hardware, {"Address": 0, "Caption": "ideController0", "Description": "IDE Controller",
                          "ResourceSubType": "PIIX4", "ResourceType": 5})
        controller = w.item(hardware, {"Address": 0, "Caption": "sataController0",
                                       "Description": "SATA Controller", "ResourceSubType": "AHCI",
                                       "ResourceType": 20})
    else:
        controller = w.item(hardware, {"Address": 0, "Description": "IDE Controller",
                                       "ElementName": "ideController0", "ResourceType": 5})
    if flavour == "vmware":    # before the disks and NICs: OVF 2.0 wants plain Items first
        w.item(hardware, {"AutomaticAllocation": "false", "ElementName": "video", "ResourceType": 24})
    disk_items, nic_items = [], []
    for unit, disk in enumerate(disks):
        href = ("/disk/%s" if flavour == "virtualbox" and ovf_version == "2.0" else "ovf:/disk/%s") % disk.disk_id
        disk_items.append(({"AddressOnParent": unit, "ElementName": "disk%d" % unit, "Caption": None,
                            "Description": "Disk Image" if flavour == "virtualbox" else None,
                            "HostResource": href, "Parent": controller, "ResourceType": 17},
                           (("backing.writeThrough", "false"),) if flavour == "vmware" else ()))
    for index, nic in enumerate(nics):
        model = nic.get("model")
        subtype = NIC_SUBTYPES.get(model, model) if model else None
        connected = nic.get("connected", True)
        fields = {"AutomaticAllocation": "true" if connected else "false", "Connection": nic["network"],
                  "ElementName": "Network adapter %d" % (index + 1) if flavour == "vmware" else "ethernet%d" % index,
                  "ResourceSubType": subtype, "ResourceType": 10, "Address": nic.get("mac")}
        if flavour == "vmware":
            fields.update(AddressOnParent=7 + index,
                          Description="%s ethernet adapter on \"%s\"" % (subtype, nic["network"]))
        elif flavour == "virtualbox":
            fields["Caption"] = "Ethernet adapter on '%s'" % nic["network"]
        nic_items.append((fields, (("wakeOnLanEnabled", "false"),) if flavour == "vmware" else ()))
    # disks before NICs (what ovftool and VirtualBox write), except a non-VirtualBox OVF 2.0, where
    # the schema wants EthernetPortItems before StorageItems
    groups = [("StorageItem", disk_items), ("EthernetPortItem", nic_items)]
    for kind, items in groups[::-1] if ovf_version == "2.0" and flavour != "virtualbox" else groups:
        for fields, vendor in items:
            w.item(hardware, fields, kind=kind, vendor=vendor)
    if extra.get("cdrom"):
        w.item(hardware, {"AddressOnParent": 0, "AutomaticAllocation": "false", "ElementName": "cdrom0",
                          "Parent": controller, "ResourceType": 15}, kind="StorageItem")
    if flavour == "vmware":
        if firmware == "efi":
            w.sub(hardware, _q("vmw", "Config"), **{o("required"): "false", _q("vmw", "key"): "firmware",
                                                    _q("vmw", "value"): "efi"})

    if extra.get("product"):
        product = extra["product"]
        section = w.section(system, "ProductSection", "Information about the installed software")
        for key in ("Product", "Vendor", "Version", "FullVersion", "ProductUrl"):
            if product.get(key.lower()) is not None:
                w.sub(section, o(key), product[key.lower()])
        for prop in extra.get("properties", ()):
            node = w.sub(section, o("Property"), **{
                o("key"): prop["key"], o("type"): prop.get("type", "string"), o("value"): prop.get("value"),
                o("userConfigurable"): str(prop.get("user_configurable", False)).lower()})
            if prop.get("label"):
                w.sub(node, o("Label"), prop["label"])
            if prop.get("description"):
                w.sub(node, o("Description"), prop["description"])
    for text in ([extra["eula"]] if isinstance(extra.get("eula"), str) else extra.get("eula", [])):
        w.sub(w.section(system, "EulaSection", "End User License Agreement"), o("License"), text)
    if extra.get("annotation"):
        w.sub(w.section(system, "AnnotationSection", "A human-readable annotation"), o("Annotation"),
              extra["annotation"])
    if flavour == "virtualbox":
        _vbox_machine(w, system, name, disks, nics, firmware, cpus, memory_mib)
    for fragment in extra.get("xml", ()):   # foreign sections, as raw XML text
        system.append(etree.fromstring(fragment))

    text = etree.tostring(env, pretty_print=True, encoding="unicode")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if flavour == "vmware":
        head += "<!--Generated by VMware ovftool 4.4.3 (build-18663434), UTC time: 2024-01-01T00:00:00Z-->\n"
    elif flavour == "virtualbox":
        head = '<?xml version="1.0"?>\n'
    return (head + text).encode()


def _vbox_machine(w, system, name, disks, nics, firmware, cpus, memory_mib):
    vb = NS["vbox"]
    machine = w.sub(system, "{%s}Machine" % vb, **{w.o("required"): "false", "version": "1.16-linux",
                                                   "uuid": "{%s}" % uuid.uuid5(uuid.NAMESPACE_URL, name),
                                                   "name": name, "OSType": "Linux_64"})
    w.sub(machine, w.o("Info"), "Complete VirtualBox machine configuration in VirtualBox format")
    hw = w.sub(machine, "{%s}Hardware" % vb)
    w.sub(hw, "{%s}CPU" % vb, count=cpus)
    w.sub(hw, "{%s}Memory" % vb, RAMSize=memory_mib)
    if firmware == "efi":
        w.sub(hw, "{%s}Firmware" % vb, type="EFI")
    network = w.sub(hw, "{%s}Network" % vb)
    for slot, nic in enumerate(nics):
        adapter = w.sub(network, "{%s}Adapter" % vb, slot=slot, enabled="true", cable="true",
                        type={"e1000": "82540EM", "pcnet": "Am79C973", "virtio": "virtio"}.get(nic.get("model"), "82540EM"))
        w.sub(adapter, "{%s}NAT" % vb)
    controllers = w.sub(machine, "{%s}StorageControllers" % vb)
    sata = w.sub(controllers, "{%s}StorageController" % vb, name="SATA", type="AHCI", PortCount=max(1, len(disks)))
    for port, disk in enumerate(disks):
        attached = w.sub(sata, "{%s}AttachedDevice" % vb, type="HardDisk", port=port, device=0)
        w.sub(attached, "{%s}Image" % vb, uuid="{%s}" % uuid.uuid5(uuid.NAMESPACE_URL, name + disk.disk_id))


# ---------------------------------------------------------------- members and tar
class Part(NamedTuple):
    """One archive member: its bytes come from ``data`` or from the file ``path``; ``kind`` is a
    tarfile type (REGTYPE, SYMTYPE, LNKTYPE, CHRTYPE, FIFOTYPE, DIRTYPE ...)."""
    name: str
    data: bytes | None = None
    path: str | None = None
    kind: bytes = tarfile.REGTYPE
    linkname: str = ""

    def size(self):
        if self.kind != tarfile.REGTYPE:
            return 0
        return len(self.data) if self.data is not None else os.path.getsize(self.path)

    def digest(self, algorithm):
        hasher = hashlib.new(algorithm)
        if self.data is not None:
            hasher.update(self.data)
        else:
            with open(self.path, "rb") as handle:
                for block in iter(lambda: handle.read(MiB), b""):
                    hasher.update(block)
        return hasher.hexdigest()


def manifest_text(parts, algorithm, flavour="generic"):
    """The .mf text for ``parts`` (regular ones), the way ``flavour``'s tool writes it."""
    return "".join(MANIFEST_LINE[flavour] % (algorithm.upper(), part.name, part.digest(algorithm))
                   for part in parts if part.kind == tarfile.REGTYPE).encode()


def write_tar(dest, parts, truncate=None):
    """A POSIX ustar archive of ``parts`` in order, written under a temporary name beside ``dest``
    and renamed; ``truncate`` cuts the finished file to that many bytes."""
    dest = os.fspath(dest)
    tmp = dest + ".part-%s" % uuid.uuid4().hex[:6]
    try:
        with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
            for part in parts:
                info = tarfile.TarInfo(part.name)
                info.type, info.linkname, info.size = part.kind, part.linkname, part.size()
                info.mode, info.mtime, info.uname, info.gname = 0o644, 1700000000, "someone", "someone"
                if part.kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                    info.devmajor, info.devminor = 1, 3
                if part.kind != tarfile.REGTYPE:
                    tar.addfile(info)
                elif part.data is not None:
                    tar.addfile(info, io.BytesIO(part.data))
                else:
                    with open(part.path, "rb") as handle:
                        tar.addfile(info, handle)
        if truncate is not None:
            os.truncate(tmp, truncate)
        os.rename(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def _gzip_file(src, dest):
    with open(src, "rb") as handle, open(dest, "wb") as raw, \
            gzip_module.GzipFile(os.path.basename(src), "wb", 6, raw, mtime=0) as out:
        shutil.copyfileobj(handle, out, MiB)


def _chunks(src, chunk_size, workdir, href):
    """Split src into href.000000000, href.000000001, ... (ovftool's chunk names) in workdir."""
    parts, index = [], 0
    with open(src, "rb") as handle:
        while True:
            block = handle.read(chunk_size)
            if not block and index:
                break
            name = "%s.%09d" % (href, index)
            path = os.path.join(workdir, name)
            with open(path, "wb") as out:
                out.write(block)
            parts.append(Part(name, path=path))
            index += 1
            if len(block) < chunk_size:
                break
    return parts


@contextlib.contextmanager
def _workdir(dest):
    """A scratch directory beside dest (never anywhere else), removed afterwards."""
    path = tempfile.mkdtemp(prefix=".ova-work-", dir=os.path.dirname(os.path.abspath(dest)))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Package(NamedTuple):
    """What _package() prepared: the members in the flavour's order and what they say."""
    ovf_name: str
    descriptor: bytes
    mf_name: str | None
    disk_parts: list
    disks: list
    flavour: str
    manifest: str | None


def _package(workdir, name, flavour, ovf_version, manifest, gzip, chunk_size, disk, nics, firmware,
             cpus, memory_mib, extra, mutate=None):
    """Prepare descriptor and disk members (files in workdir). ``mutate(descriptor bytes) -> bytes``
    lets hostile builders change the descriptor before the manifest is computed."""
    if flavour not in FLAVOURS:
        raise ValueError("flavour must be one of %s" % (FLAVOURS,))
    if manifest not in ("sha1", "sha256", "sha512", None):
        raise ValueError("manifest must be sha1, sha256, sha512 or None")
    if firmware not in ("bios", "efi") or (firmware == "efi" and flavour == "generic"):
        raise ValueError("firmware must be 'bios' or 'efi'; a generic OVF has no way to say 'efi' "
                         "(use flavour vmware or virtualbox)")
    sources = disk if isinstance(disk, (list, tuple)) else [disk]
    nics = [{"network": n} if isinstance(n, str) else dict(n)
            for n in (DEFAULT_NICS[flavour] if nics is None else nics)]
    disks, disk_parts = [], []
    for index, source in enumerate(sources, 1):
        href = "%s-disk%d.vmdk" % (name, index)
        if source is None:
            vmdk, capacity = boot_vmdk(), BOOT_DISK_MIB * MiB
        else:
            source = os.fspath(source)
            probed = image_info(source)
            if probed.get("format") == "vmdk" and probed.get("format-specific", {}).get(
                    "data", {}).get("create-type") == "streamOptimized":
                vmdk = source
            else:
                vmdk = os.path.join(workdir, href)
                to_vmdk(source, vmdk)
            capacity = probed["virtual-size"]
        populated = image_info(vmdk).get("actual-size") or os.path.getsize(vmdk)
        stored, compression = vmdk, None
        if gzip:
            href += ".gz"
            stored, compression = os.path.join(workdir, href), "gzip"
            _gzip_file(vmdk, stored)
        size = os.path.getsize(stored)
        if chunk_size:
            parts = _chunks(stored, chunk_size, workdir, href)
        else:
            parts = [Part(href, path=stored)]
        disk_parts.extend(parts)
        disks.append(_Disk("file%d" % index, "vmdisk%d" % index, href, size, capacity, populated,
                           compression, chunk_size, FORMAT_STREAM))
    descriptor = _descriptor(flavour, ovf_version, name, disks, nics, firmware, cpus, memory_mib, extra or {})
    if mutate:
        descriptor = mutate(descriptor)
    return Package(name + ".ovf", descriptor, name + ".mf" if manifest else None, disk_parts, disks,
                   flavour, manifest)


def _members(pkg, mf_data=None):
    """The archive's members in the order the tool writes them: the OVF descriptor first; the
    manifest second (OVF spec, ovftool), or last (VirtualBox, allowed by the spec)."""
    ovf = Part(pkg.ovf_name, data=pkg.descriptor)
    if not pkg.mf_name:
        return [ovf, *pkg.disk_parts]
    mf = Part(pkg.mf_name, data=mf_data if mf_data is not None
              else manifest_text([ovf, *pkg.disk_parts], pkg.manifest, pkg.flavour))
    if pkg.flavour == "virtualbox":
        return [ovf, *pkg.disk_parts, mf]
    return [ovf, mf, *pkg.disk_parts]


def build_ova(dest, flavour="generic", ovf_version="1.0", manifest="sha256", gzip=False, chunk_size=None,
              disk=None, nics=None, firmware="bios", extra=None, name="vct-tiny", cpus=1, memory_mib=192,
              layout="ova"):
    """Write an OVF package at ``dest`` and describe it.

    flavour: "generic" (plain OVF, IDE controller, E1000 NIC on network "LAN"), "vmware" (ovftool:
      vmw: namespace, vmx-13, lsilogic SCSI, VmxNet3 on "VM Network", capacity in "byte * 2^20",
      populatedSize, manifest second), "virtualbox" (vbox:Machine, virtualbox-2.2, PIIX4 IDE + AHCI SATA
      with the disk on SATA, E1000 on "NAT", manifest last, OVF 2.0 with StorageItem/EthernetPortItem
      in VirtualBox's ".xsd" namespaces and "/disk/vmdiskN" host resources).
    ovf_version: "1.0" | "2.0". manifest: "sha256" | "sha1" | "sha512" | None (no .mf member).
    gzip: disk members gzip-compressed (ovf:compression="gzip", href "<name>-disk1.vmdk.gz").
    chunk_size: split disk members into chunks of that many bytes (ovf:chunkSize, members
      "<href>.000000000", "<href>.000000001", ...; the manifest lists each chunk).
    disk: None (the tiny bootable disk), a path to an image qemu-img reads (converted to a
      streamOptimized VMDK; one that already is one is packed as it is), or a list of those.
    nics: list of {"network": name, "model": e1000|e1000e|vmxnet3|pcnet|virtio|rtl8139|<any
      ResourceSubType>|None, "mac": str|None, "connected": bool} or plain network names;
      default per flavour (above). [] means no NIC.
    firmware: "bios" | "efi" (vmw:Config firmware=efi; VirtualBox <Firmware type="EFI"/>; generic:
      ValueError). extra: {"os": {id, type, description}, "cores_per_socket": int (vmware),
      "system_type": str, "product": {product, vendor, version, fullversion, producturl},
      "properties": [{key, type, value, user_configurable, label, description}] (with product),
      "eula": str | [str], "annotation": str, "cdrom": bool, "xml": [raw XML of foreign sections]}.
    layout: "ova" (a tar at dest) or "directory" (dest is the .ovf; members written beside it).

    Returns {"path", "ovf", "manifest" (member name or None), "members" [names in archive order],
    "disks" [{"href", "members", "capacity", "size", "compression", "chunk_size"}], "descriptor"
    (bytes), "digests" {member: hexdigest} (with the manifest's algorithm, {} without one),
    "flavour", "ovf_version", "name", "nics", "firmware", "cpus", "memory_mib"}.
    """
    dest = os.fspath(dest)
    with _workdir(dest) as workdir:
        pkg = _package(workdir, name, flavour, ovf_version, manifest, gzip, chunk_size, disk, nics,
                       firmware, cpus, memory_mib, extra)
        parts = _members(pkg)
        if layout == "ova":
            write_tar(dest, parts)
        elif layout == "directory":
            base = os.path.dirname(os.path.abspath(dest))
            for part in parts:
                target = dest if part.name == pkg.ovf_name else os.path.join(base, part.name)
                if part.data is not None:
                    with open(target, "wb") as handle:
                        handle.write(part.data)
                elif os.path.dirname(part.path) == workdir:
                    os.rename(part.path, target)
                else:           # a cached disk: copied, never moved out of the cache
                    shutil.copyfile(part.path, target)
        else:
            raise ValueError("layout must be 'ova' or 'directory'")
        return {
            "path": dest, "ovf": pkg.ovf_name, "manifest": pkg.mf_name,
            "members": [p.name for p in parts],
            "disks": [{"href": d.href, "capacity": d.capacity, "size": d.size, "compression": d.compression,
                       "chunk_size": d.chunk_size,
                       "members": [p.name for p in pkg.disk_parts if p.name.startswith(d.href)]}
                      for d in pkg.disks],
            "descriptor": pkg.descriptor,
            "digests": _digests_from(pkg, parts),
            "flavour": flavour, "ovf_version": ovf_version, "name": name, "firmware": firmware,
            "nics": [{"network": n} if isinstance(n, str) else n
                     for n in (DEFAULT_NICS[flavour] if nics is None else nics)],
            "cpus": cpus, "memory_mib": memory_mib,
        }


def _digests_from(pkg, parts):
    if not pkg.manifest:
        return {}
    mf = next(p for p in parts if p.name == pkg.mf_name)
    return {line.split("(", 1)[1].rsplit(")", 1)[0].strip(): line.rsplit("=", 1)[1].strip()
            for line in mf.data.decode().splitlines()}


# ---------------------------------------------------------------- hostile archives
class Hostile(NamedTuple):
    """One hostile case: ``expect`` is a fragment of the error message that refuses it (match it
    case-insensitively); ``stage`` says which layer refuses it: "archive" (archive.Source.open),
    "ovf" (ovf.parse), "manifest" (the manifest check), "disk" (the image probe before conversion,
    storage.qemu_img.source_info), "capacity" (ova_import's size checks, before anything is
    written). For every stage but "capacity" the fragments are those of the collection's messages
    today (tests/unit/test_ova_fixtures.py checks it); the capacity ones are for ova_import."""
    id: str
    expect: str
    stage: str
    build: Callable
    doc: str


def _tiny_source(workdir):
    """A 1 MiB raw image with a recognisable first sector: the disk of the hostile packages."""
    path = os.path.join(workdir, "tiny.raw")
    with open(path, "wb") as handle:
        handle.write(b"VIRTCLOUD-HOSTILE-FIXTURE".ljust(512, b"\0"))
        handle.truncate(MiB)
    return path


def _base(dest, workdir, mutate=None, manifest="sha256", **kw):
    return _package(workdir, "hostile", kw.pop("flavour", "generic"), "1.0", manifest, kw.pop("gzip", False),
                    None, kw.pop("disk", None) or _tiny_source(workdir), None, "bios", 1, 64, kw.pop("extra", {}),
                    mutate=mutate)


def _rename_member(pkg, new):
    """The package with its disk member (and its href) renamed to ``new``."""
    old = pkg.disk_parts[0].name
    descriptor = pkg.descriptor.replace(('ovf:href="%s"' % old).encode(), ('ovf:href="%s"' % new).encode())
    return pkg._replace(descriptor=descriptor, disk_parts=[pkg.disk_parts[0]._replace(name=new)])


def _h_member_name(new):
    def build(dest, workdir):
        write_tar(dest, _members(_rename_member(_base(dest, workdir), new)))
    return build


def _h_special(kind, linkname=""):
    def build(dest, workdir):
        pkg = _base(dest, workdir)
        name = pkg.disk_parts[0].name
        manifest = _members(pkg)[1].data       # the digests of the real disk: only the member type is wrong
        write_tar(dest, _members(pkg._replace(disk_parts=[Part(name, kind=kind, linkname=linkname)]), manifest))
    return build


def _h_duplicate(dest, workdir):
    pkg = _base(dest, workdir)
    decoy = Part(pkg.disk_parts[0].name, data=b"a different payload under the same name\n")
    write_tar(dest, _members(pkg) + [decoy])


def _doctype(declaration):
    def mutate(descriptor):
        head, rest = descriptor.split(b"\n", 1)
        return head + b"\n" + declaration.encode() + b"\n" + rest
    return mutate


BILLION_LAUGHS = ("<!DOCTYPE Envelope [\n <!ENTITY lol \"lol\">\n"
                  + "".join(' <!ENTITY lol%d "%s">\n' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10)
                            for i in range(1, 10))
                  + "]>")


def _h_xml(declaration, entity=None):
    def build(dest, workdir):
        def mutate(descriptor):
            descriptor = _doctype(declaration)(descriptor)
            if entity:   # the entity is used where an importer shows text: the guest's name
                descriptor = descriptor.replace(b"<Name>hostile</Name>", b"<Name>&%s;</Name>" % entity.encode())
            return descriptor
        write_tar(dest, _members(_base(dest, workdir, mutate=mutate)))
    return build


def _h_href(href):
    def build(dest, workdir):
        pkg = _base(dest, workdir)
        old = pkg.disk_parts[0].name
        write_tar(dest, _members(pkg._replace(descriptor=pkg.descriptor.replace(
            ('ovf:href="%s"' % old).encode(), ('ovf:href="%s"' % href).encode()))))
    return build


FLAT_DESCRIPTOR = """# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 2048 FLAT "/etc/hostname" 0

# The Disk Data Base
#DDB
ddb.virtualHWVersion = "4"
ddb.geometry.cylinders = "2"
ddb.geometry.heads = "16"
ddb.geometry.sectors = "63"
ddb.adapterType = "ide"
"""


def _h_flat_extent(dest, workdir):
    pkg = _base(dest, workdir)
    part = Part(pkg.disk_parts[0].name, data=FLAT_DESCRIPTOR.encode())
    pkg = pkg._replace(disk_parts=[part], descriptor=pkg.descriptor.replace(
        FORMAT_STREAM.encode(), b"http://www.vmware.com/interfaces/specifications/vmdk.html#monolithicFlat"))
    write_tar(dest, _members(pkg))


def _set_vmdk_parent_hint(path, hint):
    """Rewrite the embedded descriptor of a sparse VMDK so that its parent is ``hint``."""
    with open(path, "r+b") as handle:
        header = handle.read(512)
        offset, size = (struct.unpack_from("<Q", header, at)[0] * 512 for at in (28, 36))
        handle.seek(offset)
        text = handle.read(size).rstrip(b"\0").decode()
        lines = ['parentFileNameHint="%s"' % hint if line.startswith("parentFileNameHint=") else line
                 for line in text.splitlines()]
        new = ("\n".join(lines) + "\n").encode()
        assert len(new) <= size
        handle.seek(offset)
        handle.write(new.ljust(size, b"\0"))


def _h_vmdk_backing(dest, workdir):
    base, child = os.path.join(workdir, "base.vmdk"), os.path.join(workdir, "child.vmdk")
    _run(["qemu-img", "create", "-q", "-f", "vmdk", base, "1M"])
    _run(["qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", "-F", "vmdk", "-b", base,
          child, "1M"])
    _set_vmdk_parent_hint(child, "/etc/hostname")
    write_tar(dest, _members(_base(dest, workdir, disk=child)))


def _h_qcow2_backing(dest, workdir):
    child = os.path.join(workdir, "child.qcow2")
    # -u: the backing file is recorded, never opened (nothing outside dest's directory is read)
    _run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "raw", "-b", "/etc/hostname", child, "1M"])
    _qcow2_member(dest, workdir, child)


def _h_qcow2_data_file(dest, workdir):
    child = os.path.join(workdir, "child.qcow2")
    # created with a data file in workdir under a name as long as "/etc/hostname", then renamed in
    # the header: qemu-img would create (and write) the data file it is given
    _run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=abcdefghi.raw,data_file_raw=on", "child.qcow2",
          "1M"], cwd=workdir)
    with open(child, "r+b") as handle:
        header = handle.read(65536)
        at = header.index(b"DATA\x00\x00\x00\x0dabcdefghi.raw") + 8
        handle.seek(at)
        handle.write(b"/etc/hostname")
    _qcow2_member(dest, workdir, child)


def _qcow2_member(dest, workdir, image):
    pkg = _rename_member(_base(dest, workdir), "hostile-disk1.qcow2")
    pkg = pkg._replace(disk_parts=[Part("hostile-disk1.qcow2", path=image)],
                       descriptor=pkg.descriptor.replace(FORMAT_STREAM.encode(), FORMAT_QCOW2.encode()))
    write_tar(dest, _members(pkg))


def _h_capacity(dest, workdir):
    def mutate(descriptor):   # 1 PiB declared for a 1 MiB disk
        return descriptor.replace(b'ovf:capacity="%d"' % MiB,
                                  b'ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^50"')
    write_tar(dest, _members(_base(dest, workdir, mutate=mutate)))


GZIP_BOMB_EXPANDS = 4 * GiB


def _h_gzip_bomb(dest, workdir):
    """A gzip member that expands to GZIP_BOMB_EXPANDS bytes (+ the VMDK) from ~4 MB: the real
    streamOptimized VMDK, then gzip members of zeros (concatenated gzip members are one stream)."""
    pkg = _base(dest, workdir, gzip=True)
    path = pkg.disk_parts[0].path
    block = gzip_module.compress(bytes(16 * MiB), compresslevel=9, mtime=0)
    with open(path, "ab") as handle:
        handle.write(block * (GZIP_BOMB_EXPANDS // (16 * MiB)))
    size = os.path.getsize(path)
    pkg = pkg._replace(descriptor=pkg.descriptor.replace(
        b'ovf:size="%d"' % pkg.disks[0].size, b'ovf:size="%d"' % size))
    write_tar(dest, _members(pkg))


def _h_manifest_mismatch(dest, workdir):
    pkg = _base(dest, workdir)
    ovf, disk = Part(pkg.ovf_name, data=pkg.descriptor), pkg.disk_parts[0]
    text = manifest_text([ovf], "sha256") + b"SHA256(%s)= %s\n" % (disk.name.encode(), b"0" * 64)
    write_tar(dest, _members(pkg, mf_data=text))


def _h_manifest_extra(dest, workdir):
    pkg = _base(dest, workdir)
    text = manifest_text(_members(pkg._replace(mf_name=None)), "sha256")
    text += b"SHA256(hostile-disk2.vmdk)= %s\n" % hashlib.sha256(b"").hexdigest().encode()
    write_tar(dest, _members(pkg, mf_data=text))


def _h_truncated(dest, workdir):
    parts = _members(_base(dest, workdir))
    full = 512 * 3 + sum(-(-p.size() // 512) * 512 for p in parts)  # headers of ovf, mf + disk data
    write_tar(dest, parts, truncate=full - 512 * 16)                  # cut inside the disk member


def _h_not_ovf(dest, workdir):
    def mutate(_descriptor):
        return (b'<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
                b"<body><p>Not an appliance</p></body></html>\n")
    write_tar(dest, _members(_base(dest, workdir, mutate=mutate)))


def _h_two_ovf(dest, workdir):
    pkg = _base(dest, workdir)
    parts = _members(pkg)
    write_tar(dest, parts + [Part("second.ovf", data=pkg.descriptor)])


HOSTILE_CASES = [
    Hostile("member-dotdot", "outside", "archive", _h_member_name("../hostile-disk1.vmdk"),
            "a member (and its href) named ../hostile-disk1.vmdk"),
    Hostile("member-dotdot-inner", "outside", "archive", _h_member_name("sub/../../hostile-disk1.vmdk"),
            "a member named sub/../../hostile-disk1.vmdk"),
    Hostile("member-absolute", "absolute path", "archive", _h_member_name("/tmp/hostile-disk1.vmdk"),
            "a member named /tmp/hostile-disk1.vmdk"),
    Hostile("member-symlink", "symbolic link", "archive", _h_special(tarfile.SYMTYPE, "/etc/hostname"),
            "the disk member is a symlink to /etc/hostname"),
    Hostile("member-hardlink", "hard link", "archive", _h_special(tarfile.LNKTYPE, "etc/hostname"),
            "the disk member is a hard link to etc/hostname"),
    Hostile("member-device", "device", "archive", _h_special(tarfile.CHRTYPE),
            "the disk member is a character device (1,3: /dev/null)"),
    Hostile("member-fifo", "fifo", "archive", _h_special(tarfile.FIFOTYPE), "the disk member is a fifo"),
    Hostile("member-duplicate", "appears twice", "archive", _h_duplicate,
            "the disk member appears twice, the second copy different"),
    Hostile("ovf-doctype", "DOCTYPE", "ovf", _h_xml("<!DOCTYPE Envelope>"), "a plain DOCTYPE"),
    Hostile("ovf-billion-laughs", "DOCTYPE", "ovf", _h_xml(BILLION_LAUGHS, "lol9"),
            "internal entities nested 10 deep (10^9 'lol's), used in <Name>"),
    Hostile("ovf-xxe", "DOCTYPE", "ovf",
            _h_xml('<!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>', "xxe"),
            "an external entity naming file:///etc/hostname, used in <Name>"),
    Hostile("ovf-external-dtd", "DOCTYPE", "ovf",
            _h_xml('<!DOCTYPE Envelope SYSTEM "http://198.18.0.1/x.dtd">'),
            "an external DTD at http://198.18.0.1/x.dtd (never to be fetched)"),
    Hostile("href-parent", "outside", "ovf", _h_href("../hostile-disk1.vmdk"), "File href ../hostile-disk1.vmdk"),
    Hostile("href-absolute", "absolute path", "ovf", _h_href("/etc/hostname"), "File href /etc/hostname"),
    Hostile("href-url", "URL", "ovf", _h_href("http://198.18.0.1/hostile-disk1.vmdk"),
            "File href http://198.18.0.1/hostile-disk1.vmdk"),
    Hostile("href-file-url", "URL", "ovf", _h_href("file:///etc/hostname"), "File href file:///etc/hostname"),
    Hostile("vmdk-flat-extent", "extent", "disk", _h_flat_extent,
            "the disk member is a monolithicFlat VMDK text descriptor whose extent is /etc/hostname"),
    Hostile("vmdk-backing", "backing", "disk", _h_vmdk_backing,
            "a streamOptimized VMDK with a parent (parentFileNameHint=/etc/hostname)"),
    Hostile("qcow2-backing", "backing", "disk", _h_qcow2_backing,
            "a qcow2 disk (oVirt's format URL) whose backing file is /etc/hostname (raw)"),
    Hostile("qcow2-data-file", "data file", "disk", _h_qcow2_data_file,
            "a qcow2 disk whose external data file (raw) is /etc/hostname"),
    Hostile("capacity-petabyte", "capacity", "capacity", _h_capacity,
            "ovf:capacity 1 * 2^50 bytes (1 PiB) declared for a 1 MiB disk"),
    Hostile("gzip-bomb", "expands", "capacity", _h_gzip_bomb,
            "a gzip disk member (~4 MB) that expands to > 4 GiB (VMDK, then zeros) for a 1 MiB disk"),
    Hostile("manifest-mismatch", "manifest", "manifest", _h_manifest_mismatch,
            "the manifest's SHA256 of the disk is wrong (all zeros)"),
    Hostile("manifest-missing-file", "hostile-disk2.vmdk", "manifest", _h_manifest_extra,
            "the manifest lists hostile-disk2.vmdk, which is not in the archive"),
    Hostile("tar-truncated", "truncated", "archive", _h_truncated, "the archive ends inside the disk member"),
    Hostile("not-ovf", "not an OVF", "ovf", _h_not_ovf, "the .ovf member is XHTML, not an OVF Envelope"),
    Hostile("two-ovf", "exactly one", "archive", _h_two_ovf, "a second .ovf member at the end"),
]
HOSTILE_IDS = [case.id for case in HOSTILE_CASES]


def hostile_ova(dest, case):
    """Write the hostile archive ``case`` (a Hostile of HOSTILE_CASES or its id) at ``dest``; returns
    the Hostile. Writes nothing outside dest's directory (scratch files go to a temporary directory
    there and are removed)."""
    if isinstance(case, str):
        case = next((c for c in HOSTILE_CASES if c.id == case), None) or _unknown(case)
    dest = os.fspath(dest)
    with _workdir(dest) as workdir:
        case.build(dest, workdir)
    return case


def _unknown(case):
    raise ValueError("unknown hostile case %r; known: %s" % (case, ", ".join(HOSTILE_IDS)))


# ---------------------------------------------------------------- benchmark
def big_ova(dest=None, size=GiB, random_fraction=0.5):
    """The benchmark's OVA: a generic OVA whose disk has ``size`` bytes of capacity, the first
    ``random_fraction`` of it incompressible random data in 1 MiB blocks interleaved with zero
    blocks (every other MiB), the rest zeros. Built once, cached under ASSET_DIR; with ``dest`` the
    cached file is hard-linked (or copied) there. Returns the build_ova() description (its "path"
    is dest, or the cached file)."""
    recipe = "big-ova v1 %d %s %s" % (size, random_fraction, _tool_version(["qemu-img", "--version"]))

    def build(staging):
        raw = os.path.join(staging, "disk.raw")
        seed = hashlib.sha256(b"virtcloud-bench").digest()
        with open(raw, "wb") as handle:
            handle.truncate(size)
            for index in range(0, int(size * random_fraction) // MiB, 2):
                handle.seek(index * MiB)
                handle.write(_prng_block(seed, index))
        info = build_ova(os.path.join(staging, "big.ova"), disk=raw, name="vct-bench", nics=[])
        os.remove(raw)
        info["descriptor"] = info["descriptor"].decode()
        with open(os.path.join(staging, "info.json"), "w") as handle:
            json.dump(info, handle)

    final = cached("ova-big", recipe, build)
    with open(os.path.join(final, "info.json")) as handle:
        info = json.load(handle)
    info["descriptor"] = info["descriptor"].encode()
    info["path"] = os.path.join(final, "big.ova")
    if dest is not None:
        dest = os.fspath(dest)
        try:
            os.link(info["path"], dest)
        except OSError:
            shutil.copyfile(info["path"], dest)
        info["path"] = dest
    return info


def _prng_block(seed, index):
    """1 MiB of incompressible bytes, deterministic (SHAKE-256 of seed + index)."""
    return hashlib.shake_256(seed + index.to_bytes(8, "little")).digest(MiB)


# ---------------------------------------------------------------- boot check
def boot_and_wait(disk, name, workdir, uri="qemu:///system", bus="ide", fmt=None, timeout=60):
    """Define a TCG guest ``name`` booting BIOS-style from ``disk`` (``fmt`` probed when None), start
    it and wait until GUEST_MARKER appears on its serial console (a file in ``workdir``); then destroy
    and undefine it. Returns the console text; raises AssertionError on timeout (with the console)."""
    fmt = fmt or image_info(disk)["format"]
    console = os.path.join(workdir, name + ".console")
    dev = {"ide": "hda", "sata": "sda", "scsi": "sda", "virtio": "vda"}[bus]
    controller = "<controller type='scsi' model='lsilogic'/>" if bus == "scsi" else ""
    xml = ("<domain type='qemu'><name>%s</name><memory unit='MiB'>192</memory><vcpu>1</vcpu>"
           "<os><type arch='x86_64' machine='%s'>hvm</type><boot dev='hd'/></os>"
           "<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>"
           "<devices>%s<disk type='file' device='disk'><driver name='qemu' type='%s'/><source file='%s'/>"
           "<target dev='%s' bus='%s'/></disk>"
           "<serial type='file'><source path='%s'/><target port='0'/></serial></devices></domain>"
           % (name, "q35" if bus == "sata" else "pc", controller, fmt, disk, dev, bus, console))
    path = os.path.join(workdir, name + ".xml")
    with open(path, "w") as handle:
        handle.write(xml)
    virsh = ["virsh", "-q", "-c", uri]
    _run(virsh + ["define", path])
    text = ""
    try:
        _run(virsh + ["start", name])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(console, errors="replace") as handle:
                    text = handle.read()
            except OSError:
                text = ""
            if GUEST_MARKER in text:
                return text
            time.sleep(0.5)
        raise AssertionError("no %s on the console of %s within %ss:\n%s" % (GUEST_MARKER, name, timeout, text[-3000:]))
    finally:
        subprocess.run(virsh + ["destroy", name], capture_output=True, check=False)
        subprocess.run(virsh + ["undefine", name], capture_output=True, check=False)


def main(argv=None):
    """Command line, for the demo and by hand: build an OVA and print its description as JSON."""
    import argparse
    parser = argparse.ArgumentParser(description="Write a fixture OVA (tests/lib/ova.py build_ova).")
    parser.add_argument("dest")
    parser.add_argument("--flavour", default="generic", choices=FLAVOURS)
    parser.add_argument("--ovf-version", default="1.0", choices=("1.0", "2.0"))
    parser.add_argument("--manifest", default="sha256", choices=("sha1", "sha256", "sha512", "none"))
    parser.add_argument("--name", default="vct-tiny")
    parser.add_argument("--network", action="append", help="a NIC on this OVF network (repeatable)")
    parser.add_argument("--hostile", choices=HOSTILE_IDS, help="write this hostile case instead")
    args = parser.parse_args(argv)
    if args.hostile:
        case = hostile_ova(args.dest, args.hostile)
        print(json.dumps({"path": args.dest, "case": case.id, "expect": case.expect, "stage": case.stage}))
        return
    info = build_ova(args.dest, flavour=args.flavour, ovf_version=args.ovf_version, name=args.name,
                     manifest=None if args.manifest == "none" else args.manifest, nics=args.network)
    info["descriptor"] = info["descriptor"].decode()
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
