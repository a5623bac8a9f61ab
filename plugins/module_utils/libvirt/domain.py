# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt guests: desired spec -> XML model, semantic comparison with the inactive definition,
least disruptive plan (live attach/detach, live memory, config + restart_required)."""

from __future__ import annotations

import copy

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError, MissingDependency
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size, parse_size
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml as dx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import MAX_MEMORY, LibvirtService, libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain_xml import PAUSED, RUNNING, SHUTDOWN
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import (
    LXML_REQUIREMENT,
    etree,
    from_string,
    user_tree,
    volume_format,
)

STATES = ["present", "running", "shutdown", "paused", "rebooted", "absent"]
BUSES = ["virtio", "sata", "scsi", "ide", "usb", "xen"]
CACHES = ["default", "none", "writethrough", "writeback", "directsync", "unsafe"]

DISK_OPTIONS = {
    "path": Opt(),
    "pool": Opt(),
    "volume": Opt(),
    "size": Opt(type="raw"),
    "backing": Opt(),     # a new volume is a linked clone (qcow2 overlay) of this volume of the pool
    "clone_from": Opt(),  # a new volume is a full copy of this volume of the pool
    "device": Opt(default="disk", choices=["disk", "cdrom"]),
    "target": Opt(),
    "bus": Opt(choices=BUSES),
    "format": Opt(),
    "cache": Opt(choices=CACHES),
    "readonly": Opt(type="bool", default=False),
}
NIC_OPTIONS = {
    "network": Opt(),
    "bridge": Opt(),
    "ovs_bridge": Opt(),
    "direct": Opt(),
    "direct_mode": Opt(default="bridge", choices=["bridge", "vepa", "private", "passthrough"]),
    "vlan": Opt(type="int"),
    "model": Opt(default="virtio"),
    "mac": Opt(),
}
GRAPHICS_OPTIONS = {
    "type": Opt(default="vnc", choices=["vnc", "spice"]),
    "listen": Opt(default="127.0.0.1"),
    "port": Opt(type="int", default=-1),
    "password": Opt(no_log=True),
}
CLOUD_INIT_OPTIONS = {
    "pool": Opt(required=True),
    "device": Opt(default="cdrom", choices=["cdrom", "disk"]),
    "user_data": Opt(type="raw"),
    "meta_data": Opt(type="dict", options={"instance_id": Opt(), "hostname": Opt()}),
    "network_config": Opt(type="dict"),
    "ssh_keys": Opt(type="list", elements="str", no_log=False),  # public keys
}
SERIAL_OPTIONS = {
    "type": Opt(default="pty", choices=["pty", "file"]),
    "path": Opt(),
}


# Run states a guest gets into by itself, and that no `state` choice asks for: its kernel panicked
# and libvirt kept it (on_crash=preserve), or it suspended itself to RAM (S3). Both are active.
CRASHED, PMSUSPENDED = "crashed", "pmsuspended"


# dom.state() codes -> the words of the `state` option, and the two above
def run_state(code):
    if libvirt is None:
        return None
    if code in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED, libvirt.VIR_DOMAIN_SHUTDOWN):
        return RUNNING
    if code == libvirt.VIR_DOMAIN_PAUSED:
        return PAUSED
    if code == libvirt.VIR_DOMAIN_CRASHED:
        return CRASHED
    if code == libvirt.VIR_DOMAIN_PMSUSPENDED:
        return PMSUSPENDED
    return SHUTDOWN


def guests(conn):
    """name -> (virDomain, run state, autostart) of every defined guest, in three listing calls."""
    autostart = {dom.name() for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
    try:
        stats = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            raise
        stats = [(dom, {"state.state": dom.state()[0]}) for dom in conn.listAllDomains(0)]
    return {dom.name(): (dom, run_state(values["state.state"]), dom.name() in autostart) for dom, values in stats}


def kvm_usable_here():
    """libvirt reports KVM as usable whenever /dev/kvm exists, also inside a VM whose KVM is a
    paravirtual stand-in (e.g. KVM_PVM) on which ordinary guests hang. A CPU that says it runs
    under a hypervisor without exposing VMX/SVM has no nested virtualisation: treat KVM as absent."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = set()
            for line in handle:
                if line.startswith("flags"):
                    flags.update(line.split(":", 1)[1].split())
                    break
    except OSError:
        return True
    return not ("hypervisor" in flags and not flags & {"vmx", "svm"})


def _is_local(uri):
    return "://" in uri and uri.split("://", 1)[1].split("/", 1)[0] in ("", "localhost")


class DomainService(LibvirtService):
    result_key = "domain"
    serial_since = 0  # where this run's boot begins in an appended serial log (wait_for=marker)
    batch_workers = 8  # domains: guests are defined, started and shut down 8 at a time
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    options = {
        "name": name_opt(),
        "uuid": Opt(),  # compared by plan: a UUID cannot change
        "title": Opt(update="live"),
        "description": Opt(update="live"),
        "memory": Opt(type="raw", update="restart"),
        "current_memory": Opt(type="raw", update="live"),
        "vcpus": Opt(type="int", update="live"),
        "max_vcpus": Opt(type="int", update="restart"),
        "cpu_mode": Opt(choices=["host-passthrough", "host-model", "maximum"], update="restart"),
        "arch": Opt(update="restart"),
        "machine": Opt(update="restart"),
        "virt_type": Opt(default="auto", choices=["auto", "kvm", "qemu", "xen"], update="restart"),
        "os_type": Opt(choices=["hvm", "xen"], update="restart"),
        "firmware": Opt(choices=["bios", "uefi"], update="restart"),
        "boot": Opt(type="list", elements="str", update="restart"),
        "kernel": Opt(update="restart"),
        "initrd": Opt(update="restart"),
        "cmdline": Opt(update="restart"),
        "disks": Opt(type="list", elements="dict", options=DISK_OPTIONS, update="live"),
        "nics": Opt(type="list", elements="dict", options=NIC_OPTIONS, update="live"),
        "graphics": Opt(type="dict", options=GRAPHICS_OPTIONS, update="restart"),
        "serial": Opt(type="dict", options=SERIAL_OPTIONS, update="restart"),
        "guest_agent": Opt(type="bool", update="restart"),
        "autostart": Opt(type="bool", update="live"),
        "xml": Opt(update="restart"),
        "state": state_opt(STATES),
        "shutdown_timeout": Opt(type="int", default=120),
        "force": Opt(type="bool", default=False),
        "remove_storage": Opt(type="bool", default=False),
        "cloud_init": Opt(type="dict", options=CLOUD_INIT_OPTIONS),  # compared by plan: the seed's files
        "cloud_init_apply": Opt(type="bool", default=False),
        "wait_for": Opt(choices=["ip", "agent", "marker"]),
        "wait_timeout": Opt(type="int", default=120),
        "wait_marker": Opt(),
    }

    # ------------------------------------------------------------ desired
    def desired(self):
        p = self.params
        spec = {"name": self.check_name(p["name"]), "state": p["state"]}
        validate.seconds(p.get("shutdown_timeout"), "shutdown_timeout")
        if p["state"] == "absent":
            return spec
        if p.get("uuid"):
            import uuid  # only here: every module run compiles what it imports

            try:
                spec["uuid"] = str(uuid.UUID(p["uuid"]))
            except ValueError:
                raise InputError("uuid", "%r is not a UUID" % p["uuid"])
        for key in ("title", "description", "cpu_mode", "arch", "machine", "os_type", "firmware",
                    "kernel", "initrd", "cmdline", "autostart", "guest_agent"):
            spec[key] = p.get(key)
        spec["virt_type"] = p.get("virt_type") or "auto"
        if p.get("memory") is not None:
            spec["memory"] = self._memory("memory", p["memory"])
        if p.get("current_memory") is not None:
            if spec.get("memory") is None:
                raise InputError("current_memory", "needs memory (the maximum) to be set too")
            spec["current_memory"] = self._memory("current_memory", p["current_memory"])
            if spec["current_memory"] > spec["memory"]:
                raise InputError("current_memory", "%s is more than memory %s; current memory is what "
                                 "the guest gets now, at most memory"
                                 % (format_size(spec["current_memory"]), format_size(spec["memory"])))
        if p.get("vcpus") is not None:
            if p["vcpus"] < 1:
                raise InputError("vcpus", "must be at least 1")
            spec["vcpus"] = p["vcpus"]
        if p.get("max_vcpus") is not None:
            if p.get("vcpus") is None or p["max_vcpus"] < p["vcpus"]:
                raise InputError("max_vcpus", "needs vcpus, and must be at least vcpus (%s)" % p.get("vcpus"))
            spec["max_vcpus"] = p["max_vcpus"]
        if p.get("boot") is not None:
            bad = [b for b in p["boot"] if b not in ("hd", "cdrom", "network", "fd")]
            if bad:
                raise InputError("boot", "unknown boot device(s) %s; use hd, cdrom, network, fd" % bad)
            spec["boot"] = list(p["boot"])
        spec["disks"] = None if p.get("disks") is None else self._disks(p["disks"])
        spec["nics"] = None if p.get("nics") is None else [self._nic(i, n) for i, n in enumerate(p["nics"])]
        spec["graphics"] = p.get("graphics")
        if spec["graphics"] and spec["graphics"]["type"] == "vnc" and len(spec["graphics"].get("password") or "") > 8:
            # the VNC protocol itself only uses 8 characters; libvirt refuses longer ones
            raise InputError("graphics.password", "a VNC password has at most 8 characters")
        if p.get("serial") is not None:
            if p["serial"]["type"] == "file" and not p["serial"].get("path"):
                raise InputError("serial.path", "required when serial.type is file")
            spec["serial"] = p["serial"]
        spec["xml"] = None  # the user's own <domain>, merged under the options
        if p.get("xml"):
            spec["xml"] = user_tree(p["xml"], "xml", "domain")
        if p.get("cloud_init") is not None:
            spec["cloud_init"] = self._cloud_init(p["cloud_init"], spec)
        validate.seconds(p.get("wait_timeout"), "wait_timeout")  # also when nothing waits: a bad value is a bad value
        if p.get("wait_for"):
            if p["state"] in ("shutdown", "paused"):
                raise InputError("wait_for", "waits for a running guest; state is %s" % p["state"])
            if p["wait_for"] == "marker" and not p.get("wait_marker"):
                raise InputError("wait_marker", "required with wait_for=marker: the text to wait for on the serial console")
        return spec

    def _cloud_init(self, value, spec):
        seed = ci()
        if seed.PYCDLIB_IMPORT_ERROR is not None:
            raise MissingDependency(*seed.PYCDLIB_REQUIREMENT)
        if spec["disks"] is None:
            raise InputError("cloud_init", "needs disks: the seed is attached as one more disk of the list")
        seed.parse(value)
        content, instance_id = seed.files(value, spec["name"])
        self.check_volume_name(seed.seed_volume(spec["name"]), "name")
        return {"pool": value["pool"], "volume": seed.seed_volume(spec["name"]), "device": value["device"],
                "files": content, "instance_id": instance_id}

    def _memory(self, option, value):
        size = parse_size(value, option, default_unit="MiB")
        if size < 1024 * 1024:
            raise InputError(option, "%r is less than 1 MiB; a bare number means MiB" % (value,))
        return self.check_size(size, option, MAX_MEMORY, "libvirt's memory of a guest")

    def _disks(self, disks):
        out, used = [], set()
        for i, d in enumerate(disks):
            where = "disks[%d]" % i
            d = dict(d)
            if d.get("pool") or d.get("volume"):
                if not (d.get("pool") and d.get("volume")) or d.get("path"):
                    raise InputError(where, "set either path, or pool and volume")
                self.check_volume_name(d["volume"], where + ".volume")
            elif not d.get("path") and d["device"] != "cdrom":
                raise InputError(where, "set path, or pool and volume")
            for key in ("backing", "clone_from"):
                if d.get(key) is not None:
                    if not d.get("pool"):
                        raise InputError(where + "." + key, "makes a new volume from a volume of its pool: needs pool and volume")
                    self.check_volume_name(d[key], "%s.%s" % (where, key))
            if d.get("backing") is not None and d.get("clone_from") is not None:
                raise InputError(where + ".backing", "a new volume is a linked clone (backing) or a full copy (clone_from), "
                                                     "not both")
            if d.get("backing") is not None and d.get("format") not in (None, "qcow2"):
                raise InputError(where + ".format", "a linked clone (backing) is a qcow2 overlay; leave format out or set it "
                                                    "to qcow2")
            if d.get("size") is not None:
                if not d.get("pool"):
                    raise InputError(where + ".size", "creates a new volume: needs pool and volume")
                d["size"] = self.check_capacity(parse_size(d["size"], where + ".size", default_unit="GiB"),
                                                d.get("format") or "qcow2", where + ".size")
            d["bus"] = d.get("bus") or ("sata" if d["device"] == "cdrom" else "virtio")
            if d["device"] == "cdrom":
                d["readonly"] = True
            if d.get("format") is None and d.get("path"):
                d["format"] = "qcow2" if d["path"].endswith(".qcow2") else "raw"
            if d.get("target"):
                used.add(d["target"])
            out.append(d)
        for d in out:  # targets for the rest, in list order per bus prefix, skipping taken ones
            n = 0
            while not d.get("target"):
                name = dx.disk_target(d["bus"], n)
                if name not in used:
                    d["target"] = name
                    used.add(name)
                n += 1
        return out

    @staticmethod
    def _nic(i, n):
        where = "nics[%d]" % i
        kinds = [k for k in ("network", "bridge", "ovs_bridge", "direct") if n.get(k)]
        if len(kinds) != 1:
            raise InputError(where, "set exactly one of network, bridge, ovs_bridge, direct (got %s)"
                             % (", ".join(kinds) or "none"))
        if n.get("vlan") is not None and not n.get("ovs_bridge"):
            raise InputError(where + ".vlan", "VLAN tags need an Open vSwitch bridge (ovs_bridge)")
        # libvirt refuses a multicast MAC on a NIC, but only when it defines the guest
        return dict(n, vlan=validate.vlan_id(n.get("vlan"), where + ".vlan"),
                    mac=validate.mac_address(n.get("mac") or None, where + ".mac", unicast=True))

    # ------------------------------------------------------------ observed
    def observe(self, desired, batch=None):
        """The defined domain as {xml (inactive, normalised), state, autostart}, or None. In a
        batch, the guests, run states and autostart flags come from `read_batch`."""
        if batch is not None:
            found = batch["guests"].get(desired["name"])
            return None if found is None else self._seed(desired, self.read(*found))
        dom = self.lookup("domain", desired["name"])
        return None if dom is None else self._seed(desired, self.read(dom))

    def _seed(self, desired, state):
        """The guest's NoCloud seed as the task sees it: where, its instance-id, and whether its files
        differ from the task's (`pending`)."""
        want = desired.get("cloud_init")
        if want is None or state is None:
            return state
        files = ci().read_seed(self.conn, want["pool"], want["volume"])
        state["cloud_init"] = {"seed": "%s/%s" % (want["pool"], want["volume"]), "exists": files is not None,
                               "instance_id": ci().instance_id(files or {}), "pending": files != want["files"]}
        return state

    @classmethod
    def read_batch(cls, service, desireds):
        """Every guest, its run state and autostart from three listing calls; the host
        capabilities are read once for the whole batch, if a spec needs them."""
        return {"guests": guests(service.conn), "caps": {}}

    def read(self, dom, state=None, autostart=None):
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        root = dx.normalise(from_string(dom.XMLDesc(flags)))
        record = dx.take_record(root)
        return {"xml": root,
                "state": run_state(dom.state()[0]) if state is None else state,
                "autostart": bool(dom.autostart()) if autostart is None else autostart,
                "record": record}

    # ------------------------------------------------------------ resolved
    def resolve(self, desired, observed, batch=None):
        """What planning needs from the host: referenced networks, pools and volumes exist (an
        unknown one is an input error, found before anything changes), the format of every pool
        volume, the volumes to create, the machine names libvirt stores, and the hypervisor type
        of a new guest (or of one whose virt_type is set)."""
        if desired["state"] == "absent":
            return desired
        caps = batch["caps"] if batch is not None else {}
        out = dict(desired, new_volumes=[], grow_volumes=[], tcg_fallback=False, guest_type=None)
        for i, n in enumerate(desired.get("nics") or []):
            if n.get("network") and self.lookup("network", n["network"]) is None:
                raise InputError("nics[%d].network" % i, "libvirt network %r does not exist (virsh net-list "
                                 "--all); create it first" % n["network"])
        if desired.get("disks") is not None:
            out["disks"] = [self._resolve_disk(i, d, out) for i, d in enumerate(desired["disks"])]
        seed = desired.get("cloud_init")
        if seed is not None:
            if self.lookup("pool", seed["pool"]) is None:
                raise InputError("cloud_init.pool", "storage pool %r does not exist" % seed["pool"])
            have = (observed or {}).get("cloud_init")
            if observed is None or have["exists"] or self.params["cloud_init_apply"]:
                out["disks"].append(self._seed_disk(seed, out["disks"]))
        # The hypervisor type: virt_type, else the type the user's XML names, else (auto) what the
        # host runs best for a new guest; a defined guest keeps its own. Resolved the same way at
        # creation and on every rerun, so that a run never undoes the previous one.
        option = "virt_type" if desired["virt_type"] != "auto" else "xml"
        explicit = desired["virt_type"] if option == "virt_type" else \
            (desired["xml"].get("type") if desired["xml"] is not None else None)
        out["explicit_type"] = explicit
        if explicit:
            if observed is None or observed["xml"].get("type") != explicit:
                self.check_virt_type(option, explicit, desired)
            out["guest_type"] = explicit
        elif observed is None:
            out["guest_type"], out["tcg_fallback"] = self.resolve_virt_type(desired)
        out["machines"] = self._machines(caps) if self._names_machine(desired) else {}
        self._check_vcpus(desired, observed, out["guest_type"], caps)
        return out

    def _check_vcpus(self, desired, observed, guest_type, caps):
        """The vCPU count the guest would have against the limits of its machine type on this host
        (<vcpu max> of libvirt's domain capabilities, read once per arch, machine and type), and
        QEMU's rule that more than 255 x86 vCPUs need an IOMMU with extended interrupt mode;
        libvirt checks both only when it defines the guest."""
        xml = desired["xml"]
        given = [(option, desired.get(option)) for option in ("max_vcpus", "vcpus")]
        if xml is not None and (xml.findtext("vcpu") or "").strip().isdigit():
            given.append(("xml", int(xml.findtext("vcpu"))))
        option, count = max(((o, c) for o, c in given if c is not None), key=lambda oc: oc[1], default=(None, 0))
        if option is None or self.params["uri"].startswith("test"):
            return

        def pick(path, attribute, value):
            for root in (xml, observed["xml"] if observed else None):
                found = root.find(path) if root is not None and value is None else None
                value = found.get(attribute) if found is not None else value
            return value

        arch = pick("os/type", "arch", desired.get("arch"))
        machine = pick("os/type", "machine", desired.get("machine"))
        virt_type = guest_type or (observed["xml"].get("type") if observed else None)
        key = "domcaps %s %s %s" % (arch, machine, virt_type)
        if key not in caps:
            try:
                root = from_string(self.conn.getDomainCapabilities(None, arch, machine, virt_type, 0))
                caps[key] = (int(root.find("vcpu").get("max")), root.findtext("arch"), root.findtext("machine"))
            except (libvirt.libvirtError, AttributeError, TypeError, ValueError):
                caps[key] = None  # no capabilities to go by: libvirt has the last word
        if caps[key] is None:
            return
        limit, arch, machine = caps[key]
        if count > limit:
            raise InputError(option, "%d vCPUs are more than the %s machine type %s takes on this host (at most %d)"
                             % (count, arch, machine, limit))
        eim = xml is not None and xml.find("devices/iommu/driver[@eim='on']") is not None
        if count > 255 and arch in ("x86_64", "i686") and not eim:
            raise InputError(option, "%d vCPUs: more than 255 need an IOMMU with extended interrupt mode; add "
                                     "<iommu model='intel'><driver intremap='on' eim='on'/></iommu> under "
                                     "<devices> in xml" % count)

    def _resolve_disk(self, i, d, out):
        """A disk's volume: made when it does not exist (of `size`, or from a template: `backing`,
        `clone_from`), grown in place when `size` is larger than it is. `size` is a minimum: a
        larger volume (a clone of a larger template) is kept as it is, never shrunk."""
        if not d.get("pool"):
            return d
        where = "disks[%d]" % i
        pool = self.lookup("pool", d["pool"])
        if pool is None:
            raise InputError(where + ".pool", "storage pool %r does not exist" % d["pool"])
        vol = _volume(pool, d["volume"])
        if vol is None:
            template_key = "backing" if d.get("backing") else "clone_from" if d.get("clone_from") else None
            if d.get("size") is None and template_key is None:
                raise InputError(where + ".volume", "volume %r is not in pool %r; set size to "
                                 "create it" % (d["volume"], d["pool"]))
            d = dict(d, format=d.get("format") or "qcow2")
            if template_key:
                template = _volume(pool, d[template_key])
                if template is None:
                    raise InputError("%s.%s" % (where, template_key), "no volume %r in pool %s to make %s from"
                                     % (d[template_key], d["pool"], d["volume"]))
                d["size"] = max(d.get("size") or 0, template.info()[1])
                if template_key == "backing":
                    d["backing_store"] = {"path": template.path(), "format": volume_format(template) or "raw"}
            out["new_volumes"].append(d)
            return d
        capacity = vol.info()[1]
        if d.get("size") is not None and d["size"] > capacity:
            out["grow_volumes"].append(dict(d, capacity=capacity))
        if d.get("format") is None:
            return dict(d, format=volume_format(vol) or "raw")
        return d

    @staticmethod
    def _seed_disk(seed, disks):
        """The seed's read-only disk, on the first free target of its bus."""
        bus = "sata" if seed["device"] == "cdrom" else "virtio"
        used, n = {d["target"] for d in disks}, 0
        while dx.disk_target(bus, n) in used:
            n += 1
        return {"pool": seed["pool"], "volume": seed["volume"], "device": seed["device"], "bus": bus,
                "format": "raw", "readonly": True, "target": dx.disk_target(bus, n)}

    @staticmethod
    def _names_machine(desired):
        os_type = desired["xml"].find("os/type") if desired["xml"] is not None else None
        return bool(desired.get("machine") or (os_type is not None and os_type.get("machine")))

    def resolve_virt_type(self, desired):
        """(hypervisor type, whether auto fell back to TCG) for `desired`'s virt_type."""
        if desired["virt_type"] != "auto":
            return desired["virt_type"], False
        uri = self.params["uri"]
        if uri.startswith("xen"):
            return "xen", False
        if uri.startswith("test"):
            return "test", False
        try:
            self.conn.getDomainCapabilities(None, desired.get("arch"), desired.get("machine"), "kvm")
            usable = not _is_local(uri) or kvm_usable_here()
        except libvirt.libvirtError:
            usable = False
        return ("kvm", False) if usable else ("qemu", True)

    def check_virt_type(self, option, virt_type, desired):
        """A hypervisor type the host cannot run is an input error, found before anything changes."""
        if virt_type not in ("kvm", "qemu", "xen") or self.params["uri"].startswith("test"):
            return
        uri = self.params["uri"]
        try:
            self.conn.getDomainCapabilities(None, desired.get("arch"), desired.get("machine"), virt_type)
        except libvirt.libvirtError as exc:
            raise InputError(option, "this host cannot run %s guests (%s); use virt_type %s"
                             % (virt_type, exc.get_error_message(), "qemu" if virt_type == "kvm" else "auto"))
        if virt_type == "kvm" and _is_local(uri) and not kvm_usable_here():
            raise InputError(option, "this host cannot run kvm guests: its CPU runs under a hypervisor that does "
                                     "not pass hardware virtualisation on (no vmx/svm flag), and KVM guests hang "
                                     "there; use virt_type qemu (emulation) or auto")

    def _machines(self, caps):
        """Machine alias -> canonical name ('pc' -> 'pc-i440fx-7.2'), from the host capabilities,
        read once per task (`caps` is shared by the items of a batch)."""
        if "machines" not in caps:
            caps["machines"] = {}
            try:
                root = from_string(self.conn.getCapabilities())
            except libvirt.libvirtError:
                return caps["machines"]
            for machine in root.iter("machine"):
                if machine.get("canonical") and machine.text:
                    caps["machines"][machine.text.strip()] = machine.get("canonical")
        return caps["machines"]

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        name = desired["name"]
        plan = Plan(None)  # plan.after is set below
        if desired["state"] == "absent":
            plan.after = None
            if observed is not None:
                ops().plan_absent(self, plan, observed)
            return plan

        if desired["tcg_fallback"]:
            plan.warnings.append("virt_type=auto: KVM is not usable on this host (no hardware virtualisation "
                                 "reachable), so the guest uses QEMU emulation (TCG), which is much slower")
        want = self._want(desired, new=observed is None)
        base = observed["xml"] if observed else etree.Element("domain")
        if observed and desired.get("uuid") and observed["xml"].findtext("uuid") != desired["uuid"]:
            raise InputError("uuid", "guest %s exists with UUID %s; a UUID cannot change"
                             % (name, observed["xml"].findtext("uuid")))
        if self._settled(want, observed):
            merged, xml_changed = _copy(base), False
        else:
            merged = _fixups(dx.normalise(dx.merge(_copy(base), want)), desired, base)
            xml_changed = observed is None or dx.canonical(merged) != dx.canonical(observed["xml"])

        state = observed["state"] if observed else SHUTDOWN
        active = state in (RUNNING, PAUSED)
        seed = self._plan_seed(plan, desired, observed, active)
        for d in desired["new_volumes"]:
            how = " (linked clone of %s)" % d["backing"] if d.get("backing") else \
                " (copy of %s)" % d["clone_from"] if d.get("clone_from") else ""
            plan.step("create volume %s in pool %s%s" % (d["volume"], d["pool"], how),
                      lambda d=d: ops().create_volume(self.lookup("pool", d["pool"]), d),
                      undo=lambda d=d: self.lookup("pool", d["pool"]).storageVolLookupByName(d["volume"]).delete(0))
        for d in desired["grow_volumes"]:
            plan.step("grow volume %s in pool %s from %s to %s%s" % (
                d["volume"], d["pool"], format_size(d["capacity"]), format_size(d["size"]),
                " (live, as disk %s)" % d["target"] if active and observed and dx.has_pool_disk(observed["xml"], d) else ""),
                lambda d=d: ops().grow_volume(self, name, d))

        if observed is None:
            if merged.find("memory") is None:
                raise InputError("memory", "required to define the new guest %s" % name)
            if merged.findtext("os/type") == "xen" and merged.find("os/kernel") is None \
                    and merged.find("bootloader") is None:
                raise InputError("kernel", "a new Xen PV guest (os_type=xen) boots a kernel, or a "
                                           "<bootloader> given in xml; set kernel")
            plan.step("define guest %s" % name, lambda: self._define(plan, desired, merged, want),
                      undo=lambda: self._undefine_new(name))
        elif xml_changed and active:
            ops().plan_live(self, plan, desired, observed, merged)
        elif xml_changed:
            self.plan_define(plan, desired, observed)
            # a guest woken from S3, or kept after a crash, runs the old definition until restarted
            plan.restart_required = (state == PMSUSPENDED and desired["state"] != "shutdown") or \
                (state == CRASHED and desired["state"] == "present")

        autostart = self.plan_autostart(plan, desired.get("autostart"), bool(observed and observed["autostart"]),
                                        name, lambda: self.guest(name))

        after_state = self._plan_state(plan, desired, state)
        if self.params.get("wait_for") == "marker" and (
                after_state == RUNNING and state in (SHUTDOWN, CRASHED) or desired["state"] == "rebooted"):
            # a boot of this run: an earlier boot's marker in an appended log does not count
            self.serial_since = waits().log_start(merged)
        if plan.restart_required and after_state == RUNNING and desired["state"] == "rebooted":
            plan.restart_required = False
        if plan.restart_required:
            plan.warnings.append("guest %s: the changed configuration takes effect when it is restarted "
                                 "(state=rebooted)" % name)
        plan.after = {"xml": merged, "state": after_state, "autostart": autostart}
        if seed is not None:
            plan.after["cloud_init"] = seed
        return plan

    def _plan_seed(self, plan, desired, observed, active):
        """Write the NoCloud seed of a new guest. A guest that exists keeps the seed it booted with:
        a task whose cloud_init differs is reported, and the seed rebuilt (with a new instance-id,
        so that cloud-init runs again on the next boot) only with cloud_init_apply. The seed's
        state after the run."""
        want = desired.get("cloud_init")
        if want is None:
            return None
        have = observed["cloud_init"] if observed else {"pending": True, "exists": False}
        if not have["pending"]:
            return have
        name, where = desired["name"], "%s/%s" % (want["pool"], want["volume"])
        if observed is not None and not self.params["cloud_init_apply"]:
            plan.warnings.append("guest %s: cloud_init differs from its seed %s (instance-id %s); the guest keeps "
                                 "it. Set cloud_init_apply=true to rebuild the seed with a new instance-id, so "
                                 "that cloud-init runs again on the next boot" % (name, where, have["instance_id"]))
            return have
        plan.step("write cloud-init seed %s of guest %s" % (where, name),
                  lambda: ci().write_seed(self.conn, want["pool"], want["volume"], want["files"]),
                  undo=None if have["exists"] else lambda: ci().remove_seed(self.conn, want["pool"], want["volume"]))
        if active:
            plan.warnings.append("guest %s: the rebuilt cloud-init seed is read on its next boot" % name)
        return {"seed": where, "exists": True, "instance_id": want["instance_id"], "pending": False}

    @staticmethod
    def _want(desired, new=False):
        """The desired <domain> tree; `guest_type` None keeps the defined guest's hypervisor type."""
        want = dx.build(dict(desired, virt_type=desired["guest_type"]), desired["xml"], new)
        os_type = want.find("os/type")
        if os_type is not None and os_type.get("machine"):
            # libvirt stores the versioned machine ('pc' -> 'pc-i440fx-7.2'): compare like with like
            os_type.set("machine", desired["machines"].get(os_type.get("machine"), os_type.get("machine")))
        return want

    def guest(self, name):
        return self.conn.lookupByName(name)

    def plan_define(self, plan, desired, observed):
        old = dx.tostring(observed["xml"])
        plan.step("redefine guest %s" % desired["name"], lambda: self._redefine(plan, desired),
                  undo=lambda: self.conn.defineXML(old))

    def _redefine(self, plan, desired):
        """Merge onto the definition as it is *now* (a live attach may just have changed it)."""
        fresh = self.read(self.guest(desired["name"]))
        want = self._want(desired)
        merged = _fixups(dx.normalise(dx.merge(_copy(fresh["xml"]), want)), desired, fresh["xml"])
        if dx.canonical(merged) != dx.canonical(fresh["xml"]):
            self._define(plan, desired, merged, want)

    # ------------------------------------------------------------ what libvirt made of the input
    def _define(self, plan, desired, merged, want):
        """Define `merged`, then read back what libvirt stored. Where it dropped or rewrote part of
        the input (a default it does not write down, a value it canonicalises), comparing the
        input with the definition would redefine the guest on every run; instead the guest's
        metadata records that this input gave this definition, a warning names what libvirt
        did not keep of what the user wrote, and the next run with the same input and an
        untouched guest has nothing to do."""
        dom = self.conn.defineXML(dx.tostring(merged))
        stored = self.read(dom, state=SHUTDOWN, autostart=False)["xml"]
        if not dx.missing(stored, merged):
            return
        lost = dx.missing(stored, want)
        if lost:
            plan.warnings.append("guest %s: libvirt did not store these parts of the definition as given: %s. It "
                                 "ignored or rewrote them; the module takes this input as applied and does not "
                                 "redefine the guest for them again" % (desired["name"], "; ".join(lost)))
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                        dx.record_xml(self._input_digest(desired), dx.digest(stored)),
                        "virtcloud", dx.VCT, libvirt.VIR_DOMAIN_AFFECT_CONFIG)

    def _input_digest(self, desired):
        """The input as a rerun sees it (a defined guest gets no new-guest defaults, its type is
        the one the input names, if any)."""
        return dx.digest(self._want(dict(desired, guest_type=desired.get("explicit_type")), new=False))

    @staticmethod
    def _settled(want, observed):
        """The guest is what libvirt made of this very input, and nothing changed it since. For a
        defined guest the plan's `want` is the input as _input_digest sees it (no new-guest
        defaults; resolve sets the type the input names, or none)."""
        record = observed and observed.get("record")
        return bool(record) and record == (dx.digest(want), dx.digest(observed["xml"]))

    def _plan_state(self, plan, desired, state):
        name, want = desired["name"], desired["state"]
        if want == "present":
            return state  # present keeps the run state, also crashed or pmsuspended
        if state == CRASHED:
            # The guest's kernel is dead: resuming it would run the panic on, and nothing in it
            # answers the power button. Power it off, then go on from shut off.
            plan.step("power off crashed guest %s" % name, lambda: ops().power_off(self.guest(name)))
            state = SHUTDOWN
        elif state == PMSUSPENDED and want in ("running", "paused"):
            # (shutdown and rebooted wake it up inside the graceful shutdown)
            plan.step("wake up guest %s" % name, lambda: ops().wake_up(self.guest(name)))
            state = RUNNING
        if want == "running":
            if state == SHUTDOWN:
                plan.step("start guest %s" % name, lambda: self._start(name))
            elif state == PAUSED:
                plan.step("resume guest %s" % name, lambda: self._start(name, resume=True))
            return RUNNING
        if want == "paused":
            if state == SHUTDOWN:
                plan.step("start guest %s paused" % name,
                          lambda: self.guest(name).createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED))
            elif state == RUNNING:
                plan.step("pause guest %s" % name, lambda: self.guest(name).suspend())
            return PAUSED
        if want == "shutdown":
            if state != SHUTDOWN:
                plan.step("shut down guest %s" % name, lambda: ops().shutdown(self, self.guest(name)))
            return SHUTDOWN
        # rebooted: off and on again, not a guest reboot: only a new QEMU process picks up changed config
        if state != SHUTDOWN:
            plan.step("shut down guest %s" % name, lambda: ops().shutdown(self, self.guest(name)))
        plan.step("start guest %s" % name, lambda: self.guest(name).create())  # a restart: never skipped
        return RUNNING

    def _start(self, name, resume=False):
        """Start (or resume) the guest. When libvirt refuses because the guest already runs, another
        run started it meanwhile (two runs of one task): the state asked for holds, and the step is
        done, not failed (a failure would roll back, and so undefine, the guest that run made)."""
        dom = self.guest(name)
        try:
            if resume:
                dom.resume()
            else:
                dom.create()
        except libvirt.libvirtError:
            if dom.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
                raise

    def _undefine_new(self, name):
        """Undo of defining a new guest: undefine it, unless it runs (another run of the same task
        started it meanwhile: it is that run's guest now, and undefining a running guest would make
        it vanish when it stops)."""
        dom = self.conn.lookupByName(name)
        if dom.isActive():
            raise BackendError("guest %s is running (started by another run?): left as it is" % name)
        ops().undefine(dom)

    # ------------------------------------------------------------ report
    def facts(self, state):
        if state is None:
            return {}
        out = dx.facts(state["xml"])
        out["state"] = state["state"]
        out["autostart"] = state["autostart"]
        out["memory"] = format_size(out["memory"])
        out["current_memory"] = format_size(out["current_memory"])
        if "cloud_init" in state:
            out["cloud_init"] = dict(state["cloud_init"])
        return out

    def settle(self, state):
        if not self.params.get("wait_for") or self.params["state"] == "absent":
            return {}
        return waits().wait(self.guest(self.params["name"]), self.params["wait_for"],
                            self.params["wait_timeout"], self.params.get("wait_marker"), self.serial_since)


def _copy(el):
    return copy.deepcopy(el)


def ci():
    """cloud_init, imported when a task sets it (see ops)."""
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import cloud_init

    return cloud_init


def waits():
    """guest_wait, imported when a task sets wait_for (see ops)."""
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import guest_wait

    return guest_wait


def ops():
    """domain_ops, imported when a plan needs it (see its docstring)."""
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_ops

    return domain_ops


def _fixups(root, desired, base):
    """What an overlay (it only adds) cannot express: firmware=bios takes UEFI away, and the
    vCPU count is set outright (a plugged count equal to the maximum drops `current`). Without
    max_vcpus the guest keeps its maximum, so fewer vCPUs are unplugged live rather than
    shrinking the maximum (which needs a restart)."""
    if desired.get("vcpus") is not None:
        limit = desired.get("max_vcpus")
        if limit is None:
            have = base.find("vcpu") if base is not None else None
            limit = max(desired["vcpus"], int(have.text) if have is not None and (have.text or "").isdigit() else 0)
        dx.set_vcpus(root, desired["vcpus"], limit)
        dx.normalise(root.find("vcpu"))
    os_el = root.find("os")
    if desired.get("firmware") == "bios" and os_el is not None:
        os_el.attrib.pop("firmware", None)
        for tag in ("loader", "nvram"):
            for el in os_el.findall(tag):
                os_el.remove(el)
    return root


def _volume(pool, name):
    try:
        return pool.storageVolLookupByName(name)
    except libvirt.libvirtError:
        return None
