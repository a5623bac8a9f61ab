# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ova_export: a shut-off libvirt guest written as one OVA file, in one pass over its disks.

The archive (a ustar tar, as OVF requires) holds, in the order DSP0243 asks for:

    <base>.ovf            the descriptor (ova/ovf_write.py), first
    <base>.mf             the SHA256 manifest, right after it (as ovftool writes it)
    <base>-disk<N>.vmdk   one streamOptimized VMDK per guest disk (ova/vmdk.py), in References order

It is written once, front to back, into a temporary file beside `dest` (".<dest name>.<random>.part",
removed on any failure) and renamed over `dest` at the end, so `dest` is either the old file or the
complete new one. No disk is ever copied to a temporary file: each is read as the guest sees it
(ova/diskread.py), compressed and hashed on its way into the archive. The parts whose content is
known only at the end are reserved and filled in last, with one seek each:
- each VMDK's tar header (its size);
- the manifest (fixed size: one line of known length per file);
- the descriptor, which holds the VMDK sizes and the archive size: its slot is sized for the
  largest numbers (20 digits) and the final XML is padded with trailing whitespace to fill it.

Up to date: the descriptor's Envelope carries `vct:exportDigest` (sha256 of the guest's inactive
definition, canonicalised, every disk's path, format, virtual size, file size, mtime and inode, the
OVF version) and `vct:archiveSize`. A rerun reads the first member only (one header and the
descriptor) and changes nothing when the digest matches and the file has the recorded size.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import time

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, name_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService, libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import LXML_REQUIREMENT, from_string
from ansible_collections.virtcloud.core.plugins.module_utils.ova import diskread, ovf_write, vmdk
from ansible_collections.virtcloud.core.plugins.module_utils.storage import qemu_img

BLOCK = 512
RECORD = 10240                 # tar pads the archive to whole 20-block records
DESCRIPTOR_LIMIT = 16 << 20    # a first member larger than this is not one of ours
BIG = 10 ** 20 - 1             # the widest number the descriptor slot is sized for
LIBOSINFO = "{http://libosinfo.org/xmlns/libvirt/domain/1.0}"
# libosinfo OS id (a word of its URL) -> CIM OS type, VMware guest id, description
OS_TYPES = [
    ("ubuntu", 94, "ubuntu64Guest", "Ubuntu Linux (64-bit)"),
    ("debian", 96, "debian10_64Guest", "Debian GNU/Linux (64-bit)"),
    ("centos", 107, "centos64Guest", "CentOS (64-bit)"),
    ("rhel", 80, "rhel8_64Guest", "Red Hat Enterprise Linux (64-bit)"),
    ("fedora", 101, "fedora64Guest", "Fedora (64-bit)"),
    ("suse", 83, "sles15_64Guest", "SUSE Linux (64-bit)"),
]
OTHER_LINUX = (101, "otherLinux64Guest", "Linux (64-bit)")
OTHER_LINUX_32 = (36, "otherLinuxGuest", "Linux")


# ---------------------------------------------------------------- the guest as an export spec
def member_base(name):
    """A tar- and file-system-safe base name for the members (the guest's own name stays in the OVF)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:64]
    return base or "guest"


def os_type(root, arch):
    """(CIM OS id, vmw:osType, description) from the guest's libosinfo metadata, else generic Linux."""
    osinfo = root.find("metadata/%slibosinfo/%sos" % (LIBOSINFO, LIBOSINFO))
    url = (osinfo.get("id") or "").lower() if osinfo is not None else ""
    for word, cim, vmw, description in OS_TYPES:
        if word in url:
            return cim, vmw, description
    return OTHER_LINUX if arch in (None, "x86_64", "aarch64") else OTHER_LINUX_32


def _int(value, default):
    try:
        return int(value, 0)
    except (TypeError, ValueError):
        return default


def slot(el, bus, index):
    """(controller, unit) of a disk or CD-ROM on its bus: the libvirt drive address where there is
    one (IDE: the bus is the controller, primary or secondary), else from the position of its
    target name (hda, sdb, ...), `index` for virtio disks (one controller each, in order)."""
    if bus == "virtio":
        return 0, index
    address = el.find("address")
    if address is not None and address.get("type") == "drive":
        if bus == "ide":
            return _int(address.get("bus"), 0), _int(address.get("unit"), 0)
        return _int(address.get("controller"), 0), _int(address.get("unit"), 0)
    target = el.find("target")
    letter = (target.get("dev") or "a")[-1] if target is not None else "a"
    position = max(ord(letter) - ord("a"), 0)
    return (position // 2, position % 2) if bus == "ide" else (0, position)


def image_info(path, fmt):
    """qemu-img info of a guest disk, in the format its definition states (probed when it states none)."""
    if fmt is None:
        return qemu_img.info(path, "name")
    return json.loads(qemu_img.run("info", "--output=json", "-f", fmt, path))


class OvaExportService(LibvirtService):
    result_key = "ova"
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    options = {
        "name": name_opt(),
        "dest": Opt(type="path", required=True),
        "ovf_version": Opt(default="1.0", choices=["1.0", "2.0"]),
        "force": Opt(type="bool", default=False),
    }

    def desired(self):
        d = self.parsed()
        self.check_name(d["name"])
        dest = os.path.abspath(d["dest"])
        folder = os.path.dirname(dest)
        if not os.path.basename(dest):
            raise InputError("dest", "must name a file, e.g. /srv/export/web.ova")
        if not os.path.isdir(folder):
            raise InputError("dest", "the directory %s does not exist; create it first" % folder)
        if os.path.lexists(dest) and not stat.S_ISREG(os.stat(dest).st_mode):
            raise InputError("dest", "%s exists and is not a regular file" % dest)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputError("dest", "the directory %s is not writable" % folder)
        return dict(d, dest=dest)

    # ------------------------------------------------------------ observe: the OVA at dest
    def observe(self, desired, batch=None):
        return read_ova(desired["dest"])

    # ------------------------------------------------------------ resolve: the guest
    def resolve(self, desired, observed, batch=None):
        name = desired["name"]
        dom = self.lookup("domain", name)
        if dom is None:
            raise InputError("name", "no guest %r is defined at %s" % (name, self.params["uri"]))
        if dom.state()[0] != libvirt.VIR_DOMAIN_SHUTOFF:
            raise InputError("name", "guest %r is not shut off; its disks change while it runs. Shut it down "
                                     "first (virtcloud.core.libvirt_domain with state=shutdown)" % name)
        root = from_string(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        spec = self.spec(root, desired)
        identity = {"guest": domain_xml.canonical(root).decode("utf-8"), "ovf_version": desired["ovf_version"],
                    "disks": [[d["path"], d["format"], d["capacity"], d["stat"]] for d in spec["disks"]]}
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
        return dict(desired, spec=spec, digest=digest)

    def spec(self, root, desired):
        """The export spec of ova/ovf_write.py from a guest's definition, each disk's image looked at."""
        facts = domain_xml.facts(root)
        name = facts["name"]
        base = member_base(name)
        disks, cdroms, warnings = [], [], []
        scsi_models = {_int(c.get("index"), 0): c.get("model")
                       for c in root.findall("devices/controller[@type='scsi']")}
        virtio = 0
        for el, disk in zip(root.findall("devices/disk"), facts["disks"]):
            bus, device = disk["bus"], disk["device"]
            label = disk["target"] or "?"
            if device not in ("disk", "cdrom"):
                warnings.append("%s %s is left out: OVF has no %s drive here" % (device, label, device))
                continue
            if bus not in ovf_write.BUSES:
                raise InputError("name", "%s %s of guest %r is on the %s bus, which OVF cannot describe; move it "
                                         "to %s" % (device, label, name, bus, ", ".join(ovf_write.BUSES)))
            controller, unit = slot(el, bus, virtio)
            place = {"bus": bus, "controller": controller, "unit": unit,
                     "controller_model": scsi_models.get(controller) if bus == "scsi" else None}
            if bus == "virtio":
                virtio += 1
            if device == "cdrom":
                cdroms.append(place)  # the drive only: installation media are no part of the appliance
                continue
            path = self.disk_path(disk, name)
            info = image_info(path, disk["format"])
            fmt = info["format"]
            st = os.stat(path)
            disks.append(dict(place, path=path, format=fmt, capacity=info["virtual-size"],
                              stat=[st.st_size, st.st_mtime_ns, st.st_ino],
                              href="%s-disk%d.vmdk" % (base, len(disks) + 1), size=None, populated_size=None,
                              adapter="ide" if bus == "ide" else "lsilogic", target=label))
        nics = [{"network": nic["source"] or nic["type"], "model": nic["model"], "mac": nic["mac"]}
                for nic in facts["nics"]]
        cim, vmw, description = os_type(root, facts["arch"])
        return {"name": name, "base": base, "description": facts["description"],
                "ovf_version": desired["ovf_version"], "os": {"id": cim, "type": vmw, "description": description},
                "cpus": facts["max_vcpus"] or 1, "memory": facts["memory"],
                "firmware": "efi" if facts["firmware"] == "uefi" else "bios",
                "disks": disks, "cdroms": cdroms, "nics": nics, "warnings": warnings}

    def disk_path(self, disk, name):
        if disk["type"] == "volume":
            pool = self.lookup("pool", disk["pool"])
            if pool is None:
                raise InputError("name", "disk %s of guest %r is in pool %r, which does not exist"
                                 % (disk["target"], name, disk["pool"]))
            return pool.storageVolLookupByName(disk["volume"]).path()
        if disk["type"] not in ("file", "block") or not disk["path"]:
            raise InputError("name", "disk %s of guest %r is a %s disk without a local file; only file, block and "
                                     "pool volume disks can be exported" % (disk["target"], name, disk["type"]))
        return disk["path"]

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        spec, dest = desired["spec"], desired["dest"]
        plan = Plan(observed)
        plan.warnings.extend(spec["warnings"])
        if observed is not None and not desired["force"] and observed["digest"] == desired["digest"] \
                and observed["complete"]:
            return plan
        plan.after = {"path": dest, "ovf_version": desired["ovf_version"], "digest": desired["digest"],
                      "size": None, "complete": True}
        total = sum(d["capacity"] for d in spec["disks"])
        plan.step("export guest %s to %s (OVF %s, %d disk(s), %s)"
                  % (spec["name"], dest, desired["ovf_version"], len(spec["disks"]), format_size(total)),
                  lambda: write_ova(dest, spec, desired["digest"]))
        return plan

    def facts(self, state):
        if state is None:
            return None
        return {k: v for k, v in state.items() if k != "complete"}


# ---------------------------------------------------------------- reading an OVA's first member
def _tar_size(field):
    if field[0] & 0x80:  # base-256 (GNU), for members of 8 GiB and more
        return int.from_bytes(field[1:], "big")
    text = field.rstrip(b"\0 ").strip()
    return int(text, 8) if text else 0


def read_ova(path):
    """The facts of the OVA at `path` from its first member, None when there is no file. An OVA we did
    not write (or a damaged one) is reported without a digest, so it is never taken as up to date."""
    if not os.path.exists(path):
        return None
    actual = os.path.getsize(path)
    facts = {"path": path, "ovf_version": None, "digest": None, "size": actual, "complete": False}
    with open(path, "rb") as handle:
        head = handle.read(BLOCK)
        if len(head) < BLOCK or head[257:262] != b"ustar":
            return facts
        name = head[:100].split(b"\0", 1)[0]
        size = _tar_size(head[124:136])
        if not name.endswith(b".ovf") or size > DESCRIPTOR_LIMIT:
            return facts
        record = ovf_write.read_record(handle.read(size))
    if record is None:
        return facts
    facts.update(ovf_version=record["version"], digest=record["digest"], complete=record["size"] == actual)
    return facts


# ---------------------------------------------------------------- writing the OVA
def tar_header(name, size, mtime):
    """A ustar header block for a regular file (base-256 size from 8 GiB on, as GNU tar writes it)."""
    raw = name.encode("utf-8")
    if len(raw) > 99:
        raise ValueError("member name %r is too long for a ustar header" % name)
    size_field = (b"%011o\0" % size) if size < 8 ** 11 else b"\x80" + size.to_bytes(11, "big")
    block = bytearray(BLOCK)
    block[0:len(raw)] = raw
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = size_field
    block[136:148] = b"%011o\0" % int(mtime)
    block[148:156] = b" " * 8
    block[156:157] = b"0"
    block[257:265] = b"ustar\x0000"
    block[265:269] = b"root"
    block[297:301] = b"root"
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _padding(size):
    return bytes(-size % BLOCK)


class _Hashing:
    """A file's write() that hashes and counts what goes through it."""

    def __init__(self, handle):
        self.handle = handle
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.hash.update(data)
        self.size += len(data)
        self.handle.write(data)


def manifest(entries):
    return "".join("SHA256(%s)= %s\n" % (name, digest) for name, digest in entries).encode("utf-8")


def write_ova(dest, spec, digest):
    """Write the OVA of `spec` to a temporary file beside `dest` and rename it over `dest`."""
    base = spec["base"]
    ovf_name, mf_name = base + ".ovf", base + ".mf"
    hrefs = [d["href"] for d in spec["disks"]]
    # the descriptor's slot: the descriptor with the widest numbers it can hold
    widest = dict(spec, disks=[dict(d, size=BIG, populated_size=BIG) for d in spec["disks"]],
                  record={"digest": digest, "size": BIG})
    descriptor_slot = len(ovf_write.build(widest)) + 64
    mf_size = len(manifest([(n, "0" * 64) for n in [ovf_name] + hrefs]))
    mtime = time.time()

    folder = os.path.dirname(dest)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(dest) + ".", suffix=".part")
    try:
        with os.fdopen(fd, "w+b") as out:
            out.write(tar_header(ovf_name, descriptor_slot, mtime))
            descriptor_at = out.tell()
            out.write(bytes(descriptor_slot) + _padding(descriptor_slot))
            out.write(tar_header(mf_name, mf_size, mtime))
            manifest_at = out.tell()
            out.write(bytes(mf_size) + _padding(mf_size))
            disks, digests = [], []
            for disk in spec["disks"]:
                header_at = out.tell()
                out.write(bytes(BLOCK))
                size, grains, sha = write_disk(out, disk)
                out.write(_padding(size))
                end = out.tell()
                out.seek(header_at)
                out.write(tar_header(disk["href"], size, mtime))
                out.seek(end)
                disks.append(dict(disk, size=size, populated_size=min(grains * vmdk.GRAIN, disk["capacity"])))
                digests.append((disk["href"], sha))
            out.write(bytes(2 * BLOCK))
            out.write(bytes(-out.tell() % RECORD))
            total = out.tell()

            data = ovf_write.build(dict(spec, disks=disks, record={"digest": digest, "size": total}))
            if len(data) > descriptor_slot:
                raise AssertionError("descriptor outgrew its slot")
            data += b" " * (descriptor_slot - len(data) - 1) + b"\n"
            out.seek(descriptor_at)
            out.write(data)
            out.seek(manifest_at)
            out.write(manifest([(ovf_name, hashlib.sha256(data).hexdigest())] + digests))
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    dirfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def write_disk(out, disk):
    """Stream one guest disk into `out` as a streamOptimized VMDK: (bytes, grains written, sha256)."""
    sink = _Hashing(out)
    ranges = diskread.data_ranges(disk["path"], disk["format"])
    reader = diskread.open_disk(disk["path"], disk["format"])
    writer = vmdk.Writer(sink, disk["capacity"], disk["href"], adapter=disk["adapter"])
    try:
        for offset, data in diskread.chunks(reader, ranges, disk["capacity"]):
            writer.feed(offset, data)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        reader.close()
    return sink.size, writer.grains, sink.hash.hexdigest()
