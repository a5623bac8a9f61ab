# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt storage pools and volumes: capacity facts, thin/thick provisioning, the overcommit
guard; the XML model is storage_xml."""

from __future__ import annotations

import os
import tempfile

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import (
    InfoService,
    Opt,
    Plan,
    differences,
    name_opt,
    state_opt,
)
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size, parse_size
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService, libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage_xml import parse_pool, render_pool, volume_xml
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import LXML_REQUIREMENT, persistent_xml, volume_format
from ansible_collections.virtcloud.core.plugins.module_utils.storage import qemu_img

POOL_TYPES = ["dir", "logical", "netfs", "iscsi"]
# where a pool's volumes appear when the user gives no target path
DEFAULT_TARGET = {"iscsi": "/dev/disk/by-path"}
SOURCE = {
    "host": Opt(),
    "port": Opt(type="int"),
    "dir": Opt(),
    "devices": Opt(type="list", elements="str"),
    "name": Opt(),
    "format": Opt(),
    "iqn": Opt(),
    "initiator": Opt(),
}
# which source fields each pool type needs / may have
SOURCE_FIELDS = {
    "dir": ((), ()),
    "logical": ((), ("devices", "name", "format")),
    "netfs": (("host", "dir"), ("format", "port")),
    "iscsi": (("host", "iqn"), ("port", "initiator")),
}
VOLUME_FORMATS = ["qcow2", "raw"]
PREALLOCATION = ["none", "metadata", "falloc", "full"]
SECTOR = 512


# ---------------------------------------------------------------- capacity facts
def pool_usage(pool):
    """Capacity facts of an active pool, the sum of its volumes' virtual sizes and their overcommit."""
    capacity, allocation, available = pool.info()[1:]
    volumes = [volume_facts(vol, pool.name()) for vol in pool.listAllVolumes()]
    virtual = sum(v["capacity"] for v in volumes)
    return {"capacity": capacity, "allocation": allocation, "available": available,
            "virtual_size": virtual, "overcommit": round(virtual / capacity, 3) if capacity else None,
            "volumes": sorted(volumes, key=lambda v: v["name"])}


def volume_facts(vol, pool_name):
    capacity, allocation = vol.info()[1:]
    return {"name": vol.name(), "pool": pool_name, "path": vol.path(), "key": vol.key(),
            "format": volume_format(vol),
            "capacity": capacity, "allocation": allocation,
            # a fully allocated volume behaves as thick whatever made it so
            "provisioning": "thick" if capacity and allocation >= capacity else "thin"}


def _source(params):
    return {k: v for k, v in (params or {}).items() if v is not None} or None


# ---------------------------------------------------------------- pool service
class StoragePoolService(LibvirtService):
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    result_key = "pool"
    options = {
        "name": name_opt(),
        "state": state_opt(["present", "absent"]),
        "type": Opt(choices=POOL_TYPES),
        "path": Opt(update="restart"),
        "source": Opt(type="dict", options=SOURCE, update="restart"),
        "build": Opt(type="bool", default=False),
        "active": Opt(type="bool", default=True),
        "autostart": Opt(type="bool"),
        "refresh": Opt(type="bool", default=False),
        "delete_data": Opt(type="bool", default=False),
    }

    def desired(self):
        p = self.params
        d = dict(p)
        self.check_name(d["name"])
        if p["state"] == "absent":
            return d
        d["source"] = _source(p["source"])
        if d["path"] is not None:
            if not os.path.isabs(d["path"]):
                raise InputError("path", "must be an absolute path, got %r" % d["path"])
            d["path"] = os.path.normpath(d["path"])
        if p["type"] is not None:
            self.complete(d, p["type"], creating=False)
        return d

    def pool(self, name):
        return self.lookup("pool", name)

    @staticmethod
    def complete(d, kind, creating):
        """Check the source fields a `kind` pool takes and fill libvirt's defaults (in `d`, a copy
        the caller owns). What a new pool needs (its source, a target path) is only required when
        creating: on an existing pool an omitted option is not managed."""
        source = d["source"] or {}
        required, optional = SOURCE_FIELDS[kind]
        if source or creating:
            for field in required:
                if not source.get(field):
                    raise InputError("source", "a %s pool needs source.%s" % (kind, field))
            extra = sorted(set(source) - set(required) - set(optional))
            if extra:
                raise InputError("source", "a %s pool takes no source.%s" % (kind, ", source.".join(extra)))
        if kind == "netfs" and source and not source.get("format"):
            source["format"] = "auto"  # what libvirt stores when none is given
        if kind == "logical" and (source or creating):
            if not source.get("name") and not source.get("devices"):
                raise InputError("source", "a logical pool needs source.name (volume group) or source.devices")
            if source.get("name") and not source.get("format"):
                source["format"] = "lvm2"
        if creating:
            default = "/dev/%s" % (source.get("name") or d["name"]) if kind == "logical" else DEFAULT_TARGET.get(kind)
            d["path"] = d["path"] or default
            if not d["path"]:
                raise InputError("path", "a %s pool needs the target path (directory) of its volumes" % kind)

    def observe(self, desired, batch=None):
        pool = self.pool(desired["name"])
        if pool is None:
            return None
        state = parse_pool(persistent_xml(pool, libvirt.VIR_STORAGE_XML_INACTIVE))
        state["active"] = bool(pool.isActive())
        state["autostart"] = bool(pool.autostart())
        if state["active"] and desired.get("refresh"):
            # a rescan, not a change: volumes made outside libvirt become visible
            pool.refresh(0)
        state.update(self._usage(pool, state["active"]))
        return state

    def resolve(self, desired, observed, batch=None):
        """The pool type (an existing pool keeps its own) and the defaults that type fills in."""
        if desired["state"] == "absent":
            return desired
        kind = desired["type"] or (observed["type"] if observed else "dir")
        out = dict(desired, type=kind, source=dict(desired["source"]) if desired["source"] else None)
        self.complete(out, kind, creating=observed is None)
        return out

    @staticmethod
    def _usage(pool, active):
        if not active:
            return {"capacity": None, "allocation": None, "available": None, "volumes": None}
        usage = pool_usage(pool)
        usage["volumes"] = len(usage["volumes"])
        del usage["virtual_size"], usage["overcommit"]
        return usage

    def plan(self, desired, observed):
        name = desired["name"]
        plan = Plan(observed)
        if desired["state"] == "absent":
            plan.after = None
            if observed is None:
                return plan
            if observed["active"]:
                plan.step("stop pool %s" % name, lambda: self.pool(name).destroy())
            if desired["delete_data"]:
                plan.step("delete the data of pool %s (%s)" % (name, observed["path"]),
                          lambda: self.pool(name).delete(0))
            plan.step("undefine pool %s" % name, lambda: self.pool(name).undefine())
            return plan

        if observed is None:
            plan.after = {"name": name, "uuid": None, "type": desired["type"], "path": desired["path"],
                          "source": desired["source"], "active": desired["active"], "autostart": False,
                          "capacity": None, "allocation": None, "available": None,
                          "volumes": 0 if desired["active"] else None}
            xml = render_pool(plan.after)
            plan.step("define pool %s" % name, lambda: self.conn.storagePoolDefineXML(xml, 0),
                      undo=lambda: self.pool(name).undefine())
            # building a dir/netfs pool only makes its directory; building a logical one formats
            # its devices, which must be asked for
            if desired["type"] in ("dir", "netfs") or desired["build"]:
                plan.step("build pool %s" % name, lambda: self.pool(name).build(0))
            if desired["active"]:
                plan.step("start pool %s" % name, lambda: self.pool(name).create(0),
                          undo=lambda: self.pool(name).destroy())
            self._plan_autostart(plan, desired, False)
            return plan

        if desired["type"] != observed["type"]:
            raise InputError("type", "pool %s exists as a %s pool; remove it first to make it %s"
                                     % (name, observed["type"], desired["type"]))
        plan.changes = differences(self.options, desired, observed)
        plan.after = dict(observed)
        redefine = [c.option for c in plan.changes]
        if redefine:
            plan.after.update((c.option, c.after) for c in plan.changes)
            xml = render_pool(plan.after)
            plan.step("redefine pool %s (%s)" % (name, ", ".join(redefine)),
                      lambda: self.conn.storagePoolDefineXML(xml, 0))
            if observed["active"] and desired["active"]:
                plan.restart_required = True
                plan.warnings.append("pool %s: %s applies when the pool is restarted (virsh pool-destroy + "
                                     "pool-start); its volumes stay" % (name, ", ".join(redefine)))
        if desired["active"] and not observed["active"]:
            plan.step("start pool %s" % name, lambda: self.pool(name).create(0))
            plan.after.update(capacity=None, allocation=None, available=None)
        elif not desired["active"] and observed["active"]:
            plan.step("stop pool %s" % name, lambda: self.pool(name).destroy())
            plan.after.update(capacity=None, allocation=None, available=None, volumes=None)
        plan.after["active"] = desired["active"]
        self._plan_autostart(plan, desired, observed["autostart"])
        return plan

    def _plan_autostart(self, plan, desired, current):
        name = desired["name"]
        plan.after["autostart"] = self.plan_autostart(plan, desired["autostart"], current, "pool %s" % name,
                                                      lambda: self.pool(name))


# ---------------------------------------------------------------- volume service
class VolumeService(LibvirtService):
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    result_key = "volume"
    options = {
        "name": name_opt(),
        "pool": Opt(required=True),
        "state": state_opt(["present", "absent"]),
        "capacity": Opt(type="raw", aliases=["size"]),
        "format": Opt(choices=VOLUME_FORMATS),
        "preallocation": Opt(default="none", choices=PREALLOCATION),
        "allow_shrink": Opt(type="bool", default=False),
        "clone_from": Opt(),
        "upload": Opt(type="path"),
        "upload_format": Opt(choices=qemu_img.INPUT_FORMATS),
        "max_overcommit": Opt(type="float"),
        "wipe": Opt(type="bool", default=False),
    }
    module_kwargs = {"mutually_exclusive": [("clone_from", "upload")], "required_by": {"upload_format": "upload"}}

    def desired(self):
        p = self.params
        d = dict(p)
        self.check_name(d["name"], limit=255)
        if p["state"] == "absent":
            return d
        d["capacity"] = parse_size(p["capacity"], "capacity")
        if d["capacity"] is not None:
            if d["capacity"] == 0:
                raise InputError("capacity", "must be more than 0 bytes")
            # qemu-img rounds sizes up to whole sectors; doing it here keeps reruns idempotent
            d["capacity"] = -(-d["capacity"] // SECTOR) * SECTOR
        if p["max_overcommit"] is not None and p["max_overcommit"] <= 0:
            raise InputError("max_overcommit", "must be a positive ratio such as 1.0 or 2.5")
        fmt = p["format"] or "qcow2"
        if p["preallocation"] == "metadata" and fmt != "qcow2":
            raise InputError("preallocation", "metadata preallocation exists for qcow2 only; use falloc or "
                                              "full for %s" % fmt)
        if p["preallocation"] == "full" and fmt == "qcow2":
            raise InputError("preallocation", "libvirt cannot create a fully written qcow2; use falloc "
                                              "(space reserved) or format raw")
        if p["upload"] is not None:
            if not os.path.isfile(p["upload"]):
                raise InputError("upload", "%s is not a file" % p["upload"])
            d["upload"] = os.path.abspath(p["upload"])  # qemu-img reads no 'proto:' prefix in an absolute path
        return d

    def observe(self, desired, batch=None):
        vol = self.volume(desired["pool"], desired["name"])
        return None if vol is None else volume_facts(vol, desired["pool"])

    def volume(self, pool_name, name):
        """The volume, or None; the pool must exist and be active (else an InputError on `pool`)."""
        pool = self.lookup("pool", pool_name)
        if pool is None:
            raise InputError("pool", "storage pool %r does not exist (virtcloud.core.libvirt_pool)" % pool_name)
        if not pool.isActive():
            raise InputError("pool", "storage pool %r is not active; start it first" % pool_name)
        try:
            return pool.storageVolLookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return None
            raise

    def resolve(self, desired, observed, batch=None):
        """What a new or grown volume is made from: the size of the volume it clones or of the
        image it uploads, and the pool's usage when max_overcommit guards it."""
        if desired["state"] == "absent":
            return desired
        out = dict(desired, source_capacity=None, usage=None)
        if observed is None and desired["clone_from"]:
            source = self.volume(desired["pool"], desired["clone_from"])
            if source is None:
                raise InputError("clone_from", "no volume %r in pool %s" % (desired["clone_from"], desired["pool"]))
            out["source_capacity"] = source.info()[1]
        elif observed is None and desired["upload"]:
            image = qemu_img.source_info(desired["upload"], "upload", desired["upload_format"])
            out.update(source_capacity=image["virtual-size"], upload_image=image)
        if desired["max_overcommit"] is not None:
            out["usage"] = pool_usage(self.lookup("pool", desired["pool"]))
        return out

    def plan(self, desired, observed):
        name, pool = desired["name"], desired["pool"]
        plan = Plan(observed)
        if desired["state"] == "absent":
            plan.after = None
            if observed is not None:
                if desired["wipe"]:
                    plan.step("wipe volume %s/%s" % (pool, name), lambda: self.volume(pool, name).wipe(0))
                plan.step("delete volume %s/%s" % (pool, name), lambda: self.volume(pool, name).delete(0))
            return plan
        if observed is None:
            return self._plan_create(plan, desired)

        if desired["format"] and desired["format"] != observed["format"]:
            raise InputError("format", "volume %s/%s exists as %s; it is not converted in place (delete it, or "
                                       "convert a copy with virtcloud.core.disk_image)"
                                       % (pool, name, observed["format"], ))
        plan.after = dict(observed)
        want, have = desired["capacity"], observed["capacity"]
        if want is not None and want != have:
            if want < have and not desired["allow_shrink"]:
                raise InputError("capacity", "%s is smaller than the volume's %s; shrinking loses the data at "
                                             "the end of the disk. Set allow_shrink=true if you mean it"
                                             % (format_size(want), format_size(have)))
            if want > have:
                self._guard(desired, want - have)
            flags = libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK if want < have else 0
            if desired["preallocation"] in ("falloc", "full") and observed["format"] == "raw":
                flags |= libvirt.VIR_STORAGE_VOL_RESIZE_ALLOCATE
            plan.step("%s volume %s/%s to %s" % ("shrink" if want < have else "grow", pool, name,
                                                 format_size(want)),
                      lambda: self.volume(pool, name).resize(want, flags))
            plan.after.update(capacity=want, allocation=None)
        return plan

    def _plan_create(self, plan, desired):
        name, pool = desired["name"], desired["pool"]
        fmt = desired["format"] or "qcow2"
        capacity = desired["capacity"]
        if desired["source_capacity"] is not None:  # a clone or an upload
            capacity = max(capacity or 0, desired["source_capacity"])
        elif capacity is None:
            raise InputError("capacity", "required to create volume %s/%s (e.g. 20GiB)" % (pool, name))
        self._guard(desired, capacity)

        prealloc = desired["preallocation"]
        allocation = capacity if prealloc in ("falloc", "full") else 0
        # libvirt turns qemu-img's preallocation on with this flag: metadata when allocation is
        # below capacity, falloc when it equals it
        flags = libvirt.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA if fmt == "qcow2" and prealloc != "none" else 0
        xml = volume_xml(name, capacity, fmt, allocation)
        how = "clone of %s" % desired["clone_from"] if desired["clone_from"] else (
            "upload of %s" % desired["upload"] if desired["upload"] else "%s, %s" % (format_size(capacity), prealloc))
        plan.after = {"name": name, "pool": pool, "path": None, "key": None, "format": fmt,
                      "capacity": capacity, "allocation": None,
                      "provisioning": "thick" if allocation else "thin"}

        def create():
            target = self.lookup("pool", pool)
            if desired["clone_from"]:
                vol = target.createXMLFrom(xml, target.storageVolLookupByName(desired["clone_from"]), flags)
            else:
                vol = target.createXML(xml, flags)
            if desired["upload"]:
                self._upload(vol, desired["upload"], desired["upload_image"]["format"], fmt)
            # a clone or an upload comes at its source's size whatever the XML asked for
            if vol.info()[1] < capacity:
                vol.resize(capacity, 0)
            if prealloc == "full":
                # fallocate only reserves blocks; full preallocation writes them
                vol.wipe(libvirt.VIR_STORAGE_VOL_WIPE_ALG_ZERO)

        plan.step("create volume %s/%s (%s)" % (pool, name, how), create,
                  undo=lambda: self.volume(pool, name).delete(0))
        return plan

    def _guard(self, desired, extra):
        limit = desired["max_overcommit"]
        if limit is None:
            return
        usage = desired["usage"]
        ratio = (usage["virtual_size"] + extra) / usage["capacity"] if usage["capacity"] else float("inf")
        if ratio > limit:
            raise InputError("max_overcommit", "adding %s to pool %s would make its volumes' virtual sizes "
                                               "%.2f times its capacity (%s), above the limit %s; nothing was "
                                               "changed" % (format_size(extra), desired["pool"], ratio,
                                                            format_size(usage["capacity"]), limit))

    def _upload(self, vol, path, src_fmt, fmt):
        """Stream the image (checked by qemu_img.source_info in resolve) into the volume,
        converted to the volume's format first when needed."""
        with tempfile.TemporaryDirectory(prefix="virtcloud-upload-") as tmp:
            if src_fmt != fmt:
                converted = os.path.join(tmp, "image." + fmt)
                qemu_img.run("convert", "-f", src_fmt, "-O", fmt, path, converted)
                path = converted
            size = os.path.getsize(path)
            stream = self.conn.newStream(0)
            vol.upload(stream, 0, size, 0)
            with open(path, "rb") as src:
                stream.sendAll(lambda _stream, nbytes, f: f.read(nbytes), src)
            stream.finish()


# ---------------------------------------------------------------- storage_info
class StorageInfoService(InfoService, LibvirtService):
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    result_key = "pools"
    options = {
        "name": Opt(),
        "refresh": Opt(type="bool", default=False),
    }

    def observe(self, desired, batch=None):
        pools = []
        for pool in self.conn.listAllStoragePools(0):
            if desired["name"] and pool.name() != desired["name"]:
                continue
            state = parse_pool(persistent_xml(pool, libvirt.VIR_STORAGE_XML_INACTIVE))
            state["active"] = bool(pool.isActive())
            state["autostart"] = bool(pool.autostart())
            if state["active"]:
                if desired["refresh"]:
                    pool.refresh(0)
                state.update(pool_usage(pool))
            pools.append(state)
        if desired["name"] and not pools:
            raise InputError("name", "storage pool %r does not exist" % desired["name"])
        return sorted(pools, key=lambda p: p["name"])
