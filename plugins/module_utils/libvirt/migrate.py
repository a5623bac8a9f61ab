# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_migrate: move a guest to another libvirt host (live, or its definition while shut off).

The observed object is the guest as both hosts see it: where it is defined, in which run state.
The guest is where it should be when the destination has it and the source does not run it; a
rerun then changes nothing. The module's process drives the migration (libvirt's managed direct
migration): it opens both connections, so the destination URI is reached from where the module runs."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
)
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService, libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import run_state
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain_xml import PAUSED, RUNNING, SHUTDOWN

COPY_STORAGE = ["none", "all", "inc"]
ACTIVE = (RUNNING, PAUSED)


def migrate_uri_for(dest_uri):
    """The migration stream's default target: the host of `dest_uri` (tcp://HOST), or None for a
    URI without a host (libvirt then uses the destination's own host name)."""
    host = urlsplit(dest_uri).hostname
    if not host:
        return None
    return "tcp://[%s]" % host if ":" in host else "tcp://%s" % host


def where(conn, name):
    """(virDomain, {'state', 'persistent'}) of the named guest on `conn`, or (None, None)."""
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None, None
        raise
    return dom, {"state": run_state(dom.state()[0]), "persistent": bool(dom.isPersistent())}


class MigrateService(LibvirtService):
    result_key = "domain"
    options = {
        "name": Opt(required=True),
        "dest_uri": Opt(required=True),
        "migrate_uri": Opt(),
        "copy_storage": Opt(default="none", choices=COPY_STORAGE),
        "live": Opt(type="bool", default=True),
        "persistent": Opt(type="bool", default=True),
        "undefine_source": Opt(type="bool", default=True),
        "unsafe": Opt(type="bool", default=False),
        "bandwidth": Opt(type="int"),
        "timeout": Opt(type="int"),
    }

    def desired(self):
        want = self.parsed()
        self.check_name(want["name"])
        if not want["dest_uri"].strip():
            raise InputError("dest_uri", "must not be empty")
        if want["dest_uri"] == self.params["uri"]:
            raise InputError("dest_uri", "is the source uri itself (%s); name the host the guest moves to" % want["dest_uri"])
        for option, unit in (("timeout", "seconds"), ("bandwidth", "MiB/s")):
            if want[option] is not None and want[option] <= 0:
                raise InputError(option, "must be a positive number (%s)" % unit)
        want["migrate_uri"] = want["migrate_uri"] or migrate_uri_for(want["dest_uri"])
        return want

    def connect(self):
        super().connect()
        uri = self.params["dest_uri"]
        try:
            self.dest = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise BackendUnavailable("cannot connect to the destination libvirt at %s (dest_uri): %s"
                                     % (uri, exc.get_error_message()))

    def observe(self, desired, batch=None):
        src_dom, source = where(self.conn, desired["name"])
        dst_dom, destination = where(self.dest, desired["name"])
        if src_dom is None and dst_dom is None:
            return None
        src_uuid = src_dom.UUIDString() if src_dom is not None else None
        dst_uuid = dst_dom.UUIDString() if dst_dom is not None else None
        return {"name": desired["name"], "uuid": src_uuid or dst_uuid, "dest_uuid": dst_uuid,
                "dest_uri": desired["dest_uri"], "source": source, "destination": destination}

    def plan(self, desired, observed):
        name, dest_uri, uri = desired["name"], desired["dest_uri"], self.params["uri"]
        if observed is None:
            raise InputError("name", "no guest named %s on %s (uri) or on %s (dest_uri)" % (name, uri, dest_uri))
        source, destination = observed["source"], observed["destination"]
        if source is not None and destination is not None and observed["dest_uuid"] != observed["uuid"]:
            raise InputError("name", "%s (dest_uri) has another guest named %s (UUID %s, not %s): migrating would clash "
                                     "with it; rename or remove one of them"
                             % (dest_uri, name, observed["dest_uuid"], observed["uuid"]))
        src_state = source and source["state"]
        if destination is not None and src_state not in ACTIVE:
            return Plan(observed)  # there already (a shut-off definition left on the source stays)
        if destination is not None and destination["state"] in ACTIVE:
            raise BackendError("%s runs on both %s (uri) and %s (dest_uri); stop one of them first" % (name, uri, dest_uri))
        flags, after_state = self._flags(desired, src_state)
        plan = Plan(observed, after=dict(observed, dest_uuid=observed["uuid"], destination={
            "state": after_state,
            "persistent": desired["persistent"] or bool(destination and destination["persistent"])}))
        plan.after["source"] = source if not desired["undefine_source"] and source["persistent"] else None
        if plan.after["source"] is not None:
            plan.after["source"] = dict(source, state=SHUTDOWN)
        src_dom = self.conn.lookupByName(name)
        how = ("live" if flags & libvirt.VIR_MIGRATE_LIVE else "offline" if flags & libvirt.VIR_MIGRATE_OFFLINE
               else "non-live")
        storage = "" if desired["copy_storage"] == "none" else ", copying storage (%s)" % desired["copy_storage"]
        plan.step("migrate %s %s from %s to %s%s" % (name, how, uri, dest_uri, storage),
                  lambda: self._migrate(src_dom, desired, flags))
        return plan

    @staticmethod
    def _flags(desired, src_state):
        """virDomainMigrateFlags for this run, and the destination's run state they lead to."""
        flags = 0
        if desired["persistent"]:
            flags |= libvirt.VIR_MIGRATE_PERSIST_DEST
        if desired["undefine_source"]:
            flags |= libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
        if desired["unsafe"]:
            flags |= libvirt.VIR_MIGRATE_UNSAFE
        if src_state not in ACTIVE:
            if desired["live"]:
                raise InputError("live", "%s is %s on the source: a live migration moves a running (or paused) guest; "
                                         "start it, or set live=false to move its definition"
                                 % (desired["name"], src_state))
            if not desired["persistent"]:
                raise InputError("persistent", "moving the definition of a shut-off guest (live=false) defines it on "
                                               "the destination: persistent must be true")
            if desired["copy_storage"] != "none":
                raise InputError("copy_storage", "libvirt copies storage only while the guest runs; a shut-off "
                                                 "guest's disks are copied by other means")
            return flags | libvirt.VIR_MIGRATE_OFFLINE, SHUTDOWN
        if desired["live"]:
            flags |= libvirt.VIR_MIGRATE_LIVE
        if src_state == PAUSED:  # stays paused on the destination, not resumed there
            flags |= libvirt.VIR_MIGRATE_PAUSED
        flags |= {"all": libvirt.VIR_MIGRATE_NON_SHARED_DISK, "inc": libvirt.VIR_MIGRATE_NON_SHARED_INC}.get(
            desired["copy_storage"], 0)
        return flags, src_state

    def _migrate(self, dom, desired, flags):
        """dom.migrate3 to the destination; past `timeout` seconds the migration job is aborted."""
        params = {}
        if desired["migrate_uri"] and not flags & libvirt.VIR_MIGRATE_OFFLINE:
            params[libvirt.VIR_MIGRATE_PARAM_URI] = desired["migrate_uri"]
        if desired["bandwidth"]:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = desired["bandwidth"]
        outcome = {}

        def work():
            try:
                outcome["domain"] = dom.migrate3(self.dest, params, flags)
            except Exception as exc:  # pylint: disable=broad-except  # raised again in the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(desired["timeout"])
        if worker.is_alive():
            try:
                dom.abortJob()
            except libvirt.libvirtError:
                pass  # finished meanwhile: the outcome says how
            worker.join(120)
            if "domain" not in outcome:
                raise BackendError("the migration of %s to %s (dest_uri) did not complete within %ss (timeout) and was "
                                   "aborted; the guest still runs on %s"
                                   % (desired["name"], desired["dest_uri"], desired["timeout"], self.params["uri"]))
        error = outcome.get("error")
        if isinstance(error, libvirt.libvirtError) and error.get_error_code() == libvirt.VIR_ERR_MIGRATE_UNSAFE:
            raise BackendError("libvirt: %s. The guest still runs on %s. With copy_storage=%s its disks must be on "
                               "storage both hosts share: copy them (copy_storage all or inc), or set unsafe=true "
                               "when they are shared and libvirt cannot tell"
                               % (error.get_error_message(), self.params["uri"], desired["copy_storage"]),
                               libvirt_error_code=error.get_error_code())
        if error is not None:
            raise error

    def facts(self, state):
        return {key: state[key] for key in ("name", "uuid", "dest_uri", "source", "destination")}
