# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How DomainService changes a running guest (live attach/detach, vCPUs, memory, metadata), shuts
one down, creates its new volumes and removes a guest.

domain.py imports this module only when a plan needs it (`ops()`): every module run compiles
all the code it imports, and the common runs (nothing to do, define, start) need none of it.
"""

from __future__ import annotations

import copy
import time

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size
from ansible_collections.virtcloud.core.plugins.module_utils.common.wait import WaitTimeout, wait_for
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml as dx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage_xml import volume_xml
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import etree


def plan_live(service, plan, desired, observed, merged):
    """A running guest: disks and NICs attach/detach live (+config), current memory is set live;
    whatever else differs goes to the persistent config and needs a restart."""
    name = desired["name"]
    live = copy.deepcopy(observed["xml"])
    for tag in ("disk", "interface"):
        have = observed["xml"].findall("devices/" + tag)
        pairs = dx.match(observed["xml"].find("devices"), _only(merged.find("devices"), tag))
        matched = [pair[1] for pair in pairs if pair[1] is not None]
        for oc, bc in pairs:
            if bc is None:
                xml = dx.tostring(oc)
                label = _label(oc)
                plan.step("attach %s to running guest %s" % (label, name),
                          lambda xml=xml: service.guest(name).attachDeviceFlags(xml, _LIVE_CONFIG()),
                          undo=lambda xml=xml: service.guest(name).detachDeviceFlags(xml, _LIVE_CONFIG()))
                live.find("devices").append(copy.deepcopy(oc))
            elif oc.get("device") == "cdrom" and dx.canonical(oc) != dx.canonical(bc):
                # new medium in a CD-ROM drive: swapped live, like pressing eject and inserting
                xml = dx.tostring(oc)
                plan.step("change medium of %s of running guest %s" % (_label(oc), name),
                          lambda xml=xml: service.guest(name).updateDeviceFlags(xml, _LIVE_CONFIG()))
                for el in live.findall("devices/disk"):
                    if dx.identity(el) == dx.identity(oc):
                        el.getparent().replace(el, copy.deepcopy(oc))
        for bc in have:
            if not any(bc is m for m in matched):
                xml = dx.tostring(bc)
                plan.step("detach %s from running guest %s" % (_label(bc), name),
                          lambda xml=xml: service.guest(name).detachDeviceFlags(xml, _LIVE_CONFIG()))
                for el in live.findall("devices/" + tag):
                    if dx.canonical(el) == dx.canonical(bc):
                        el.getparent().remove(el)
                        break
    vcpu_want, vcpu_have = merged.find("vcpu"), observed["xml"].find("vcpu")
    if vcpu_want is not None and vcpu_have is not None and vcpu_want.text == vcpu_have.text and \
            vcpu_want.get("current") != vcpu_have.get("current"):
        # within the maximum, vCPUs are hot-plugged / unplugged
        count = int(vcpu_want.get("current") or vcpu_want.text)
        plan.step("set vCPUs of running guest %s to %d" % (name, count),
                  lambda: service.guest(name).setVcpusFlags(count, _LIVE_CONFIG()))
        live.replace(live.find("vcpu"), copy.deepcopy(vcpu_want))
    cur_want, cur_have = merged.find("currentMemory"), observed["xml"].find("currentMemory")
    if cur_want is not None and cur_have is not None and cur_want.text != cur_have.text and \
            merged.findtext("memory") == observed["xml"].findtext("memory"):
        kib = int(cur_want.text)
        plan.step("set memory of running guest %s to %s" % (name, format_size(kib * 1024)),
                  lambda: service.guest(name).setMemoryFlags(kib, _LIVE_CONFIG()))
        live.find("currentMemory").text = cur_want.text
    for tag, kind in (("title", "VIR_DOMAIN_METADATA_TITLE"), ("description", "VIR_DOMAIN_METADATA_DESCRIPTION")):
        if merged.findtext(tag) != observed["xml"].findtext(tag):
            # shown at once by virsh list --title / virt-manager; the define below keeps it
            text = merged.findtext(tag)
            plan.step("set %s of running guest %s" % (tag, name),
                      lambda kind=kind, text=text: service.guest(name).setMetadata(
                          getattr(libvirt, kind), text, None, None, libvirt.VIR_DOMAIN_AFFECT_LIVE))
    if dx.canonical(live) != dx.canonical(merged):
        service.plan_define(plan, desired, observed)
        # title and description are metadata: nothing in the running guest depends on them
        plan.restart_required = dx.canonical(_strip_metadata(live)) != dx.canonical(_strip_metadata(merged))


def shutdown(service, dom):
    if not dom.isActive():
        return
    timeout = service.params["shutdown_timeout"]
    state = dom.state()[0]
    if state == libvirt.VIR_DOMAIN_CRASHED:
        dom.destroy()  # a crashed guest has nothing left to shut down gracefully
        return
    if state == libvirt.VIR_DOMAIN_PAUSED:
        dom.resume()  # a paused guest cannot see the power button
    elif state == libvirt.VIR_DOMAIN_PMSUSPENDED:
        wake_up(dom)  # nor can a sleeping one
    probe = _pressing_again(dom, PRESS_AGAIN if state == libvirt.VIR_DOMAIN_PMSUSPENDED else None)
    try:
        dom.shutdown()
    except libvirt.libvirtError:
        if not service.params["force"]:
            raise
    try:
        wait_for(probe, lambda state: state == libvirt.VIR_DOMAIN_SHUTOFF, timeout,
                 "guest %s to shut down (shutdown_timeout)" % dom.name(), describe=_state_name)
    except WaitTimeout as exc:
        if not service.params["force"]:
            raise BackendError("%s; does it handle ACPI power button events? Set force=true to power it off"
                               % exc.msg)
        dom.destroy()


def power_off(dom):
    """Pull the plug (virsh destroy), if there is anything left to pull."""
    if dom.isActive():
        dom.destroy()


# seconds: QEMU resumes a guest from S3 at once; libvirt says so when the guest runs again
WAKE_UP_TIMEOUT = 30


def wake_up(dom):
    """Wake a guest that suspended itself to RAM (S3) up and wait until it runs."""
    dom.pMWakeup(0)
    awake = (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED)
    wait_for(lambda: dom.state()[0], lambda state: state in awake, WAKE_UP_TIMEOUT,
             "guest %s to wake up" % dom.name(), describe=_state_name,
             fail=lambda state: None if state == libvirt.VIR_DOMAIN_PMSUSPENDED else
             "guest %s did not wake up: it is %s" % (dom.name(), _state_name(state)))


# seconds between power button presses for a guest that has just woken up
PRESS_AGAIN = 5


def _pressing_again(dom, every):
    """A probe of the run state of `dom` that presses its power button again every `every` seconds
    (None: never). A woken guest needs it: libvirt says it runs as soon as QEMU resumes it, while
    its kernel is still resuming its devices, and Linux drops a power button press seen meanwhile."""
    pressed = [time.monotonic()]

    def probe():
        state = dom.state()[0]
        if every is not None and state != libvirt.VIR_DOMAIN_SHUTOFF and time.monotonic() - pressed[0] >= every:
            pressed[0] = time.monotonic()
            try:
                dom.shutdown()
            except libvirt.libvirtError:
                pass  # it went off meanwhile; the next look says so
        return state
    return probe


# virDomainState, in the order of its values
_STATES = ("no state", "running", "blocked", "paused", "shutting down", "shut off", "crashed", "suspended by the guest")


def _state_name(code):
    return _STATES[code] if 0 <= code < len(_STATES) else "state %d" % code


def create_volume(pool, d):
    """A guest's new disk volume: empty, a linked clone (d["backing_store"]) or a full copy of
    d["clone_from"], at least d["size"]."""
    xml = volume_xml(d["volume"], d["size"], d["format"], backing=d.get("backing_store"))
    if d.get("clone_from"):
        vol = pool.createXMLFrom(xml, pool.storageVolLookupByName(d["clone_from"]), 0)
        if vol.info()[1] < d["size"]:  # a copy comes at its template's size
            vol.resize(d["size"], 0)
    else:
        pool.createXML(xml, 0)


def grow_volume(service, name, d):
    """Grow the volume of disk spec d to d["size"] in place: through the guest when it runs with the
    disk (QEMU holds the image open and locked), else the volume itself."""
    dom = service.lookup("domain", name)
    if dom is not None and dom.isActive() and dx.has_pool_disk(etree.fromstring(dom.XMLDesc(0)), d):
        dom.blockResize(d["target"], d["size"], libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        return
    service.lookup("pool", d["pool"]).storageVolLookupByName(d["volume"]).resize(d["size"], 0)


def plan_absent(service, plan, observed):
    name = observed["xml"].findtext("name")
    if observed["state"] != dx.SHUTDOWN:
        plan.step("power off guest %s" % name, lambda: service.guest(name).destroy())
    if service.params.get("remove_storage"):
        from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.cloud_init import seed_volume

        seed = seed_volume(name)  # the guest's NoCloud seed (cloud_init) goes with it
        for d in observed["xml"].findall("devices/disk"):
            source = d.find("source")
            if (d.get("device", "disk") != "disk" or d.find("readonly") is not None) and \
                    (source is None or source.get("volume") != seed):
                continue
            plan.step("delete storage %s of guest %s" % (_label(d), name),
                      lambda d=d: delete_storage(service, d, plan))
    plan.step("undefine guest %s" % name, lambda: undefine(service.guest(name)))


def delete_storage(service, disk, plan):
    source = disk.find("source")
    if source is None:
        return
    try:
        if source.get("pool"):
            vol = service.conn.storagePoolLookupByName(source.get("pool")).storageVolLookupByName(
                source.get("volume"))
        else:
            vol = service.conn.storageVolLookupByPath(source.get("file") or source.get("dev"))
    except libvirt.libvirtError:
        # Only what libvirt manages is deleted: a loose file or a device is not ours to remove.
        plan.warnings.append("%s is not a libvirt storage volume; it was left in place" % _label(disk))
        return
    vol.delete(0)


def undefine(dom):
    """Undefine with everything that belongs to the guest; drivers that do not know a flag
    (no NVRAM or checkpoints there) are asked again with the flags they support."""
    base = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    full = base | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    unsupported = (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG)
    for flags in (full, base):
        try:
            return dom.undefineFlags(flags)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() not in unsupported:
                raise
    return dom.undefine()


def _only(devices, tag):
    """A copy of <devices> holding only its `tag` children."""
    out = etree.Element("devices")
    for el in devices.findall(tag):
        out.append(copy.deepcopy(el))
    return out


def _strip_metadata(root):
    out = copy.deepcopy(root)
    for tag in ("title", "description"):
        for el in out.findall(tag):
            out.remove(el)
    return out


def _label(el):
    if el.tag == "disk":
        target, source = el.find("target"), el.find("source")
        where = ""
        if source is not None:
            where = " (%s)" % (source.get("file") or source.get("dev") or
                               "%s/%s" % (source.get("pool"), source.get("volume")))
        return "disk %s%s" % (target.get("dev") if target is not None else "?", where)
    source, mac = el.find("source"), el.find("mac")
    src = source.get("network") or source.get("bridge") or source.get("dev") if source is not None else "?"
    return "NIC %s on %s" % (mac.get("address") if mac is not None else "(new MAC)", src)


def _LIVE_CONFIG():
    return libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
