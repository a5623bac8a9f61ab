# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt domain snapshots: internal (qcow2) and external disk-only ones, created, reverted,
deleted, and pruned by retention (keep the newest N, delete those older than an age).

The observed object is the guest's whole snapshot list (and the named snapshot in it): retention
and the current-snapshot pointer make every change a change of the list."""

from __future__ import annotations

import datetime
import os
import re
import time
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml as dx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService, libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import (
    LXML_REQUIREMENT,
    from_string,
)

KINDS = ["internal", "external"]
_AGE = re.compile(r"(\d+)\s*([wdhms])")
_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# libvirt reverts external snapshots from 9.7.0 on (getLibVersion: major * 1000000 + minor * 1000)
REVERT_EXTERNAL = 9007000
# and deletes them (block commit) from 9.0.0 on
DELETE_EXTERNAL = 9000000
# what a new snapshot's <state> will be, by the guest's run state (libvirt's virDomainState)
_RUN_STATE = {} if libvirt is None else {libvirt.VIR_DOMAIN_RUNNING: "running", libvirt.VIR_DOMAIN_PAUSED: "paused",
                                         libvirt.VIR_DOMAIN_SHUTOFF: "shutoff"}


def parse_age(value, option):
    """An age such as '7d', '12h', '1w2d', '90m' or a number of seconds -> seconds."""
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    if not text or _AGE.sub("", text).strip():
        raise InputError(option, "%r is not an age; use seconds or a number with w, d, h, m or s, e.g. '7d', '12h'"
                         % (value,))
    return sum(int(n) * _SECONDS[unit] for n, unit in _AGE.findall(text))


def parse_keep(value, option):
    if value < 1:
        raise InputError(option, "must be at least 1 (the newest snapshot is always kept); to delete every "
                                 "snapshot use state=absent per name")
    return value


def snapshot_facts(snap, current):
    """The facts of one libvirt snapshot."""
    root = from_string(snap.getXMLDesc(0))
    created = int(root.findtext("creationTime") or 0) or None
    external = root.find("memory[@snapshot='external']") is not None or \
        root.find("disks/disk[@snapshot='external']") is not None
    return {"name": root.findtext("name"), "description": root.findtext("description"),
            "created": created,
            "creation_time": None if created is None else
            datetime.datetime.fromtimestamp(created, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "state": root.findtext("state"), "kind": "external" if external else "internal",
            "parent": root.findtext("parent/name"), "current": snap.getName() == current,
            "files": [d.find("source").get("file") for d in root.iterfind("disks/disk")
                      if d.get("snapshot") == "external" and d.find("source") is not None]}


def ordered(snapshots):
    """Oldest first: by creation time, then depth in the tree (a child after its parent), then name;
    a snapshot not made yet (created None, in check mode) last."""
    parents = {s["name"]: s["parent"] for s in snapshots}

    def depth(name):
        seen = 0
        while parents.get(name) and seen < len(parents):
            name, seen = parents[name], seen + 1
        return seen
    return sorted(snapshots, key=lambda s: (s["created"] is None, s["created"] or 0, depth(s["name"]), s["name"]))


def without(snapshots, name):
    """The list after libvirt deletes snapshot `name` (children only): its children take its parent,
    and when it was current its parent becomes current."""
    gone = next(s for s in snapshots if s["name"] == name)
    out = []
    for snap in snapshots:
        if snap["name"] == name:
            continue
        snap = dict(snap)
        if snap["parent"] == name:
            snap["parent"] = gone["parent"]
        if gone["current"] and snap["name"] == gone["parent"]:
            snap["current"] = True
        out.append(snap)
    return out


class SnapshotService(LibvirtService):
    """Snapshots of one guest: create, revert, delete one, prune by retention."""

    result_key = None  # `snapshot` and `snapshots` are returned top-level
    requirements = LibvirtService.requirements + (LXML_REQUIREMENT,)
    options = {
        "domain": Opt(required=True),
        "name": Opt(),
        "state": state_opt(["present", "absent", "reverted"]),
        "kind": Opt(choices=KINDS),
        "description": Opt(),
        "keep": Opt(type="int", parse=parse_keep),
        "max_age": Opt(type="raw", parse=parse_age),
    }
    module_kwargs = {"required_if": [("state", "absent", ["name"]), ("state", "reverted", ["name"])],
                     "required_one_of": [("name", "keep", "max_age")]}

    def desired(self):
        want = self.parsed()
        self.check_name(want["domain"], "domain")
        if want["name"] is not None:
            self.check_name(want["name"], "name")
        if want["state"] != "present":
            for option in ("keep", "max_age", "kind", "description"):
                if want[option] is not None:
                    raise InputError(option, "only applies with state=present, not state=%s" % want["state"])
        if want["name"] is None and (want["kind"] is not None or want["description"] is not None):
            raise InputError("kind" if want["kind"] is not None else "description",
                             "describes the snapshot O(name) names; set name, or leave it out to only prune")
        return want

    def _domain(self, name):
        dom = self.lookup("domain", name)
        if dom is None:
            raise InputError("domain", "no guest named %r at %s" % (name, self.params["uri"]))
        return dom

    def observe(self, desired, batch=None):
        dom = self._domain(desired["domain"])
        try:
            current = dom.snapshotCurrent(0).getName() if dom.hasCurrentSnapshot(0) else None
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                raise
            current = None
        snapshots = ordered([snapshot_facts(snap, current) for snap in dom.listAllSnapshots(0)])
        return {"domain": desired["domain"], "run_state": _RUN_STATE.get(dom.state()[0]),
                "snapshots": snapshots,
                "snapshot": next((s for s in snapshots if s["name"] == desired["name"]), None)}

    def resolve(self, desired, observed, batch=None):
        """The preconditions libvirt would otherwise fail on halfway, checked before any step
        (check mode too): the disks an internal snapshot needs, what this libvirt can revert and
        delete, and which snapshots retention deletes."""
        want = dict(desired, version=self.conn.getLibVersion())
        existing = observed["snapshot"]
        if desired["state"] == "present" and desired["name"] is not None:
            if existing is None:
                want["kind"] = desired["kind"] or "internal"
                if want["kind"] == "internal":
                    self._check_internal(self._domain(desired["domain"]))
            elif desired["kind"] not in (None, existing["kind"]):
                raise InputError("kind", "snapshot %r of %s exists as an %s snapshot; a snapshot's kind cannot change "
                                         "- delete it first (state=absent) or use another name"
                                 % (desired["name"], desired["domain"], existing["kind"]))
        if desired["state"] == "reverted":
            if existing is None:
                raise InputError("name", "guest %s has no snapshot %r to revert to (it has: %s)"
                                 % (desired["domain"], desired["name"],
                                    ", ".join(s["name"] for s in observed["snapshots"]) or "none"))
            if existing["kind"] == "external" and want["version"] < REVERT_EXTERNAL:
                raise InputError("name", "snapshot %r is external (disk-only); this libvirt (%s) reverts only internal "
                                         "snapshots (external ones from libvirt 9.7 on)"
                                 % (desired["name"], _version(want["version"])))
        want["prune"] = self.retention(want, observed)
        self._check_deletions(want, observed)
        return want

    @staticmethod
    def _check_internal(dom):
        """An internal snapshot lives inside qcow2 images: every writable disk must be one."""
        root = from_string(dom.XMLDesc(0))
        for el in root.iterfind("devices/disk"):
            disk = dx.disk_facts(el)
            if disk["device"] not in ("disk", "lun") or disk["readonly"]:
                continue
            if disk["format"] != "qcow2":
                raise InputError("kind", "disk %s (%s) is %s; an internal snapshot is kept inside qcow2 images, so "
                                         "every writable disk must be qcow2 - use kind=external (a qcow2 overlay "
                                         "over the disk) or convert the disk"
                                 % (disk["target"], disk["path"] or disk["volume"], disk["format"] or "of no format"))

    @staticmethod
    def retention(want, observed):
        """The snapshots retention deletes, oldest first; never the one named in `name`."""
        if want["state"] != "present" or (want["keep"] is None and want["max_age"] is None):
            return []
        snapshots = list(observed["snapshots"])
        if want["name"] is not None and observed["snapshot"] is None:
            snapshots.append({"name": want["name"], "created": None})
        doomed = []
        if want["keep"] is not None:
            doomed += [s["name"] for s in snapshots[:max(len(snapshots) - want["keep"], 0)]]
        if want["max_age"] is not None:
            limit = time.time() - want["max_age"]
            doomed += [s["name"] for s in snapshots if s["created"] is not None and s["created"] < limit]
        return [s["name"] for s in snapshots if s["name"] in doomed and s["name"] != want["name"]]

    def _check_deletions(self, want, observed):
        deleting = list(want["prune"])
        if want["state"] == "absent" and observed["snapshot"] is not None:
            deleting.append(want["name"])
        option = "name" if want["state"] == "absent" else ("keep" if want["keep"] is not None else "max_age")
        snapshots = observed["snapshots"]
        for name in deleting:
            snap = next(s for s in snapshots if s["name"] == name)
            if snap["kind"] == "external":
                parent = next((s for s in snapshots if s["name"] == snap["parent"]), None)
                if want["version"] < DELETE_EXTERNAL:
                    raise InputError(option, "snapshot %r is external; this libvirt (%s) deletes external snapshots "
                                             "only from 9.0 on" % (name, _version(want["version"])))
                volumes = self._volume_disks(want["domain"], name)
                if volumes:
                    raise InputError(option, "snapshot %r is external over the pool volume disk %s; libvirt %s cannot "
                                             "merge an overlay back into a disk given as a pool volume - attach the disk "
                                             "by its path (disks[].path) to take external snapshots you can delete"
                                     % (name, ", ".join(volumes), _version(want["version"])))
                if parent is not None and parent["kind"] == "internal":
                    raise InputError(option, "snapshot %r is external and its parent %r internal; libvirt cannot "
                                             "delete an external snapshot made after an internal one - delete %r "
                                             "first" % (name, parent["name"], parent["name"]))
            snapshots = without(snapshots, name)

    def _volume_disks(self, domain, name):
        """The disks an external snapshot took over that the guest had as pool volumes (target names)."""
        root = from_string(self._domain(domain).snapshotLookupByName(name, 0).getXMLDesc(0))
        external = {d.get("name") for d in root.iterfind("disks/disk") if d.get("snapshot") == "external"}
        return [el.find("target").get("dev") for el in root.iterfind("domain/devices/disk")
                if el.get("type") == "volume" and el.find("target") is not None
                and el.find("target").get("dev") in external]

    def plan(self, desired, observed):
        plan = Plan(observed)
        snapshots = observed["snapshots"]
        label = "%s of %s" % (desired["name"], desired["domain"])
        existing = observed["snapshot"]
        if desired["state"] == "present" and desired["name"] is not None:
            if existing is None:
                new = self._new_facts(desired, observed)
                plan.step("create %s snapshot %s" % (desired["kind"], label),
                          lambda: self._create(desired))
                snapshots = [dict(s, current=False) for s in snapshots] + [new]
            elif desired["description"] is not None and desired["description"] != existing["description"]:
                plan.step("set the description of snapshot %s" % label,
                          lambda: self._redefine(desired))
                snapshots = [dict(s, description=desired["description"]) if s["name"] == desired["name"] else s
                             for s in snapshots]
        for name in desired["prune"]:
            plan.step("delete snapshot %s of %s (retention)" % (name, desired["domain"]),
                      lambda name=name: self._delete(desired["domain"], name))
            snapshots = without(snapshots, name)
        if desired["state"] == "absent" and existing is not None:
            plan.step("delete snapshot %s" % label, lambda: self._delete(desired["domain"], desired["name"]))
            snapshots = without(snapshots, desired["name"])
        if desired["state"] == "reverted":
            # whether the guest changed since the snapshot cannot be known (its disks and memory
            # move on while it runs): a revert is always made, like a restart
            plan.step("revert %s to snapshot %s" % (desired["domain"], desired["name"]),
                      lambda: self._revert(desired))
            snapshots = [dict(s, current=s["name"] == desired["name"]) for s in snapshots]
            plan.warnings.append("state=reverted reverts on every run (what the guest did since the snapshot "
                                 "cannot be known), so it always reports a change")
        plan.after = dict(observed, snapshots=snapshots,
                          snapshot=next((s for s in snapshots if s["name"] == desired["name"]), None))
        return plan

    @staticmethod
    def _new_facts(desired, observed):
        current = next((s["name"] for s in observed["snapshots"] if s["current"]), None)
        external = desired["kind"] == "external"
        return {"name": desired["name"], "description": desired["description"], "created": None,
                "creation_time": None, "state": "disk-snapshot" if external else observed["run_state"],
                "kind": desired["kind"], "parent": current, "current": True, "files": None if external else []}

    def _create(self, desired):
        dom = self._domain(desired["domain"])
        flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
        disks = ""
        if desired["kind"] == "external":
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
            disks = "<disks>%s</disks>" % "".join(self._overlays(dom, desired["name"]))
        xml = "<domainsnapshot><name>%s</name>%s%s</domainsnapshot>" % (
            escape(desired["name"]),
            "" if desired["description"] is None else "<description>%s</description>" % escape(desired["description"]),
            disks)
        dom.snapshotCreateXML(xml, flags)

    def _overlays(self, dom, name):
        """The overlay file of each pool volume disk: libvirt names an overlay after the disk's file
        (<file without extension>.<snapshot>) only for disks given as files, so a volume's path is
        looked up and named the same way. Other disks are left to libvirt."""
        root = from_string(dom.XMLDesc(0))
        for el in root.iterfind("devices/disk"):
            disk = dx.disk_facts(el)
            if disk["type"] != "volume" or disk["device"] not in ("disk", "lun") or disk["readonly"]:
                continue
            path = self.conn.storagePoolLookupByName(disk["pool"]).storageVolLookupByName(disk["volume"]).path()
            yield "<disk name=%s snapshot='external'><source file=%s/></disk>" % (
                quoteattr(disk["target"]), quoteattr("%s.%s" % (os.path.splitext(path)[0], name)))

    def _redefine(self, desired):
        """A description is metadata: the snapshot is redefined with it, its data untouched."""
        from lxml import etree

        dom = self._domain(desired["domain"])
        snap = dom.snapshotLookupByName(desired["name"], 0)
        root = from_string(snap.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE))
        el = root.find("description")
        if el is None:
            el = etree.Element("description")
            root.insert(1, el)
        el.text = desired["description"]
        flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
        if snap.isCurrent(0):
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
        dom.snapshotCreateXML(etree.tostring(root, encoding="unicode"), flags)

    def _delete(self, domain, name):
        self._domain(domain).snapshotLookupByName(name, 0).delete(0)

    def _revert(self, desired):
        dom = self._domain(desired["domain"])
        dom.revertToSnapshot(dom.snapshotLookupByName(desired["name"], 0), 0)

    def facts(self, state):
        return {"snapshot": state["snapshot"], "snapshots": state["snapshots"]}


def _version(number):
    return "%d.%d.%d" % (number // 1000000, number // 1000 % 1000, number % 1000)
