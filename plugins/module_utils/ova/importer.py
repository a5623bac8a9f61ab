# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ova_import: an OVA (or a directory-form OVF) becomes pool volumes and a libvirt guest.

The archive is hostile input until proven otherwise: `desired` opens and checks it (archive.Source
refuses unsafe members, ovf.parse unsafe XML) and maps its hardware before anything is touched;
`resolve` checks each disk image's header (qemu-img reading the member where it lies in the tar:
a self-contained image of the declared format) and that the pool can hold what the OVF declares.

Disks are converted straight out of the archive, never extracted: qemu-img reads the member at its
offset while a thread hashes the same bytes for the manifest, so the data is read once from disk.
A gzip-compressed or chunked member is first expanded into a temporary file next to the volume (the
only case that needs extra space), bounded by what the disk can hold.

The guest itself is defined by the libvirt guest service (libvirt_domain), with the OVA's identity
recorded in its metadata: the same OVA again is no change, another one under the same name is
refused unless `force`. Any failure removes what the run made (volumes, guest, temporary files).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import zlib

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, execute, secret_values
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService, libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain_xml import VCT
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage_xml import marker_name, volume_xml
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import LXML_REQUIREMENT
from ansible_collections.virtcloud.core.plugins.module_utils.ova import archive, fetch, manifest, ovf
from ansible_collections.virtcloud.core.plugins.module_utils.storage import qemu_img

RECORD = "{%s}ova" % VCT
CHUNK = 1 << 20
EXPAND_SLACK = 64 << 20  # what a disk image file may hold beyond its virtual size (metadata)
# OVF NIC models libvirt/QEMU emulate under the same name; others become e1000, which every OS drives
NIC_MODELS = {"e1000": "e1000", "e1000e": "e1000e", "vmxnet3": "vmxnet3", "virtio": "virtio", "pcnet": "pcnet",
              "pcnet32": "pcnet", "rtl8139": "rtl8139", "ne2k_pci": "ne2k_pci"}
BUSES = {"ide": "ide", "sata": "sata", "scsi": "scsi", "virtio": "virtio", "usb": "usb", "nvme": "sata"}
SCSI_MODELS = {"lsilogic": "lsilogic", "lsilogicsas": "lsisas1068", "buslogic": "lsilogic", "pvscsi": "virtio-scsi",
               "virtualscsi": "virtio-scsi", "virtio-scsi": "virtio-scsi"}


def _network_target(value, option):
    """A network_map value: a libvirt network name, or {network|bridge|ovs_bridge: name}."""
    if isinstance(value, str) and value:
        return {"network": value}
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("network", "bridge", "ovs_bridge") \
            and isinstance(next(iter(value.values())), str):
        return dict(value)
    raise InputError(option, "give a libvirt network name, or one of network, bridge, ovs_bridge "
                             "with a name (got %r)" % (value,))


class OvaImportService(LibvirtService):
    result_key = "domain"
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    options = {
        "src": Opt(required=True),
        "cache_dir": Opt(type="path", default="/var/cache/virtcloud/ova"),
        "validate_certs": Opt(type="bool", default=True),
        "name": Opt(),
        "pool": Opt(default="default"),
        "network_map": Opt(type="dict", default={}),
        "disk_format": Opt(default="qcow2", choices=["qcow2", "raw"]),
        "preallocation": Opt(default="off", choices=["off", "metadata", "falloc", "full"]),
        "verify_manifest": Opt(type="bool", default=True),
        "require_manifest": Opt(type="bool", default=False),
        "virt_type": Opt(default="auto", choices=["auto", "kvm", "qemu"]),
        "start": Opt(type="bool", default=False),
        "force": Opt(type="bool", default=False),
        "domain": Opt(type="dict", default={}),
    }
    # what `domain` may set on top of the OVF's hardware: options of libvirt_domain
    DOMAIN_OVERRIDES = ("title", "description", "memory", "vcpus", "cpu_mode", "machine", "graphics", "serial",
                        "autostart", "guest_agent", "boot")

    @classmethod
    def secret_values(cls, params):
        """`domain` is a free-form dict of libvirt_domain options: its no_log ones (graphics.password)."""
        return secret_values(DomainService.options, params.get("domain"))

    # ------------------------------------------------------------ desired: the archive, checked
    def desired(self):
        p = self.params
        if p["disk_format"] == "raw" and p["preallocation"] == "metadata":
            raise InputError("preallocation", "metadata preallocation is a qcow2 feature; use off, falloc or full "
                                              "with disk_format raw")
        src = p["src"]
        if fetch.is_url(src):
            src = fetch.fetch(src, p["cache_dir"], p["validate_certs"])
        else:
            src = os.path.abspath(os.path.expanduser(src))
        source = archive.Source.open(src, "src")
        descriptor = ovf.parse(source.descriptor, "src")
        name = self.check_name(p.get("name") or descriptor["name"] or "", "name")
        networks = {}
        for ovf_name, value in (p.get("network_map") or {}).items():
            networks[ovf_name] = _network_target(value, "network_map[%r]" % ovf_name)
        unmapped = sorted({n["network"] for n in descriptor["nics"] if n.get("network")} - set(networks))
        if unmapped:
            raise InputError("network_map", "the OVF connects NICs to %s; map each to a libvirt network or bridge, "
                                            "e.g. network_map: {%r: vc-hostonly}" % (", ".join(map(repr, unmapped)),
                                                                                     unmapped[0]))
        warnings = list(source.warnings) + list(descriptor.get("warnings") or [])
        manifest_text = source.member(source.manifest_name).read() if source.manifest_name else None
        digests = self._manifest(source, manifest_text, warnings)
        disks = self._disks(source, descriptor, name)
        out = {"name": name, "source": source, "ovf": descriptor, "networks": networks, "disks": disks,
               "manifest": digests, "warnings": warnings, "identity": self._identity(source, manifest_text)}
        out["guest"] = self._guest(out)  # the mapped guest is valid input for the guest service, or an error now
        return out

    def _manifest(self, source, text, warnings):
        """{member name: (algorithm, digest)} to check (`text`: the manifest's bytes), or None when
        nothing is checked."""
        p = self.params
        if source.manifest_name is None:
            if p["require_manifest"]:
                raise InputError("require_manifest", "%s has no manifest (.mf); its content cannot be verified"
                                 % p["src"])
            warnings.append("%s has no manifest (.mf): its disks are imported unverified" % p["src"])
            return None
        if not p["verify_manifest"]:
            warnings.append("verify_manifest=false: the manifest of %s is not checked" % p["src"])
            return None
        digests = manifest.parse(text.decode("utf-8", "replace"))
        names = {m.name for m in source.members()}
        absent = sorted(set(digests) - names)
        if absent:
            raise InputError("src", "the manifest lists %s, which the archive does not hold" % ", ".join(absent))
        if any(entry[0] == "sha1" for entry in digests.values()):
            warnings.append("the manifest of %s uses SHA-1, which no longer protects against a forged file"
                            % p["src"])
        if source.certificate_name:
            warnings.append("%s is signed (%s); the signature is not checked, the manifest is"
                            % (p["src"], source.certificate_name))
        unlisted = [m.name for m in source.members() if m.name not in digests and m.name not in
                    (source.manifest_name, source.certificate_name)]
        if unlisted:
            warnings.append("the manifest does not cover %s" % ", ".join(unlisted))
        return digests

    def _disks(self, source, descriptor, name):
        """The OVF's disks in order, each with its member(s), target volume and guest bus."""
        out = []
        for index, disk in enumerate(descriptor["disks"]):
            where = "disk %s of the OVF" % disk.get("id")
            spec = {"index": index, "ovf": disk, "bus": BUSES.get(disk.get("bus") or "ide", "ide"),
                    "capacity": disk["capacity"], "members": [], "compression": None,
                    "volume": "%s-disk%d.%s" % (name, index + 1, "qcow2" if self.params["disk_format"] == "qcow2"
                                                else "img")}
            if disk.get("file_id"):
                ref = descriptor["files"].get(disk["file_id"])
                if ref is None:
                    raise InputError("src", "%s refers to file %r, which the OVF's References do not list"
                                     % (where, disk["file_id"]))
                spec["compression"] = ref.get("compression")
                if ref.get("chunk_size"):
                    chunks = sorted(m for m in (x.name for x in source.members())
                                    if m.startswith(ref["href"] + ".") and m[len(ref["href"]) + 1:].isdigit())
                    if not chunks:
                        raise InputError("src", "%s is chunked, but no %s.000000000 member is in the archive"
                                         % (where, ref["href"]))
                    spec["members"] = [source.member(c) for c in chunks]
                else:
                    spec["members"] = [source.member(ref["href"])]
            out.append(spec)
        return out

    @staticmethod
    def _identity(source, manifest_text):
        """What identifies this OVA cheaply: the digest of its descriptor and manifest (which covers
        the disks), plus the names and sizes of its members."""
        digest = hashlib.sha256()
        for member in source.members():
            digest.update(("%s\0%d\0" % (member.name, member.size)).encode())
            if member.name == source.descriptor_name:
                digest.update(source.descriptor)
            elif member.name == source.manifest_name:
                digest.update(manifest_text)
        return digest.hexdigest()

    # ------------------------------------------------------------ observed: the guest and its record
    def observe(self, desired, batch=None):
        dom = self.lookup("domain", desired["name"])
        if dom is None:
            return None
        found = DomainService(self.params).read(dom)
        meta = found["xml"].find("metadata")
        record = meta.find(RECORD) if meta is not None else None
        return dict(found, identity=record.get("identity") if record is not None else None,
                    volumes=(record.get("volumes") or "").split() if record is not None else [])

    # ------------------------------------------------------------ resolved: images and room checked
    def resolve(self, desired, observed, batch=None):
        if observed is not None and observed["identity"] == desired["identity"]:
            return desired  # imported already: nothing is read or written
        pool = self.lookup("pool", self.params["pool"])
        if pool is None:
            raise InputError("pool", "storage pool %r does not exist; create it first (libvirt_pool)"
                             % self.params["pool"])
        for ovf_name, target in desired["networks"].items():
            if target.get("network") and self.lookup("network", target["network"]) is None:
                raise InputError("network_map[%r]" % ovf_name, "libvirt network %r does not exist"
                                 % target["network"])
        for spec in desired["disks"]:
            for member in spec["members"]:
                if member.name == desired["source"].descriptor_name:
                    raise InputError("src", "disk %s is the descriptor itself" % spec["ovf"].get("id"))
            if spec["members"] and not spec["compression"] and len(spec["members"]) == 1:
                info = self._image_info(spec["members"][0], spec)
                spec["capacity"] = max(spec["capacity"] or 0, info["virtual-size"])
            taken = self._volume_taken(pool, spec["volume"])
            spec["leftover"] = taken and self._volume_taken(pool, marker_name(spec["volume"]))
            if taken and not spec["leftover"] and (observed is None or spec["volume"] not in observed["volumes"]):
                raise InputError("name", "volume %s already exists in pool %s and is not from this import; "
                                 "remove it or choose another name" % (spec["volume"], self.params["pool"]))
        self._check_room(pool, desired)
        self._verify_rest(desired)
        if self.check_mode:
            self._predict_copies(desired)
        return desired

    def _predict_copies(self, desired):
        """Check mode: what the copy steps would check while they read, checked by reading alone
        (the disks' digests; a compressed or chunked disk expanded into nothing, bounded the same
        way), so that the prediction fails where the run would."""
        for spec in desired["disks"]:
            if spec["compression"] or len(spec["members"]) > 1:
                self._expand(desired, spec, None)
            elif spec["members"] and desired["manifest"] and spec["members"][0].name in desired["manifest"]:
                member = spec["members"][0]
                self._verify(desired, member, manifest.hash_member(member, desired["manifest"][member.name][0]))

    def _image_info(self, member, spec):
        """qemu-img info of a disk where it lies in the archive, refused unless it is a self-contained
        image of a format an OVF disk may have (VMDK; qcow2 and raw where the OVF says so)."""
        fmt = _qemu_format(spec["ovf"])
        _check_padding(member)
        data = qemu_img.image_info(member_source(member, fmt), "src", fmt)
        _refuse_outside(spec, member.name, _reads_outside(data, member))
        return data

    @staticmethod
    def _volume_taken(pool, volume):
        try:
            pool.storageVolLookupByName(volume)
        except libvirt.libvirtError:
            return False
        return True

    def _check_room(self, pool, desired):
        """Refuse before writing what the pool cannot hold: thin volumes may together declare at most
        the pool's size, preallocated ones need that much free space."""
        try:
            # libvirt keeps the figures of its last scan: space freed (or taken) on the file system
            # since then would be missed
            pool.refresh(0)
        except libvirt.libvirtError:  # a job on the pool (an upload) refuses a refresh: its figures do
            pass
        info = pool.info()  # state, capacity, allocation, available
        capacity, available = info[1], info[3]
        declared = sum(spec["capacity"] or 0 for spec in desired["disks"])
        thick = self.params["disk_format"] == "raw" or self.params["preallocation"] in ("falloc", "full")
        limit, what = (available, "has %s free" % format_size(available)) if thick else \
            (capacity, "holds %s in all" % format_size(capacity))
        if declared > limit:
            raise InputError("src", "the OVF's disks declare a capacity of %s, and pool %s %s; refusing before "
                                    "writing anything"
                             % (format_size(declared), self.params["pool"], what))
        stored = sum(m.size for spec in desired["disks"] for m in spec["members"])
        if stored > available:
            raise InputError("pool", "the disks hold %s of data, and pool %s has %s free"
                             % (format_size(stored), self.params["pool"], format_size(available)))

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        name = desired["name"]
        plan = Plan(observed)
        plan.warnings.extend(desired["warnings"])
        if observed is not None and observed["identity"] == desired["identity"]:
            if self.params["start"] and observed["state"] != "running":
                plan.step("start guest %s" % name, lambda: self.lookup("domain", name).create())
                plan.after = dict(observed, state="running")
            plan.warnings = [w for w in plan.warnings if "manifest" not in w]  # nothing was read
            return plan
        if observed is not None:
            if not self.params["force"]:
                raise InputError("force", "guest %s exists and was not imported from this OVA; set force=true to "
                                          "replace it (its imported volumes are removed)" % name)
            plan.step("remove guest %s and its imported volumes" % name, lambda: self._remove(observed, name))
        pool = self.params["pool"]
        for spec in desired["disks"]:
            if spec.get("leftover"):
                plan.warnings.append("volume %s in pool %s is what an interrupted import left (its marker %s is "
                                     "there); it is made again" % (spec["volume"], pool, marker_name(spec["volume"])))
                plan.step("delete incomplete volume %s in pool %s" % (spec["volume"], pool),
                          lambda spec=spec: self._delete_volume(spec["volume"]))
            # partial: a create that fails halfway removes what it made; until the guest is defined
            # a marker volume next to it says that it is not complete (a killed run leaves both)
            plan.step("create volume %s in pool %s" % (spec["volume"], pool),
                      lambda spec=spec: self._create_volume(spec),
                      undo=lambda spec=spec: self._delete_volume(spec["volume"]), partial=True)
            if spec["members"]:
                plan.step("copy disk %s of the OVA into volume %s" % (spec["ovf"].get("id"), spec["volume"]),
                          lambda spec=spec: self._copy(desired, spec))
        guest = desired["guest"]
        plan.step("define guest %s" % name, lambda: self._define(guest, desired),
                  undo=lambda: self._undefine(name))
        if self.params["start"]:
            plan.step("start guest %s" % name, lambda: self.lookup("domain", name).create())
        plan.after = {"xml": None, "state": "running" if self.params["start"] else "shutdown", "autostart": False,
                      "identity": desired["identity"], "predicted": guest}
        return plan

    def _verify_rest(self, desired):
        """The members that are not disks (the descriptor, ...) are checked against the manifest before
        anything is written; the disks are hashed while they are copied."""
        if not desired["manifest"]:
            return
        disk_members = {m.name for spec in desired["disks"] for m in spec["members"]}
        for name in desired["manifest"]:
            if name not in disk_members:
                member = desired["source"].member(name)
                self._verify(desired, member, manifest.hash_member(member, desired["manifest"][name][0]))

    def _guest_params(self, desired):
        from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import validate_items

        descriptor = desired["ovf"]
        disks = [{"pool": self.params["pool"], "volume": spec["volume"], "bus": spec["bus"],
                  "format": self.params["disk_format"]} for spec in desired["disks"]]
        nics = []
        for nic in descriptor["nics"]:
            item = dict(desired["networks"][nic["network"]]) if nic.get("network") else None
            if item is None:
                continue
            item["model"] = NIC_MODELS.get((nic.get("model") or "").lower(), "e1000")
            if nic.get("mac"):
                item["mac"] = nic["mac"]
            nics.append(item)
        params = {"name": desired["name"], "memory": "%dB" % descriptor["memory"], "vcpus": descriptor["cpus"] or 1,
                  "disks": disks, "nics": nics, "virt_type": self.params["virt_type"],
                  "firmware": "uefi" if descriptor.get("firmware") == "efi" else "bios",
                  "description": descriptor.get("description") or None, "xml": self._extra_xml(desired),
                  "state": "present"}
        extra = self.params.get("domain") or {}
        unknown = sorted(set(extra) - set(self.DOMAIN_OVERRIDES))
        if unknown:
            raise InputError("domain", "%s cannot be set here; it takes %s (options of libvirt_domain)"
                             % (", ".join(unknown), ", ".join(self.DOMAIN_OVERRIDES)))
        params.update(extra)
        validated = validate_items(DomainService, [params], "domain")[0]
        return dict(validated, uri=self.params["uri"])

    def _extra_xml(self, desired):
        """What the guest options do not model: the SCSI controller model and the import record."""
        scsi = {SCSI_MODELS.get((s["ovf"].get("controller_model") or "").lower()) for s in desired["disks"]
                if s["bus"] == "scsi"} - {None}
        controllers = "".join("<controller type='scsi' model='%s'/>" % model for model in sorted(scsi))
        volumes = " ".join(spec["volume"] for spec in desired["disks"])
        return ("<domain><metadata><virtcloud:ova xmlns:virtcloud='%s' identity='%s' volumes='%s' source='%s'/>"
                "</metadata><devices>%s</devices></domain>"
                % (VCT, desired["identity"], volumes, _attr(os.path.basename(self.params["src"])), controllers))

    def _guest(self, desired):
        guest = DomainService(self._guest_params(desired))
        guest.desired()  # every mapped value checked before anything is written
        return guest

    # ------------------------------------------------------------ apply
    def _create_volume(self, spec):
        pool = self.lookup("pool", self.params["pool"])
        if not self._volume_taken(pool, marker_name(spec["volume"])):
            pool.createXML(volume_xml(marker_name(spec["volume"]), 512, "raw"), 0)
        xml = volume_xml(spec["volume"], spec["capacity"], self.params["disk_format"])
        flags = 0
        if self.params["preallocation"] == "metadata":
            flags |= libvirt.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA
        pool.createXML(xml, flags)

    def _delete_volume(self, volume):
        """Delete a volume of this import and its marker, each where it exists."""
        pool = self.lookup("pool", self.params["pool"])
        for name in (volume, marker_name(volume)):
            if self._volume_taken(pool, name):
                pool.storageVolLookupByName(name).delete(0)

    def _volume_path(self, spec):
        return self.lookup("pool", self.params["pool"]).storageVolLookupByName(spec["volume"]).path()

    def _copy(self, desired, spec):
        """Convert one disk into its volume, hashing the archive bytes on the way (one read)."""
        target = self._volume_path(spec)
        fmt = _qemu_format(spec["ovf"])
        temp = None
        try:
            if spec["compression"] or len(spec["members"]) > 1:
                temp = target + ".ova-part"
                with open(temp, "wb") as out:
                    self._expand(desired, spec, out)
                # only now is the image readable: the same check as for a disk read in place
                _refuse_outside(spec, spec["members"][0].name,
                                qemu_img.outside(qemu_img.image_info(temp, "src", fmt), temp))
                src = temp
            else:
                src = member_source(spec["members"][0], fmt)
            # the volume was created by this run and reads as zeros: qemu-img need not write the zeros
            argv = ["qemu-img", "convert", "-n", "--target-is-zero", "-f", fmt, "-O", self.params["disk_format"],
                    src, target]
            if self.params["preallocation"] in ("falloc", "full") and self.params["disk_format"] == "raw":
                argv[2:2] = ["-S", "0"]  # every byte written: the volume stays fully allocated
            hashing = None
            if temp is None and desired["manifest"] and spec["members"][0].name in desired["manifest"]:
                hashing = _Hasher(spec["members"][0], desired["manifest"][spec["members"][0].name][0])
                hashing.start()
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
            if hashing is not None:
                hashing.join()
                self._verify(desired, spec["members"][0], hashing.result())
            if proc.returncode != 0:
                raise BackendError("qemu-img convert of %s failed: %s" % (spec["members"][0].name,
                                                                          proc.stderr.strip()[-2000:]))
        finally:
            if temp is not None and os.path.exists(temp):
                os.unlink(temp)

    def _expand(self, desired, spec, out):
        """Concatenate chunks and gunzip into the file `out` (None: only count), hashing each member
        as it is read, never expanding more than the disk can hold (a gzip bomb stops there, with at
        most that much written)."""
        limit = (spec["capacity"] or 0) + EXPAND_SLACK
        written = 0
        inflate = _Gunzip(spec) if spec["compression"] == "gzip" else None
        for member in spec["members"]:
            algorithm = desired["manifest"][member.name][0] if desired["manifest"] and \
                member.name in desired["manifest"] else None
            digest = manifest.hasher(algorithm) if algorithm else None
            for block in _blocks(member):
                if digest:
                    digest.update(block)
                for data in inflate.feed(block) if inflate else (block,):
                    written += len(data)
                    if written > limit:
                        raise InputError("src", "disk %s expands beyond the capacity of %s its OVF declares "
                                                "(and the %s a disk image may add); refused"
                                         % (spec["ovf"].get("id"), format_size(spec["capacity"] or 0),
                                            format_size(EXPAND_SLACK)))
                    if out is not None:
                        out.write(data)
            if digest:
                self._verify(desired, member, digest.hexdigest())
        if inflate:
            inflate.finish()

    @staticmethod
    def _verify(desired, member, digest):
        algorithm, expected = desired["manifest"][member.name]
        if digest.lower() != expected.lower():
            raise InputError("src", "%s does not match the manifest (%s %s, expected %s): the archive is damaged "
                                    "or was altered" % (member.name, algorithm.upper(), digest, expected))

    def _define(self, guest, desired):
        result = execute(guest)
        pool = self.lookup("pool", self.params["pool"])
        for spec in desired["disks"]:  # the import is complete: its volumes lose their markers
            if self._volume_taken(pool, marker_name(spec["volume"])):
                pool.storageVolLookupByName(marker_name(spec["volume"])).delete(0)
        for warning in result.get("warnings", []):
            if "TCG" in warning or "emulation" in warning:
                desired["warnings"].append(warning)

    def _undefine(self, name):
        from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain_ops import undefine

        dom = self.lookup("domain", name)
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            undefine(dom)

    def _remove(self, observed, name):
        self._undefine(name)
        pool = self.lookup("pool", self.params["pool"])
        for volume in observed["volumes"]:
            try:
                pool.storageVolLookupByName(volume).delete(0)
            except libvirt.libvirtError:
                pass

    # ------------------------------------------------------------ report
    def facts(self, state):
        if state is None:
            return {}
        if state.get("xml") is None:  # check mode: what the guest service predicts
            predicted = state["predicted"]
            out = {"name": predicted.params["name"], "state": state["state"]}
        else:
            out = DomainService(self.params).facts(state)
        out["ova_identity"] = state.get("identity")
        return out


class _Hasher(threading.Thread):
    """Hashes a member in a thread while qemu-img reads the same bytes (the page cache serves the
    second reader: the data comes from disk once)."""

    def __init__(self, member, algorithm):
        super().__init__(daemon=True)
        self.member, self.algorithm, self.error, self.digest = member, algorithm, None, None

    def run(self):
        try:
            self.digest = manifest.hash_member(self.member, self.algorithm)
        except Exception as exc:  # reported by result()
            self.error = exc

    def result(self):
        if self.error is not None:
            raise self.error
        return self.digest


def _blocks(member):
    """The member's bytes, CHUNK at a time; a file cut short is an input error."""
    try:
        yield from member.blocks(CHUNK)
    except archive.Truncated:
        raise InputError("src", "%s ends early: the archive is truncated" % member.name)


class _Gunzip:
    """gunzip as a filter, bounded: each output piece is at most CHUNK * 4 bytes, so that the caller
    can stop a bomb before it expands. Concatenated gzip members are one stream, as for gunzip."""

    def __init__(self, spec):
        self.spec = spec
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.fresh = True  # no input yet since the last member ended

    def feed(self, data):
        while data:
            try:
                out = self.inflate.decompress(data, CHUNK * 4)
            except zlib.error as exc:
                raise InputError("src", "disk %s is not valid gzip data (%s)" % (self.spec["ovf"].get("id"), exc))
            self.fresh = False
            if out:
                yield out
            if self.inflate.eof:
                data = self.inflate.unused_data
                self.inflate, self.fresh = zlib.decompressobj(16 + zlib.MAX_WBITS), True
            else:
                data = self.inflate.unconsumed_tail

    def finish(self):
        if not self.fresh:
            raise InputError("src", "disk %s ends inside its gzip data: the file is truncated"
                             % self.spec["ovf"].get("id"))


def _refuse_outside(spec, name, found):
    if found:
        raise InputError("src", "disk %s (%s) is an image that reads %s; an OVA's disk must be self-contained"
                         % (spec["ovf"].get("id"), name, ", ".join(found)))


def _check_padding(member):
    """qemu reads a member in whole 512-byte sectors: the tar's padding after it must be zeros (it is
    part of no file, and no manifest covers it)."""
    pad = -member.size % 512
    if pad and member.offset + member.size < os.path.getsize(member.path):
        with open(member.path, "rb") as handle:
            handle.seek(member.offset + member.size)
            if handle.read(pad).strip(b"\0"):
                raise InputError("src", "the tar padding after %s is not zeros; the archive was altered"
                                 % member.name)


def _reads_outside(data, member):
    """qemu_img.outside for an image read out of an archive: its only extent is the member itself."""
    found = []
    for extent in ((data.get("format-specific") or {}).get("data") or {}).get("extents") or []:
        name = extent.get("filename") or ""
        try:
            inner = json.loads(name[len("json:"):])["file"]["filename"] if name.startswith("json:") else None
        except (ValueError, KeyError, TypeError):
            inner = None
        if inner != member.path:
            found.append("the extent file %s" % name)
    specific = dict(data.get("format-specific") or {})
    specific["data"] = {k: v for k, v in (specific.get("data") or {}).items() if k != "extents"}
    return found + qemu_img.outside(dict(data, **{"format-specific": specific}), member.path)


def _qemu_format(disk):
    fmt = (disk.get("format") or "").lower()
    if fmt in ("qcow2", "raw"):
        return fmt
    return "vmdk"


def member_source(member, fmt):
    """A qemu-img source reading `member` where it lies in its file (the tar), as image format `fmt`.
    qemu takes a range of whole 512-byte sectors: a member inside a tar is read with the tar's zero
    padding (_check_padding), one that ends its file (a directory-form package) to the file's end."""
    window = {"driver": "raw", "offset": member.offset, "file": {"driver": "file", "filename": member.path}}
    if member.offset + member.size < os.path.getsize(member.path):
        window["size"] = member.size + (-member.size % 512)
    return "json:" + json.dumps({"driver": fmt, "file": window})


def _attr(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;").replace('"', "&quot;")
