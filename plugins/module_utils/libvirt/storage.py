# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt storage pools and volumes: capacity facts, thin/thick provisioning, the overcommit
guard; the XML model is storage_xml."""

from __future__ import annotations

import contextlib
import os
import re
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
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import storage_xml as sx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import xmlmerge
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage_xml import (
    marker_name,
    parse_pool,
    render_pool,
    volume_xml,
)
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import (
    LXML_REQUIREMENT,
    from_string,
    persistent_xml,
    volume_format,
)
from ansible_collections.virtcloud.core.plugins.module_utils.storage import base_image, qemu_img

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
# <target><permissions> of a pool's directory or a volume's file
PERMISSIONS = {
    "owner": Opt(update="live"),
    "group": Opt(update="live"),
    "mode": Opt(type="raw", update="live"),
    "label": Opt(update="live"),
}
# pools whose directory and volumes are local files the module can chown/chmod
FILE_POOLS = ("dir", "fs", "netfs")
# the mount helper libvirt's mount of a netfs pool needs, by source format ('auto' mounts host:dir,
# which is NFS), and the packages that bring it
MOUNT_HELPERS = {"auto": ("mount.nfs", "nfs-common", "nfs-utils"), "nfs": ("mount.nfs", "nfs-common", "nfs-utils"),
                 "cifs": ("mount.cifs", "cifs-utils", "cifs-utils"),
                 "glusterfs": ("mount.glusterfs", "glusterfs-client", "glusterfs-fuse")}
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
    root = from_string(vol.XMLDesc(0))
    fmt = root.find("target/format")
    out = {"name": vol.name(), "pool": pool_name, "path": vol.path(), "key": vol.key(),
           "format": fmt.get("type") if fmt is not None else None,
           "capacity": capacity, "allocation": allocation,
           # a fully allocated volume behaves as thick whatever made it so
           "provisioning": "thick" if capacity and allocation >= capacity else "thin"}
    out.update(sx.permissions(root.find("target")))  # libvirt reads them from the file each time
    return out


# ---------------------------------------------------------------- permissions
def parse_permissions(params):
    """{mode, owner, group, label} from the options (None where not set): mode as libvirt's
    4-digit octal string, owner and group as the numbers libvirt stores (names resolved here)."""
    out = dict.fromkeys(sx.PERMISSION_KEYS)
    mode = params.get("mode")
    if mode is not None:
        if isinstance(mode, bool) or not isinstance(mode, (int, str)):
            raise InputError("mode", "expected an octal string such as '0640', got %r" % (mode,))
        # YAML reads an unquoted 0640 as the number 416: that number is the mode
        value = mode if isinstance(mode, int) else (int(mode.strip(), 8) if re.match(r"^\s*0?[0-7]{1,4}\s*$", mode)
                                                    else None)
        if value is None or not 0 <= value <= 0o7777:
            raise InputError("mode", "%r is not an octal mode 0 to 07777; quote it, e.g. '0640'" % (mode,))
        out["mode"] = "%04o" % value
    for key, lookup in (("owner", _uid), ("group", _gid)):
        value = params.get(key)
        if value is not None:
            value = str(value).strip()
            out[key] = int(value) if value.isdigit() else lookup(key, value)
    if params.get("label") is not None:
        if not params["label"].strip() or "\n" in params["label"]:
            raise InputError("label", "must be a non-empty SELinux context on one line, e.g. "
                                      "'system_u:object_r:svirt_image_t:s0'")
        out["label"] = params["label"].strip()
    return out


def _uid(option, name):
    import pwd

    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        raise InputError(option, "no user %r on this host; give a user name known here or a numeric uid" % name)


def _gid(option, name):
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise InputError(option, "no group %r on this host; give a group name known here or a numeric gid" % name)


def permission_changes(want, have):
    """The permissions set in `want` that differ from `have`: {key: value}."""
    return {key: value for key, value in want.items() if value is not None and (have or {}).get(key) != value}


def describe(perms):
    return ", ".join("%s %s" % (key, perms[key]) for key in sx.PERMISSION_KEYS if key in perms)


def set_file_permissions(path, perms):
    """Apply permissions to a local file or directory: libvirt has no call that changes them on an
    existing volume or pool directory (virStorageVol has no update; a pool's are applied by build)."""
    if perms.get("owner") is not None or perms.get("group") is not None:
        os.chown(path, perms.get("owner", -1) if perms.get("owner") is not None else -1,
                 perms.get("group", -1) if perms.get("group") is not None else -1)
    if perms.get("mode") is not None:
        os.chmod(path, int(perms["mode"], 8))
    if perms.get("label") is not None:
        os.setxattr(path, "security.selinux", perms["label"].encode() + b"\0")


def local_uri(uri):
    """Whether libvirt runs on this host (the module can reach its files)."""
    return "://" in uri and uri.split("://", 1)[1].split("/", 1)[0].split("@")[-1] in ("", "localhost")


class PermissionChecks:
    """Checks shared by pools and volumes before permissions are applied."""

    def check_label(self, perms):
        """A label needs SELinux, which libvirt names in the host capabilities: without it libvirt
        neither applies nor reports labels, so a label could never converge."""
        if perms.get("label") is None:
            return
        models = {m.text for m in from_string(self.conn.getCapabilities()).iterfind("host/secmodel/model")}
        if "selinux" not in models:
            raise InputError("label", "libvirt on this host has no SELinux security model (it has %s); it "
                                      "neither applies nor reports labels" % (", ".join(sorted(models)) or "none"))

    def check_changeable(self, option_names, kind, pool_type, what):
        """Changing permissions of an existing file means chown/chmod here: a local file-backed pool."""
        if not local_uri(self.params["uri"]):
            raise InputError(option_names[0], "%s exists with other permissions; libvirt cannot change them, and "
                                              "the module only can on the host it runs on (uri %s is remote)"
                                              % (what, self.params["uri"]))
        if pool_type not in FILE_POOLS:
            raise InputError(option_names[0], "%s exists with other permissions; libvirt cannot change them, and "
                                              "the module only can for files of dir, fs and netfs pools, not %s %s"
                                              % (what, kind, pool_type))


def _source(params):
    return {k: v for k, v in (params or {}).items() if v is not None} or None


# ---------------------------------------------------------------- pool service
class StoragePoolService(PermissionChecks, LibvirtService):
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
        **PERMISSIONS,
        "xml": Opt(),  # compared by plan, as a merged tree
    }
    MODELLED = ("type", "path", "source") + sx.PERMISSION_KEYS

    def desired(self):
        p = self.params
        d = dict(p)
        self.check_name(d["name"])
        if p["state"] == "absent":
            return d
        d.update(parse_permissions(p))
        d["source"] = _source(p["source"])
        if d["path"] is not None:
            if not os.path.isabs(d["path"]):
                raise InputError("path", "must be an absolute path, got %r" % d["path"])
            d["path"] = os.path.normpath(d["path"])
        if p["type"] is not None:
            self.complete(d, p["type"], creating=False)
        if p.get("xml"):
            d["xml"] = self._xml(p["xml"], d)
        return d

    def _xml(self, text, d):
        """The user's <pool> with the options they also set edited in (the options win), without
        what libvirt reports rather than keeps (capacity, allocation, available), marked for
        xmlmerge.merge."""
        root = sx.strip(xmlmerge.user_xml(text, "pool", d["name"]), sx.POOL_GENERATED)
        if not root.get("type"):
            raise InputError("xml", "<pool> needs its type attribute, e.g. <pool type='dir'>")
        keys = [key for key in self.MODELLED if d[key] is not None]
        if keys:
            state = dict(parse_pool(xmlmerge.tostring(root)), **{key: d[key] for key in keys})
            sx.overlay_pool(root, state, keys)
        return xmlmerge.mark(root, sx.POOL_OWNED)

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
        if desired.get("xml") is not None:
            state["tree"] = xmlmerge.dx.normalise(from_string(persistent_xml(pool, libvirt.VIR_STORAGE_XML_INACTIVE)))
        if state["active"] and desired.get("refresh"):
            # a rescan, not a change: volumes made outside libvirt become visible
            pool.refresh(0)
        state.update(self._usage(pool, state["active"]))
        return state

    def resolve(self, desired, observed, batch=None):
        """The pool type (an existing pool keeps its own) and the defaults that type fills in;
        what the steps need from the host, checked before the first of them: an empty directory
        to delete, the mount helper of a netfs pool to start; whether a new pool's directory is
        there already (else a failed run removes the one its build made)."""
        if desired["state"] == "absent":
            if desired["delete_data"] and observed is not None:
                self._check_empty(desired["name"], observed)
            return desired
        self.check_label(desired)
        if desired.get("xml") is not None:
            out = dict(desired, type=desired["xml"].get("type"))
            new = parse_pool(xmlmerge.tostring(desired["xml"]))
        else:
            kind = desired["type"] or (observed["type"] if observed else "dir")
            out = dict(desired, type=kind, source=dict(desired["source"]) if desired["source"] else None)
            self.complete(out, kind, creating=observed is None)
            new = out
        local = local_uri(self.params["uri"])
        if out["type"] == "netfs" and out["active"] and not (observed or {}).get("active") and local:
            self._check_mount_helper((new.get("source") or (observed or {}).get("source") or {}).get("format"))
        out["made_path"] = observed is None and local and bool(new.get("path")) and not os.path.exists(new["path"])
        return out

    def _check_empty(self, name, observed):
        """Deleting the data of a dir or netfs pool removes its directory, which must be empty:
        refused before the pool is stopped, with the volumes named."""
        if observed["type"] not in FILE_POOLS:
            return
        if observed["active"]:
            names = sorted(vol.name() for vol in self.pool(name).listAllVolumes())
        elif local_uri(self.params["uri"]) and observed["path"] and os.path.isdir(observed["path"]):
            names = sorted(os.listdir(observed["path"]))
        else:
            return
        if names:
            raise InputError("delete_data", "pool %s still holds %s (%s); its data is the directory %s, removed only "
                                            "when empty. Delete them first (virtcloud.core.libvirt_volume "
                                            "state=absent), or set delete_data=false to keep the directory"
                                            % (name, "1 volume" if len(names) == 1 else "%d volumes" % len(names),
                                               ", ".join(names[:10]) + (", ..." if len(names) > 10 else ""),
                                               observed["path"]))

    @staticmethod
    def _check_mount_helper(fmt):
        """libvirt mounts a netfs pool with mount(8), which needs the file system's helper."""
        helper, debian, fedora = MOUNT_HELPERS.get(fmt or "auto", (None, None, None))
        if helper is None:
            return
        dirs = os.environ.get("PATH", "").split(os.pathsep) + ["/sbin", "/usr/sbin", "/bin", "/usr/bin"]
        if not any(os.access(os.path.join(d, helper), os.X_OK) for d in dirs if d):
            raise InputError("source", "a netfs pool of format %s is mounted with %s, which this host lacks; "
                                       "install it first (Debian/Ubuntu: %s, Fedora/RHEL: %s)"
                                       % (fmt or "auto", helper, debian, fedora))

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
                plan.step("stop pool %s" % name, lambda: self.pool(name).destroy(),
                          undo=lambda: self.pool(name).create(0), undone="started pool %s again" % name)
            if desired["delete_data"]:
                plan.step("delete the data of pool %s (%s)" % (name, observed["path"]),
                          lambda: self.pool(name).delete(0))
            plan.step("undefine pool %s" % name, lambda: self.pool(name).undefine())
            return plan

        if observed is None:
            if desired.get("xml") is not None:
                xml = xmlmerge.tostring(desired["xml"])
                plan.after = parse_pool(xml)
            else:
                plan.after = {"name": name, "uuid": None, "type": desired["type"], "path": desired["path"],
                              "source": desired["source"],
                              **{key: desired[key] for key in sx.PERMISSION_KEYS}}
                xml = render_pool(plan.after)
            plan.after.update(active=desired["active"], autostart=False, capacity=None, allocation=None,
                              available=None, volumes=0 if desired["active"] else None)
            plan.step("define pool %s" % name, lambda: self.conn.storagePoolDefineXML(xml, 0),
                      undo=lambda: self.pool(name).undefine())
            # building a dir/netfs pool only makes its directory; building a logical one formats
            # its devices, which must be asked for
            if desired["type"] in ("dir", "netfs") or desired["build"]:
                # a dir or netfs pool's build makes its directory, which libvirt's pool delete removes
                made = desired["made_path"] and desired["type"] in ("dir", "netfs")
                plan.step("build pool %s" % name, lambda: self.pool(name).build(0),
                          undo=(lambda: self.pool(name).delete(0)) if made else None,
                          undone="removed the directory %s again" % plan.after["path"])
            if desired["active"]:
                plan.step("start pool %s" % name, lambda: self.pool(name).create(0),
                          undo=lambda: self.pool(name).destroy())
            self._plan_autostart(plan, desired, False)
            return plan

        if desired["type"] != observed["type"]:
            raise InputError("xml" if desired.get("xml") is not None and self.params["type"] is None else "type",
                             "pool %s exists as a %s pool; remove it first to make it %s"
                             % (name, observed["type"], desired["type"]))
        if desired.get("xml") is not None:
            redefine, perms = self._plan_xml(plan, desired, observed)
        else:
            plan.changes = differences(self.options, desired, observed)
            plan.after = dict(observed)
            plan.after.update((c.option, c.after) for c in plan.changes)
            redefine = [c.option for c in plan.changes if c.update == "restart"]
            perms = {c.option: c.after for c in plan.changes if c.update == "live"}
            if plan.changes:
                xml = render_pool(plan.after)
                plan.step("redefine pool %s (%s)" % (name, ", ".join(c.option for c in plan.changes)),
                          lambda: self.conn.storagePoolDefineXML(xml, 0))
        if perms:
            self._plan_permissions(plan, desired, observed, perms)
        if redefine:
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
        if plan.steps:
            # what the pool's storage holds is read after the change, not predicted: a directory
            # pool's numbers are its filesystem's, which any writer on the host changes meanwhile
            plan.after.update(capacity=None, allocation=None, available=None)
        return plan

    def _plan_xml(self, plan, desired, observed):
        """The user's xml merged onto the stored definition: one redefine when it differs.
        Returns (what needs a restart, the permissions that change)."""
        name, stored = desired["name"], observed["tree"]
        xmlmerge.uuid_check(desired["xml"], stored, "pool %s" % name)
        merged = xmlmerge.merge(stored, desired["xml"])
        plan.after = dict(observed, **parse_pool(xmlmerge.tostring(merged)))
        del plan.after["tree"]
        if xmlmerge.same(merged, stored):
            return [], {}
        xml = xmlmerge.tostring(merged)
        plan.step("redefine pool %s (xml)" % name, lambda: self.conn.storagePoolDefineXML(xml, 0))
        perms = permission_changes(sx.permissions(merged.find("target")), sx.permissions(stored.find("target")))
        rest = ("target/permissions",)
        return ([] if xmlmerge.same(sx.strip(merged, rest), sx.strip(stored, rest)) else ["xml"]), perms

    def _plan_permissions(self, plan, desired, observed, perms):
        """A redefine keeps new permissions for the next build; the existing directory gets them
        now, and an active pool is refreshed so that libvirt reads them back."""
        name, path = desired["name"], plan.after["path"]
        self.check_changeable(sorted(perms), "pool", observed["type"], "the directory of pool %s" % name)

        def apply():
            if os.path.isdir(path):
                set_file_permissions(path, perms)
            pool = self.pool(name)
            if pool.isActive():
                pool.refresh(0)

        plan.step("set %s of the directory of pool %s" % (describe(perms), name), apply)

    def _plan_autostart(self, plan, desired, current):
        name = desired["name"]
        plan.after["autostart"] = self.plan_autostart(plan, desired["autostart"], current, "pool %s" % name,
                                                      lambda: self.pool(name))

    def facts(self, state):
        return {key: value for key, value in state.items() if key != "tree"} if state else state


# ---------------------------------------------------------------- volume service
class VolumeService(PermissionChecks, LibvirtService):
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
        "source": Opt(),
        "checksum": Opt(),
        "cache_dir": Opt(type="path", default="~/.cache/virtcloud/images"),
        "validate_certs": Opt(type="bool", default=True),
        "backing": Opt(aliases=["linked_clone_from"]),
        "max_overcommit": Opt(type="float"),
        "wipe": Opt(type="bool", default=False),
        **PERMISSIONS,
        "xml": Opt(),  # a new volume's definition; an existing one must match it (capacity aside)
    }
    module_kwargs = {"mutually_exclusive": [("clone_from", "upload", "source", "backing")],
                     "required_by": {"upload_format": "upload", "checksum": "source"}}

    def desired(self):
        p = self.params
        d = dict(p)
        self.check_volume_name(d["name"])
        if p["state"] == "absent":
            return d
        d.update(parse_permissions(p))
        d["capacity"] = parse_size(p["capacity"], "capacity")
        if p.get("xml"):
            d["xml"] = self._xml(p["xml"], d)
        if d["capacity"] is not None:
            if d["capacity"] == 0:
                raise InputError("capacity", "must be more than 0 bytes")
            # qemu-img rounds sizes up to whole sectors; doing it here keeps reruns idempotent
            d["capacity"] = -(-d["capacity"] // SECTOR) * SECTOR
        if p["max_overcommit"] is not None and p["max_overcommit"] <= 0:
            raise InputError("max_overcommit", "must be a positive ratio such as 1.0 or 2.5")
        fmt = d["format"] or "qcow2"
        self.check_capacity(d["capacity"], fmt, "capacity")
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
        d["checksum"] = base_image.parse_checksum(p["checksum"])
        if p["source"] is not None and not base_image.fetch.is_url(p["source"]):
            if "://" in p["source"]:
                raise InputError("source", "%s is neither a local path nor an http:// or https:// URL" % p["source"])
            if not os.path.isfile(p["source"]):
                raise InputError("source", "%s is not a file" % p["source"])
        if p["backing"] is not None:
            self.check_volume_name(p["backing"], "backing")
            if fmt != "qcow2":
                raise InputError("format", "a linked clone (backing) is a qcow2 overlay; leave format out or set "
                                           "it to qcow2")
            if p["preallocation"] != "none":
                raise InputError("preallocation", "a linked clone (backing) stores only what differs from its "
                                                  "template; leave preallocation at none")
        return d

    @staticmethod
    def _xml(text, d):
        """The user's <volume> without what libvirt generates or reports (key, path, allocation,
        timestamps); its capacity, format and permissions are what the options leave unset."""
        root = sx.strip(xmlmerge.user_xml(text, "volume", d["name"]), sx.VOLUME_GENERATED)
        if d["capacity"] is None:
            d["capacity"] = sx.volume_capacity(root)
        fmt = root.find("target/format")
        if d["format"] is None and fmt is not None:
            d["format"] = fmt.get("type")
        for key, value in sx.permissions(root.find("target")).items():
            if d[key] is None:
                d[key] = value
        return root

    def observe(self, desired, batch=None):
        vol = self.volume(desired["pool"], desired["name"])
        if vol is None:
            return None
        state = volume_facts(vol, desired["pool"])
        state["backing"] = sx.backing_store(from_string(vol.XMLDesc(0)))
        if desired.get("xml") is not None:
            state["tree"] = xmlmerge.dx.normalise(from_string(vol.XMLDesc(0)))
        if self.volume(desired["pool"], marker_name(desired["name"])) is not None:
            state["incomplete"] = True
        return state

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
        self.check_label(desired)
        pool = self.lookup("pool", desired["pool"])
        out = dict(desired, source_capacity=None, usage=None, pool_type=from_string(pool.XMLDesc(0)).get("type"),
                   backing_store=None, image=None, users=[])
        creating = observed is None or observed.get("incomplete")
        if desired["backing"]:
            # also for an existing volume: its backing store must be this template's
            template = self.template(desired["pool"], desired["backing"], "backing")
            out["backing_store"] = {"path": template.path(), "format": volume_format(template)}
            out["source_capacity"] = template.info()[1]
        elif creating and desired["clone_from"]:
            out["source_capacity"] = self.template(desired["pool"], desired["clone_from"], "clone_from").info()[1]
        elif creating and (desired["upload"] or desired["source"]):
            option = "upload" if desired["upload"] else "source"
            # a download, a checksum, a decompression: in check mode too, which then predicts the
            # size and any failure (they only write the cache directory, never the pool)
            path = desired["upload"] or base_image.local_image(desired["source"], desired["checksum"],
                                                               desired["cache_dir"], desired["validate_certs"])
            image = qemu_img.source_info(path, option, desired["upload_format"])
            out.update(source_capacity=image["virtual-size"], image=dict(image, path=path))
        elif not creating and desired["capacity"] is not None and desired["capacity"] != observed["capacity"]:
            out["users"] = self.running_users(observed["path"])
        if desired["max_overcommit"] is not None:
            out["usage"] = pool_usage(self.lookup("pool", desired["pool"]))
        return out

    def template(self, pool, name, option):
        """The volume `name` a new volume is made from, which must be in its pool."""
        template = self.volume(pool, name)
        if template is None:
            raise InputError(option, "no volume %r in pool %s (a template must be a volume of the same pool)"
                             % (name, pool))
        return template

    def running_users(self, path):
        """(domain, disk target) of the running guests that have the volume's file as a disk: a
        running QEMU holds it open and locked, so it grows through the guest (blockResize)."""
        users = []
        for dom in self.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            for disk in from_string(dom.XMLDesc(0)).iterfind("devices/disk"):
                source = disk.find("source")
                if source is not None and source.get("file") == path and disk.find("target") is not None:
                    users.append((dom.name(), disk.find("target").get("dev")))
        return users

    def plan(self, desired, observed):
        name, pool = desired["name"], desired["pool"]
        plan = Plan(observed)
        if desired["state"] == "absent":
            plan.after = None
            if observed is not None:
                if desired["wipe"]:
                    plan.step("wipe volume %s/%s" % (pool, name), lambda: self.volume(pool, name).wipe(0))
                plan.step("delete volume %s/%s" % (pool, name), lambda: self._delete(pool, name))
            return plan
        if observed is None:
            return self._plan_create(plan, desired)
        if observed.get("incomplete"):
            plan.warnings.append("volume %s/%s is incomplete (a run stopped while making it: its marker %s is in "
                                 "the pool); it is made again" % (pool, name, marker_name(name)))
            plan.step("delete incomplete volume %s/%s" % (pool, name), lambda: self._delete(pool, name))
            return self._plan_create(plan, desired)

        if desired["format"] and desired["format"] != observed["format"]:
            raise InputError("format", "volume %s/%s exists as %s; it is not converted in place (delete it, or "
                                       "convert a copy with virtcloud.core.disk_image)"
                                       % (pool, name, observed["format"], ))
        if desired["backing_store"] and (observed["backing"] or {}).get("path") != desired["backing_store"]["path"]:
            raise InputError("backing", "volume %s/%s exists %s, not as a linked clone of %s; it is not rebased "
                                        "(delete it to make it again)"
                             % (pool, name, "on %s" % observed["backing"]["path"] if observed["backing"]
                                else "without a backing store", desired["backing"]))
        if desired.get("xml") is not None:
            self._check_xml(desired, observed)
        plan.after = dict(observed)
        plan.after.pop("tree", None)
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
            what = "%s volume %s/%s to %s" % ("shrink" if want < have else "grow", pool, name, format_size(want))
            if desired["users"]:
                plan.step(what + self._resize_live(desired["users"], want < have),
                          lambda: [self.lookup("domain", dom).blockResize(dev, want, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
                                   for dom, dev in desired["users"]])
            else:
                plan.step(what, lambda: self.volume(pool, name).resize(want, flags))
            plan.after.update(capacity=want, allocation=None)
        perms = permission_changes({key: desired[key] for key in sx.PERMISSION_KEYS}, observed)
        if perms:
            self.check_changeable(sorted(perms), "pool", desired["pool_type"], "volume %s/%s" % (pool, name))

            def apply():
                set_file_permissions(self.volume(pool, name).path(), perms)
                self.lookup("pool", pool).refresh(0)  # libvirt reads the file's permissions back

            plan.step("set %s of volume %s/%s" % (describe(perms), pool, name), apply)
            plan.after.update(perms)
        return plan

    @staticmethod
    def _resize_live(users, shrink):
        if shrink:
            raise InputError("capacity", "the volume is a disk of the running guest %s; it is not shrunk under it "
                                         "(shut the guest down first)" % users[0][0])
        if len(users) > 1:
            raise InputError("capacity", "the volume is a disk of %d running guests (%s); it is grown through one "
                                         "guest only" % (len(users), ", ".join(dom for dom, dev in users)))
        return " (live, as disk %s of running guest %s)" % (users[0][1], users[0][0])

    @staticmethod
    def _check_xml(desired, observed):
        """An existing volume must already be what the user's XML says, apart from its capacity
        (resized), format (checked like the option) and permissions (set on the file): libvirt
        changes nothing else of a volume."""
        merged = xmlmerge.merge(observed["tree"], desired["xml"])
        have = sx.volume_rest(observed["tree"])
        if not xmlmerge.same(sx.volume_rest(merged), have):
            differ = [path for path in _paths(sx.volume_rest(desired["xml"]))
                      if have.find(path) is None or not xmlmerge.dx.contains(have.find(path),
                                                                             desired["xml"].find(path))]
            raise InputError("xml", "volume %s/%s exists, and differs from xml in %s; libvirt can only resize "
                                    "an existing volume (and the module set its permissions), so delete it "
                                    "(state=absent) and create it again to change that"
                                    % (desired["pool"], desired["name"],
                                       ", ".join("<%s>" % path for path in differ) or "its attributes"))

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
        backing = desired["backing_store"]
        xml = volume_xml(name, capacity, fmt, allocation, {key: desired[key] for key in sx.PERMISSION_KEYS},
                         desired.get("xml"), backing)
        image = desired["image"]
        if desired["clone_from"]:
            how = "clone of %s" % desired["clone_from"]
        elif backing:
            how = "linked clone of %s, %s" % (desired["backing"], format_size(capacity))
        elif image:
            how = "upload of %s image %s" % (image["format"], desired["upload"] or desired["source"])
        else:
            how = "%s, %s" % (format_size(capacity), prealloc)
        plan.after = {"name": name, "pool": pool, "path": None, "key": None, "format": fmt,
                      "capacity": capacity, "allocation": None,
                      # an upload's allocation follows the image's content
                      "provisioning": None if image else "thick" if allocation else "thin",
                      **{key: desired[key] for key in sx.PERMISSION_KEYS}, "backing": backing}

        def create():
            target = self.lookup("pool", pool)
            if self.volume(pool, marker) is None:
                target.createXML(volume_xml(marker, SECTOR, "raw", 0, {}, None), 0)
            if desired["clone_from"]:
                vol = target.createXMLFrom(xml, target.storageVolLookupByName(desired["clone_from"]), flags)
            else:
                vol = target.createXML(xml, flags)
            if image:
                self._upload(vol, image["path"], image["format"], fmt)
            # a clone or an upload comes at its source's size whatever the XML asked for
            if vol.info()[1] < capacity:
                vol.resize(capacity, 0)
            if prealloc == "full":
                # fallocate only reserves blocks; full preallocation writes them
                vol.wipe(libvirt.VIR_STORAGE_VOL_WIPE_ALG_ZERO)
            target.storageVolLookupByName(marker).delete(0)  # complete

        marker = marker_name(name)
        # partial: a create that fails halfway (the pool filled up during the upload) removes
        # what it made
        plan.step("create volume %s/%s (%s)" % (pool, name, how), create, undo=lambda: self._delete(pool, name),
                  undone="deleted volume %s/%s" % (pool, name), partial=True)
        return plan

    def _delete(self, pool, name):
        """Delete the volume and its marker, each where it exists."""
        for volume in (name, marker_name(name)):
            vol = self.volume(pool, volume)
            if vol is not None:
                vol.delete(0)

    def facts(self, state):
        return {key: value for key, value in state.items() if key not in ("tree", "incomplete")} if state else state

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
            try:
                vol.upload(stream, 0, size, 0)
                with open(path, "rb") as src:
                    stream.sendAll(lambda _stream, nbytes, f: f.read(nbytes), src)
                stream.finish()
            except Exception:
                # libvirt keeps a volume with an open stream in use: it could not be deleted
                with contextlib.suppress(libvirt.libvirtError):
                    stream.abort()
                raise


def _paths(root):
    """Paths of the elements under a <volume> and its <target>, to name what differs."""
    for el in root:
        if el.tag == "target":
            for sub in el:
                yield "target/" + sub.tag
        elif isinstance(el.tag, str):
            yield el.tag


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
