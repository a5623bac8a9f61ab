# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt domain XML as data: build it from a spec, merge it semantically, parse it into facts.

Pure functions over lxml trees, no libvirt connection, so they are unit-tested on their own.

How a desired domain is compared with the defined one, without ever comparing text:

- `build(spec, extra, new)` turns the modelled options into a <domain> tree on top of the user's own
  `xml` (the modelled options win). Elements built from options are marked `replace`: when the
  defined element does not already contain them they replace it whole (keeping the generated
  <address>/<mac> libvirt gave it), so e.g. a disk that moves from a file to a pool volume does
  not end up with both sources. Lists the user fully owns (disks, NICs, boot order) are marked
  `own` on their parent: defined entries the spec no longer lists are dropped.
- `merge(observed, desired)` overlays the desired tree on the defined (inactive) one. Everything
  libvirt filled in or generated (UUID, MACs, PCI addresses, auto-added controllers, default
  machine type) is kept because it is simply not touched.
- The domain needs a change exactly when `canonical(merged) != canonical(observed)`, where
  `canonical` is the canonical (C14N) serialisation, devices sorted, after `normalise` removed
  representational differences (memory units, MAC case, hex addresses, whitespace).
"""

from __future__ import annotations

import copy
import hashlib

from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import child, etree

VCT = "urn:virtcloud:core"
MODE = "{%s}mode" % VCT    # 'replace' on elements built from options
OWN = "{%s}own" % VCT      # space separated child tags whose list the spec owns

KIB = {"b": 1.0 / 1024, "bytes": 1.0 / 1024, "k": 1, "kib": 1, "kb": 1000.0 / 1024, "m": 1024,
       "mib": 1024, "mb": 1e6 / 1024, "g": 1024 ** 2, "gib": 1024 ** 2, "gb": 1e9 / 1024,
       "t": 1024 ** 3, "tib": 1024 ** 3, "tb": 1e12 / 1024}

# dom.state() codes -> the words of the `state` option (domain.run_state); here so that domain and
# the lazily imported domain_ops share them without importing each other
RUNNING, PAUSED, SHUTDOWN = "running", "paused", "shutdown"

DISK_PREFIX = {"virtio": "vd", "sata": "sd", "scsi": "sd", "usb": "sd", "ide": "hd", "xen": "xvd"}


# ---------------------------------------------------------------- small helpers
def sub(parent, tag, text=None, **attrs):
    el = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = str(text)
    return el


def replaceable(el):
    el.set(MODE, "replace")
    return el


def own(parent, *tags):
    parent.set(OWN, " ".join(sorted(set((parent.get(OWN) or "").split()) | set(tags))))


def tostring(root):
    """XML for libvirt: our private marks removed."""
    clean = copy.deepcopy(root)
    for el in clean.iter(etree.Element):
        el.attrib.pop(MODE, None)
        el.attrib.pop(OWN, None)
    etree.cleanup_namespaces(clean)
    return etree.tostring(clean, encoding="unicode")


def disk_target(bus, index):
    """vda, vdb, ... vdz, vdaa like libvirt names them."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("a") + rest) + name
    return DISK_PREFIX.get(bus, "sd") + name


# ---------------------------------------------------------------- normalise
# Text kept exactly as the user wrote it (libvirt stores it verbatim); all other text is trimmed.
FREE_TEXT = ("description",)

# Attribute values that only restate libvirt's default: it stores them as no attribute at all, so
# <driver cache='default'/> and <driver/> are the same definition. (What is not listed here is learned,
# see DomainService._define.)
DROPPED_DEFAULTS = {
    "driver": {"cache": "default"},
    "graphics": {"defaultMode": "any", "sharePolicy": "default"},
    "target": {"tray": "closed"},
}


def normalise(root):
    """Remove representational differences in place; returns root:
    sizes in one unit, hexadecimal numbers in decimal, UUIDs and MACs in lower case, attributes
    that only restate libvirt's default dropped, layout whitespace gone."""
    for el in root.iter(etree.Element):
        tag = el.tag
        if el.text is not None and not el.text.strip():
            el.text = None
        elif el.text is not None and tag not in FREE_TEXT:
            el.text = el.text.strip()
        el.tail = None
        if el.get("unit") and tag != "address":
            _scaled(el)
        if tag == "vcpu" and el.text is not None and el.get("current") == el.text:
            del el.attrib["current"]  # all vCPUs plugged: libvirt leaves `current` out
        elif tag == "mac" and el.get("address"):
            el.set("address", el.get("address").lower())
        elif tag == "uuid" and el.text:
            el.text = el.text.lower()
        elif tag == "address":
            for key, value in el.attrib.items():
                if key != "type" and value[:1].isdigit():
                    try:
                        el.set(key, str(int(value, 0)))
                    except ValueError:
                        pass
        for key, value in DROPPED_DEFAULTS.get(tag, {}).items():
            if el.get(key) == value:
                del el.attrib[key]
        for key in CPU_SETS:
            if key in el.attrib:
                el.set(key, cpu_set(el.get(key)))
    return root


CPU_SETS = ("cpuset", "nodeset", "cpus")  # attributes holding a set of CPUs or NUMA nodes


def cpu_set(text):
    """'1,0,2-3,^2' as libvirt writes the set: '0-1,3'; text that is no set is returned as is."""
    members = set()
    try:
        for part in text.replace(" ", "").split(","):
            negate = part.startswith("^")
            bounds = part.lstrip("^").split("-", 1)
            span = set(range(int(bounds[0]), int(bounds[-1]) + 1))
            members = members - span if negate else members | span
    except ValueError:
        return text
    runs, out = sorted(members), []
    while runs:
        end = 0
        while end + 1 < len(runs) and runs[end + 1] == runs[end] + 1:
            end += 1
        out.append(str(runs[0]) if end == 0 else "%d-%d" % (runs[0], runs[end]))
        runs = runs[end + 1:]
    return ",".join(out)


def _scaled(el):
    """<x unit='GiB'>1</x> (or a size/memory attribute with a unit) as KiB, the unit libvirt
    stores; a quantity that is not a whole number of KiB in bytes."""
    factor = KIB.get(el.get("unit").lower())
    if factor is None:
        return
    key = next((k for k in ("memory", "size") if k in el.attrib), None) if el.text is None else None
    value = el.get(key) if key else el.text
    if not value or not value.isdigit():
        return
    size = int(value) * factor * 1024
    if abs(size - round(size)) > 1e-6:
        return
    size = int(round(size))
    amount, unit = (str(size // 1024), "KiB") if size % 1024 == 0 else (str(size), "B")
    if key:
        el.set(key, amount)
    else:
        el.text = amount
    el.set("unit", unit)


def canonical(el):
    """A comparable form of a tree that `normalise` has cleaned: attribute order, comments and the
    order of devices (libvirt orders them itself) do not count, nor do the marks of `build`.

    The exclusive C14N serialisation, with the children of <devices> serialised one by one and
    sorted: done by libxml2, which is several times faster than walking the tree in Python."""
    devices = el if el.tag == "devices" else el.find("devices")
    if devices is None:
        out = _c14n(el)
    else:
        kids = sorted(_c14n(kid) for kid in devices if isinstance(kid.tag, str))
        shell = etree.Element(devices.tag, devices.attrib)
        if devices is el:
            out = _c14n(shell) + b"".join(kids)
        else:  # serialise el without <devices>, then put it back where it was
            position = el.index(devices)
            el.remove(devices)
            try:
                out = _c14n(el) + _c14n(shell) + b"".join(kids)
            finally:
                el.insert(position, devices)
    if VCT.encode() in out and _marked(el):  # marks of build(): no part of the data
        clean = copy.deepcopy(el)
        etree.strip_attributes(clean, MODE, OWN)
        etree.cleanup_namespaces(clean)
        return canonical(clean)
    return out


def _marked(el):
    """Whether build()'s marks are on el or below it (our namespace may also hold data, such as the
    record ova_import keeps in <metadata>)."""
    return any(node.get(MODE) is not None or node.get(OWN) is not None for node in el.iter(etree.Element))


def _c14n(el):
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


# ---------------------------------------------------------------- matching
def identity(el):
    """What makes a repeated element the same one across definitions: a tuple whose None parts
    are what the element leaves to libvirt (a bus, a port, an index), or None when unknown."""
    tag = el.tag
    if tag == "disk":
        target = el.find("target")
        return (target.get("dev"),) if target is not None else None
    if tag == "interface":
        mac = el.find("mac")
        return (mac.get("address").lower(),) if mac is not None and mac.get("address") else None
    if tag == "controller":
        return (el.get("type"), el.get("index"))
    if tag in ("serial", "console", "parallel", "channel"):
        target = el.find("target")
        if target is None:
            return None
        return (target.get("port"), target.get("name"), target.get("type") if tag == "channel" else None)
    if tag in ("graphics",):
        return (el.get("type"),)
    if tag == "input":
        return (el.get("type"), el.get("bus"))
    if tag == "filesystem":
        target = el.find("target")
        return (target.get("dir"),) if target is not None else None
    return None


def _fits(key, other):
    """Whether an element with identity `other` can be the one with identity `key`: every part
    the key names is the same (the parts it leaves out are whatever libvirt filled in)."""
    return other is not None and all(k is None or k == o for k, o in zip(key, other))


# Under <devices>, an element without identity is a new device unless the defined domain has one
# that already contains it (or, for these, one of the same kind: there is only ever one).
SINGLE_DEVICES = ("emulator", "memballoon", "video", "watchdog", "panic", "tpm", "sound", "audio")


def _same_source(a, b):
    sa, sb = a.find("source"), b.find("source")
    return a.get("type") == b.get("type") and dict((sa if sa is not None else {}).items()) == \
        dict((sb if sb is not None else {}).items())


def _likeness(base, overlay):
    """How much of what overlay says base says too: matching attributes, recursively."""
    score = sum(1 for k, v in overlay.attrib.items() if base.get(k) == v)
    for oc in overlay:
        if isinstance(oc.tag, str):
            bc = base.find(oc.tag)
            if bc is not None:
                score += 1 + _likeness(bc, oc)
    return score


def match(base, overlay):
    """Pair each child of overlay with a distinct child of base (or None).

    In order: by identity (the parts the overlay names), by containment (the defined element says
    all the overlay's one says and more), and for a device without identity that is still
    unpaired, the most alike unpaired device of the same kind: libvirt changed how it is written,
    it is not a new one. Only what is left after that is new."""
    used = set()
    pairs = []
    candidates = [c for c in base if isinstance(c.tag, str)]
    in_devices = base.tag == "devices"
    later = []
    for oc in overlay:
        if not isinstance(oc.tag, str):
            continue
        same = [c for c in candidates if c.tag == oc.tag and id(c) not in used]
        found = None
        key = identity(oc)
        if key is not None and any(part is not None for part in key):
            fitting = [c for c in same if _fits(key, identity(c))]
            found = next((c for c in fitting if contains(c, oc)), fitting[0] if fitting else None)
        else:
            found = next((c for c in same if contains(c, oc)), None)
            if found is None and oc.tag == "interface":  # a NIC with a generated MAC: by what it plugs into
                found = next((c for c in same if _same_source(c, oc)), None)
            if found is None and (not in_devices or oc.tag in SINGLE_DEVICES):
                found = same[0] if same else None
            if found is None and in_devices:
                later.append(len(pairs))
        if found is not None:
            used.add(id(found))
        pairs.append((oc, found))
    for index in later:
        oc = pairs[index][0]
        spare = [c for c in candidates if c.tag == oc.tag and id(c) not in used]
        if spare:
            found = max(spare, key=lambda c: _likeness(c, oc))
            used.add(id(found))
            pairs[index] = (oc, found)
    return pairs


def contains(base, overlay):
    """True when base already says everything overlay says."""
    if base.tag != overlay.tag:
        return False
    for key, value in overlay.attrib.items():
        if key in (MODE, OWN):
            continue
        if base.get(key) != value:
            return False
    if (overlay.text or "").strip() and _text(overlay) != _text(base):
        return False
    for oc, bc in match(base, overlay):
        if bc is None or not contains(bc, oc):
            return False
    owned = (overlay.get(OWN) or "").split()
    if owned:
        matched = {id(pair[1]) for pair in match(base, overlay) if pair[1] is not None}
        if any(c.tag in owned and id(c) not in matched for c in base if isinstance(c.tag, str)):
            return False
    return True


def _text(el):
    return el.text or "" if el.tag in FREE_TEXT else (el.text or "").strip()


# ---------------------------------------------------------------- merge
KEEP_ON_REPLACE = ("address", "mac", "alias")


def merge(base, overlay):
    """Overlay `overlay` onto `base` in place (see the module docstring); returns base."""
    for key, value in overlay.attrib.items():
        if key not in (MODE, OWN):
            base.set(key, value)
    if (overlay.text or "").strip():
        base.text = overlay.text if overlay.tag in FREE_TEXT else overlay.text.strip()
    keep = []  # the elements (not ids: lxml proxies may be recreated) the overlay accounts for
    for oc, bc in match(base, overlay):
        if bc is None:
            new = _fresh(oc)
            base.append(new)
            keep.append(new)
        elif oc.get(MODE) == "replace" and not contains(bc, oc):
            new = _fresh(oc)
            for tag in KEEP_ON_REPLACE:
                kept = bc.find(tag)
                if kept is not None and new.find(tag) is None:
                    new.append(copy.deepcopy(kept))
            base.replace(bc, new)
            keep.append(new)
        else:
            if oc.get(MODE) != "replace":
                merge(bc, oc)
            keep.append(bc)
    owned = (overlay.get(OWN) or "").split()
    for c in list(base):
        if isinstance(c.tag, str) and c.tag in owned and not any(c is k for k in keep):
            base.remove(c)
    return base


def _fresh(el):
    new = copy.deepcopy(el)
    for e in new.iter(etree.Element):
        e.attrib.pop(MODE, None)
        e.attrib.pop(OWN, None)
    return new


# ---------------------------------------------------------------- build
def build(spec, extra=None, new=False):
    """The desired <domain> tree from a normalised spec (see DomainService.desired) and the
    user's own XML root (or None). `new`: the guest is yet to be defined, so it also gets the
    defaults a guest needs (an HVM guest, with ACPI); a defined guest keeps what it has where no
    option says otherwise."""
    root = copy.deepcopy(extra) if extra is not None else etree.Element("domain")
    normalise(root)
    if spec.get("virt_type"):
        root.set("type", spec["virt_type"])
    name = child(root, "name")
    name.text = spec["name"]
    if spec.get("uuid"):
        child(root, "uuid").text = spec["uuid"]
    for key in ("title", "description"):
        if spec.get(key) is not None:
            child(root, key).text = spec[key]
    if spec.get("memory") is not None:
        mem = child(root, "memory")
        mem.text, mem.attrib["unit"] = str(spec["memory"] // 1024), "KiB"
        cur = child(root, "currentMemory")
        cur.text, cur.attrib["unit"] = str((spec.get("current_memory") or spec["memory"]) // 1024), "KiB"
    if spec.get("vcpus") is not None:
        set_vcpus(root, spec["vcpus"], spec.get("max_vcpus"))
    if spec.get("cpu_mode"):
        old = root.find("cpu")
        if old is not None:
            root.remove(old)
        replaceable(sub(root, "cpu", mode=spec["cpu_mode"]))

    os_el = child(root, "os")
    os_type = os_el.find("type")
    if os_type is None:
        os_type = etree.Element("type")
        os_el.insert(0, os_type)
    if spec.get("os_type") or (new and not os_type.text):
        os_type.text = spec.get("os_type") or "hvm"  # a defined guest keeps its own (xen: PV)
    for key in ("arch", "machine"):
        if spec.get(key):
            os_type.set(key, spec[key])
    if spec.get("firmware") == "uefi":
        os_el.set("firmware", "efi")
    for key in ("kernel", "initrd", "cmdline"):
        if spec.get(key) is not None:
            child(os_el, key).text = spec[key]
    if spec.get("boot") is not None:
        for old in os_el.findall("boot"):
            os_el.remove(old)
        for dev in spec["boot"]:
            sub(os_el, "boot", dev=dev)
        own(os_el, "boot")
    if new and os_type.text == "hvm":
        # ACPI is what makes PCI hot-plug and graceful (power button) shutdown work.
        features = child(root, "features")
        child(features, "acpi")
        child(features, "apic")

    devices = child(root, "devices")
    if spec.get("disks") is not None:
        _replace_all(devices, "disk", [disk_xml(d) for d in spec["disks"]])
    if spec.get("nics") is not None:
        _replace_all(devices, "interface", [nic_xml(n) for n in spec["nics"]])
    if spec.get("graphics") is not None:
        _replace_all(devices, "graphics", [graphics_xml(spec["graphics"])] if spec["graphics"] else [])
    if spec.get("serial") is not None:
        _replace_all(devices, "serial", [serial_xml(spec["serial"])] if spec["serial"] else [])
    if spec.get("guest_agent"):
        channel = replaceable(sub(devices, "channel", type="unix"))
        sub(channel, "target", type="virtio", name="org.qemu.guest_agent.0")
    return root


def set_vcpus(root, vcpus, max_vcpus=None):
    """<vcpu current='N'>MAX</vcpu>: the count is the maximum, `current` how many are plugged.
    Set outright (not overlaid) because a `current` that is no longer wanted must go."""
    el = child(root, "vcpu")
    el.text = str(max_vcpus or vcpus)
    if max_vcpus and vcpus < max_vcpus:
        el.set("current", str(vcpus))
    else:
        el.attrib.pop("current", None)


def _replace_all(devices, tag, elements):
    for old in devices.findall(tag):
        devices.remove(old)
    for el in elements:
        devices.append(replaceable(el))
    own(devices, tag)


def disk_xml(d):
    kind = "volume" if d.get("pool") else ("block" if (d.get("path") or "").startswith("/dev/") else "file")
    el = etree.Element("disk", type=kind, device=d["device"])
    driver = sub(el, "driver", name="qemu", type=d.get("format"), cache=d.get("cache"))
    if not driver.attrib.get("type"):
        driver.attrib.pop("type", None)
    if kind == "volume":
        sub(el, "source", pool=d["pool"], volume=d["volume"])
    elif d.get("path"):
        sub(el, "source", **{"file" if kind == "file" else "dev": d["path"]})
    sub(el, "target", dev=d["target"], bus=d["bus"])
    if d.get("readonly"):
        sub(el, "readonly")
    return el


def nic_xml(n):
    if n.get("network"):
        el = etree.Element("interface", type="network")
        sub(el, "source", network=n["network"])
    elif n.get("direct"):
        el = etree.Element("interface", type="direct")
        sub(el, "source", dev=n["direct"], mode=n.get("direct_mode") or "bridge")
    else:
        el = etree.Element("interface", type="bridge")
        sub(el, "source", bridge=n.get("ovs_bridge") or n.get("bridge"))
    if n.get("mac"):
        sub(el, "mac", address=n["mac"].lower())
    if n.get("ovs_bridge"):
        sub(el, "virtualport", type="openvswitch")
    if n.get("vlan") is not None:
        sub(sub(el, "vlan"), "tag", id=n["vlan"])
    if n.get("model"):
        sub(el, "model", type=n["model"])
    return el


def graphics_xml(g):
    el = etree.Element("graphics", type=g["type"])
    if g.get("port") in (None, -1):
        el.set("port", "-1")
        el.set("autoport", "yes")
    else:
        el.set("port", str(g["port"]))
        el.set("autoport", "no")
    el.set("listen", g["listen"])
    if g.get("password"):
        el.set("passwd", g["password"])
    sub(el, "listen", type="address", address=g["listen"])
    return el


def serial_xml(s):
    el = etree.Element("serial", type=s["type"])
    if s["type"] == "file":
        sub(el, "source", path=s["path"])
    sub(el, "target", port=0)
    return el


# ---------------------------------------------------------------- facts
def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _kib(root, tag):
    el = root.find(tag)
    if el is None or not (el.text or "").strip():
        return None
    factor = KIB.get((el.get("unit") or "KiB").lower(), 1)
    return int(round(int(el.text) * factor)) * 1024


def has_pool_disk(root, d):
    """Whether the domain `root` has the pool volume of disk spec `d` (pool, volume) as its disk
    d["target"]."""
    for disk in root.iterfind("devices/disk"):
        source, target = disk.find("source"), disk.find("target")
        if source is not None and target is not None and target.get("dev") == d["target"] \
                and (source.get("pool"), source.get("volume")) == (d["pool"], d["volume"]):
            return True
    return False


def disk_facts(el):
    source = el.find("source")
    source = dict(source.attrib) if source is not None else {}
    target = el.find("target")
    driver = el.find("driver")
    return {
        "target": target.get("dev") if target is not None else None,
        "bus": target.get("bus") if target is not None else None,
        "device": el.get("device", "disk"),
        "type": el.get("type"),
        "path": source.get("file") or source.get("dev"),
        "pool": source.get("pool"),
        "volume": source.get("volume"),
        "format": driver.get("type") if driver is not None else None,
        "cache": driver.get("cache") if driver is not None else None,
        "readonly": el.find("readonly") is not None,
    }


def nic_facts(el):
    source = el.find("source")
    source = dict(source.attrib) if source is not None else {}
    mac, model, vport, tag = el.find("mac"), el.find("model"), el.find("virtualport"), el.find("vlan/tag")
    ovs = vport is not None and vport.get("type") == "openvswitch"
    kind = el.get("type")
    return {
        "type": "ovs_bridge" if ovs else kind,
        "mac": mac.get("address") if mac is not None else None,
        "network": source.get("network"),
        "bridge": source.get("bridge"),
        "source": source.get("network") or source.get("bridge") or source.get("dev"),
        "vlan": _int(tag.get("id")) if tag is not None else None,
        "model": model.get("type") if model is not None else None,
    }


def facts(root):
    """Readable facts of a <domain> tree (never secrets: graphics passwords are left out)."""
    os_el = root.find("os")
    os_type = os_el.find("type") if os_el is not None else None
    cpu = root.find("cpu")

    def text(path):
        el = root.find(path)
        return el.text.strip() if el is not None and el.text else None

    graphics = [{"type": g.get("type"), "listen": g.get("listen"), "port": _int(g.get("port")),
                 "password_set": g.get("passwd") is not None}
                for g in root.findall("devices/graphics")]
    serials = []
    for s in root.findall("devices/serial"):
        source = s.find("source")
        serials.append({"type": s.get("type"), "path": source.get("path") if source is not None else None})
    return {
        "name": text("name"),
        "uuid": text("uuid"),
        "title": text("title"),
        "description": text("description"),
        "virt_type": root.get("type"),
        "os_type": os_type.text if os_type is not None else None,
        "arch": os_type.get("arch") if os_type is not None else None,
        "machine": os_type.get("machine") if os_type is not None else None,
        "firmware": "uefi" if os_el is not None and (os_el.get("firmware") == "efi" or
                                                     os_el.find("loader") is not None) else "bios",
        "memory": _kib(root, "memory"),
        "current_memory": _kib(root, "currentMemory") or _kib(root, "memory"),
        "vcpus": _int(root.find("vcpu").get("current") or text("vcpu")) if root.find("vcpu") is not None else None,
        "max_vcpus": _int(text("vcpu")),
        "cpu_mode": cpu.get("mode") if cpu is not None else None,
        "boot": [b.get("dev") for b in os_el.findall("boot")] if os_el is not None else [],
        "kernel": text("os/kernel"),
        "initrd": text("os/initrd"),
        "cmdline": text("os/cmdline"),
        "disks": [disk_facts(d) for d in root.findall("devices/disk")],
        "nics": [nic_facts(n) for n in root.findall("devices/interface")],
        "graphics": graphics,
        "serial": serials,
        "guest_agent": any(t.get("name") == "org.qemu.guest_agent.0"
                           for t in root.findall("devices/channel/target")),
    }


# ---------------------------------------------------------------- what libvirt did with the input
SETTLED = "{%s}settled" % VCT


def take_record(root):
    """Remove the module's record from a stored definition's <metadata> (it is no part of the
    guest) and return it as (input digest, output digest), or None."""
    meta = root.find("metadata")
    record = meta.find(SETTLED) if meta is not None else None
    if record is None:
        return None
    meta.remove(record)
    if not len(meta):
        root.remove(meta)
    return record.get("input"), record.get("output")


def record_xml(input_digest, output_digest):
    """The record for virDomainSetMetadata: this input was applied and libvirt stored that output."""
    return '<settled input="%s" output="%s"/>' % (input_digest, output_digest)  # libvirt sets the namespace


def digest(root):
    return hashlib.sha256(canonical(root)).hexdigest()[:32]


def missing(base, overlay, path=None):
    """What overlay says that base does not (dropped or changed by libvirt), as readable paths
    like devices/disk[vda]/driver/@cache='none' (relative to the root)."""
    here = "" if path is None else (path + "/" if path else "") + _step(overlay)
    out = []
    for key, value in overlay.attrib.items():
        if key not in (MODE, OWN) and base.get(key) != value:
            out.append("%s@%s=%r" % (here + "/" if here else "", etree.QName(key).localname, value))
    if (overlay.text or "").strip() and _text(overlay) != _text(base):
        out.append("%s text %r" % (here or "/", overlay.text))
    for oc, bc in match(base, overlay):
        if bc is None:
            out.append((here + "/" if here else "") + _step(oc))
        else:
            out.extend(missing(bc, oc, here))
    return out


def _step(el):
    key = identity(el)
    name = etree.QName(el).localname
    if key is None or not any(part is not None for part in key):
        return name
    return "%s[%s]" % (name, ",".join(str(part) for part in key if part is not None))
