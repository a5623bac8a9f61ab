# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open vSwitch bridges, ports and interfaces through OVSDB (the Open_vSwitch database), the way
ovs-vsctl changes them: every change is one transaction that also bumps Open_vSwitch.next_cfg,
then waits until ovs-vswitchd has applied it (cur_cfg catches up) and reads back the `error`
that vswitchd leaves on an interface it could not set up, undoing the change when there is one.

Transactions guard what they rely on with OVSDB `wait` operations (this bridge exists, no port
of that name exists yet, the row read a moment ago is still that row), so a concurrent change
makes the transaction fail cleanly instead of being silently overwritten."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError
from ansible_collections.virtcloud.core.plugins.module_utils.common.wait import wait_for
from ansible_collections.virtcloud.core.plugins.module_utils.net.ovsdb import (
    NamedUuid,
    Ovsdb,
    OvsdbError,
    as_list,
    as_map,
    as_optional,
    decode,
    encode,
    encode_row,
)

DB = "Open_vSwitch"
# how often the wait for ovs-vswitchd looks at cur_cfg: it usually applies a change in a few ms
_APPLY_POLL = 0.01

SNAPSHOT_COLUMNS = {
    "Open_vSwitch": ["bridges", "datapath_types", "iface_types", "ovs_version"],
    "Bridge": ["name", "datapath_type", "fail_mode", "controller", "protocols", "external_ids", "other_config",
               "ports"],
    "Port": ["name", "interfaces", "tag", "trunks", "vlan_mode"],
    "Interface": ["name", "type", "options", "ofport", "error", "mtu", "mac_in_use"],
    "Controller": ["target"],
}
BRIDGE_SETTABLE = ("datapath_type", "fail_mode", "controllers", "protocols", "external_ids", "other_config")


class _Keep:
    """The value of an argument that leaves its column as it is (None clears a column)."""

    def __repr__(self):
        return "KEEP"


KEEP = _Keep()


# ---------------------------------------------------------------- operations
def _by_name(name):
    return [["name", "==", name]]


def _select(table, where, columns):
    return {"op": "select", "table": table, "where": where, "columns": columns}


def _exists(table, name, present):
    """A `wait` that fails the transaction at once unless a `table` row named `name` exists
    (present) or does not (not present)."""
    return {"op": "wait", "timeout": 0, "table": table, "where": _by_name(name), "columns": ["name"],
            "until": "==", "rows": [{"name": name}] if present else []}


def _unchanged(table, uuid, name):
    """A `wait` that fails unless row `uuid` still exists under `name` (what was read before)."""
    return {"op": "wait", "timeout": 0, "table": table, "where": [["_uuid", "==", encode(uuid)]],
            "columns": ["name"], "until": "==", "rows": [{"name": name}]}


def _insert(table, row, uuid_name):
    return {"op": "insert", "table": table, "row": encode_row(row), "uuid-name": uuid_name}


def _controllers(targets):
    """Insert operations for Controller rows with `targets`, and the set that refers to them."""
    ops = [_insert("Controller", {"target": target}, "controller%d" % index) for index, target in enumerate(targets)]
    return ops, [NamedUuid(op["uuid-name"]) for op in ops]


def _bridge_row(columns, ops):
    """Bridge columns from the keyword arguments of add_bridge/set_bridge; Controller inserts go
    to `ops`. None clears: datapath_type "" (the default, system), fail_mode unset."""
    row = {}
    for key, value in columns.items():
        if key == "controllers":
            inserts, row["controller"] = _controllers(list(value or ()))
            ops.extend((op, None) for op in inserts)
        elif key == "datapath_type":
            row[key] = value or ""
        elif key in ("protocols",):
            row[key] = sorted(value or ())
        elif key in ("external_ids", "other_config"):
            row[key] = {str(k): str(v) for k, v in (value or {}).items()}
        else:
            row[key] = value
    return row


def _port_row(tag, trunks, vlan_mode):
    row = {}
    if tag is not KEEP:
        row["tag"] = tag
    if trunks is not KEEP:
        row["trunks"] = sorted(trunks or ())
    if vlan_mode is not KEEP:
        row["vlan_mode"] = vlan_mode
    return row


def _interface_row(type_, options):
    row = {}
    if type_ is not KEEP:
        row["type"] = type_ or ""
    if options is not KEEP:
        row["options"] = {str(k): str(v) for k, v in (options or {}).items()}
    return row


class Ovs:
    """Open vSwitch on this host through its OVSDB socket (default unix:/var/run/openvswitch/db.sock),
    connected at once: BackendUnavailable here when OVS is not running. ``timeout`` bounds each
    OVSDB answer and each wait for ovs-vswitchd to apply a change. The last snapshot is kept until
    this client changes something (as net/netlink's Kernel does): a run reads OVSDB once for planning."""

    def __init__(self, socket=None, timeout=30):
        self.db = Ovsdb(socket, timeout)
        self.timeout = timeout
        self.cached = None
        self.db.connect()

    @property
    def requests(self):
        """OVSDB round trips made so far."""
        return self.db.requests

    def close(self):
        self.db.close()

    # -------------------------------------------------------- reading
    def snapshot(self):
        """Every bridge with its ports and interfaces, in one transaction (see module docstring of
        the contract: bridges, ports_of, interfaces_of)."""
        if self.cached is None:
            self.cached = self._read()
        return self.cached

    def _read(self):
        tables = list(SNAPSHOT_COLUMNS)
        results = self.db.transact(DB, [_select(table, [], ["_uuid"] + SNAPSHOT_COLUMNS[table]) for table in tables])
        rows = {table: {decode(row["_uuid"]): row for row in result["rows"]}
                for table, result in zip(tables, results)}
        root = next(iter(rows["Open_vSwitch"].values()), {})
        targets = {uuid: row["target"] for uuid, row in rows["Controller"].items()}
        bridges, ports_of, interfaces_of = {}, {}, {}
        for bridge_uuid in as_list(root.get("bridges", ["set", []])):
            bridge = rows["Bridge"].get(bridge_uuid)
            if bridge is None:
                continue
            ports = {}
            for port_uuid in as_list(bridge["ports"]):
                port = rows["Port"].get(port_uuid)
                if port is None:
                    continue
                interfaces = {}
                for iface_uuid in as_list(port["interfaces"]):
                    iface = rows["Interface"].get(iface_uuid)
                    if iface is None:
                        continue
                    interfaces[iface["name"]] = {
                        "type": iface["type"], "options": as_map(iface["options"]),
                        "ofport": as_optional(iface["ofport"]), "error": as_optional(iface["error"]),
                        "mtu": as_optional(iface["mtu"]), "mac_in_use": as_optional(iface["mac_in_use"]),
                    }
                    interfaces_of[iface["name"]] = port["name"]
                ports[port["name"]] = {
                    "tag": as_optional(port["tag"]), "trunks": sorted(as_list(port["trunks"])),
                    "vlan_mode": as_optional(port["vlan_mode"]), "interfaces": interfaces,
                }
                ports_of[port["name"]] = bridge["name"]
            bridges[bridge["name"]] = {
                "datapath_type": bridge["datapath_type"], "fail_mode": as_optional(bridge["fail_mode"]),
                "controllers": sorted(targets[uuid] for uuid in as_list(bridge["controller"]) if uuid in targets),
                "protocols": sorted(as_list(bridge["protocols"])),
                "external_ids": as_map(bridge["external_ids"]), "other_config": as_map(bridge["other_config"]),
                "ports": ports,
            }
        return {
            "bridges": bridges, "ports_of": ports_of, "interfaces_of": interfaces_of,
            "datapath_types": sorted(as_list(root.get("datapath_types", ["set", []]))),
            "iface_types": sorted(as_list(root.get("iface_types", ["set", []]))),
            "ovs_version": as_optional(root.get("ovs_version", ["set", []])),
        }

    # -------------------------------------------------------- changing
    def _change(self, steps, interfaces=()):
        """Run `steps` ((operation, message when it fails) pairs) as one transaction that also bumps
        next_cfg, wait until ovs-vswitchd has applied it, and return (results of the steps, the
        `error` of each of `interfaces` as vswitchd left it)."""
        self.cached = None  # also when it fails: another client may have changed what was read
        ops = [op for op, _message in steps]
        ops += [{"op": "mutate", "table": DB, "where": [], "mutations": [["next_cfg", "+=", 1]]},
                _select(DB, [], ["next_cfg"])]
        try:
            results = self.db.transact(DB, ops)
        except OvsdbError as exc:
            message = steps[exc.index][1] if exc.index is not None and exc.index < len(steps) else None
            if message:
                raise BackendError(message) from exc
            raise
        next_cfg = results[-1]["rows"][0]["next_cfg"]
        probe_ops = [_select(DB, [], ["cur_cfg"])] + [_select("Interface", _by_name(name), ["error"])
                                                      for name in interfaces]

        def probe():
            return self.db.transact(DB, probe_ops)

        applied = wait_for(probe, lambda seen: seen[0]["rows"][0]["cur_cfg"] >= next_cfg, self.timeout,
                           "ovs-vswitchd to apply the change (cur_cfg to reach %d; is ovs-vswitchd running?)"
                           % next_cfg, interval=_APPLY_POLL, describe=lambda seen: seen[0]["rows"][0])
        errors = {}
        for name, seen in zip(interfaces, applied[1:]):
            errors[name] = as_optional(seen["rows"][0]["error"]) if seen["rows"] else None
        return results[:len(steps)], errors

    def _undo_on_error(self, errors, what, undo):
        """When vswitchd reports an interface error, undo the change and raise it."""
        failed = {name: error for name, error in errors.items() if error}
        if not failed:
            return
        problem = "; ".join("interface %s: %s" % item for item in sorted(failed.items()))
        try:
            undo()
        except BackendError as exc:
            raise BackendError("ovs-vswitchd could not set up %s (%s), and undoing it failed too: %s"
                               % (what, problem, exc.msg), interfaces=failed)
        raise BackendError("ovs-vswitchd could not set up %s (%s); the change was undone" % (what, problem),
                           interfaces=failed)

    def add_bridge(self, name, datapath_type=None, fail_mode=None, controllers=(), protocols=(), external_ids=None,
                   other_config=None):
        """A bridge and its internal port/interface of the same name (as ovs-vsctl add-br)."""
        steps = [(_exists("Bridge", name, False), "an OVS bridge named %s exists already" % name),
                 (_exists("Port", name, False), "an OVS port named %s exists already" % name),
                 (_exists("Interface", name, False), "an OVS interface named %s exists already" % name),
                 (_insert("Interface", {"name": name, "type": "internal"}, "iface"), None),
                 (_insert("Port", {"name": name, "interfaces": [NamedUuid("iface")]}, "port"), None)]
        row = _bridge_row({"datapath_type": datapath_type, "fail_mode": fail_mode, "controllers": controllers,
                           "protocols": protocols, "external_ids": external_ids, "other_config": other_config},
                          steps)
        steps.append((_insert("Bridge", {"name": name, "ports": [NamedUuid("port")], **row}, "bridge"), None))
        steps.append(({"op": "mutate", "table": DB, "where": [],
                       "mutations": [["bridges", "insert", encode([NamedUuid("bridge")])]]}, None))
        _results, errors = self._change(steps, [name])
        self._undo_on_error(errors, "bridge %s" % name, lambda: self.del_bridge(name))

    def set_bridge(self, name, **columns):
        """Change a bridge's `columns` (BRIDGE_SETTABLE; None clears one; controllers replace the
        bridge's Controller rows as a set)."""
        unknown = sorted(set(columns) - set(BRIDGE_SETTABLE))
        if unknown:
            raise TypeError("set_bridge() cannot set %s (only %s)" % (", ".join(unknown), ", ".join(BRIDGE_SETTABLE)))
        if not columns:
            return
        steps = [(_exists("Bridge", name, True), "no OVS bridge named %s" % name)]
        row = _bridge_row(columns, steps)
        steps.append(({"op": "update", "table": "Bridge", "where": _by_name(name), "row": encode_row(row)}, None))
        self._change(steps)

    def del_bridge(self, name):
        """A bridge with all its ports, interfaces and controllers."""
        found = self.db.transact(DB, [_select("Bridge", _by_name(name), ["_uuid"])])[0]["rows"]
        if not found:
            raise BackendError("no OVS bridge named %s" % name)
        uuid = decode(found[0]["_uuid"])
        self._change([(_unchanged("Bridge", uuid, name), "OVS bridge %s changed meanwhile: rerun" % name),
                      ({"op": "mutate", "table": DB, "where": [],
                        "mutations": [["bridges", "delete", encode([uuid])]]}, None)])

    def add_port(self, bridge, name, type="", options=None, tag=None, trunks=None, vlan_mode=None):  # pylint: disable=redefined-builtin
        """A port with one interface of the same name on `bridge`. type "" is a system device (it
        must exist), "internal", "vxlan", ... with `options` (remote_ip, key, ...)."""
        steps = [(_exists("Bridge", bridge, True), "no OVS bridge named %s" % bridge),
                 (_exists("Port", name, False), "an OVS port named %s exists already" % name),
                 (_exists("Interface", name, False), "an OVS interface named %s exists already" % name),
                 (_insert("Interface", {"name": name, **_interface_row(type, options)}, "iface"), None),
                 (_insert("Port", {"name": name, "interfaces": [NamedUuid("iface")], **_port_row(tag, trunks, vlan_mode)},
                          "port"), None),
                 ({"op": "mutate", "table": "Bridge", "where": _by_name(bridge),
                   "mutations": [["ports", "insert", encode([NamedUuid("port")])]]}, None)]
        _results, errors = self._change(steps, [name])
        self._undo_on_error(errors, "port %s on bridge %s" % (name, bridge), lambda: self.del_port(name))

    def set_port(self, name, tag=KEEP, trunks=KEEP, vlan_mode=KEEP):
        """Change a port's VLAN settings; KEEP leaves one as it is, None clears it."""
        row = _port_row(tag, trunks, vlan_mode)
        if row:
            self._change([(_exists("Port", name, True), "no OVS port named %s" % name),
                          ({"op": "update", "table": "Port", "where": _by_name(name), "row": encode_row(row)}, None)])

    def set_interface(self, name, type=KEEP, options=KEEP):  # pylint: disable=redefined-builtin
        """Change an interface's type and options; KEEP leaves one as it is, None clears it. When
        vswitchd cannot apply the result, the previous values come back and BackendError says why."""
        row = _interface_row(type, options)
        if not row:
            return
        results, errors = self._change(
            [(_exists("Interface", name, True), "no OVS interface named %s" % name),
             (_select("Interface", _by_name(name), ["type", "options", "error"]), None),
             ({"op": "update", "table": "Interface", "where": _by_name(name), "row": encode_row(row)}, None)],
            [name])
        before = results[1]["rows"][0]
        failed = errors[name]
        if failed and as_optional(before["error"]):
            # it did not work before this change either: there is no healthy state to go back to
            raise BackendError("ovs-vswitchd could not set up interface %s: %s (it reported %s before this change)"
                               % (name, failed, as_optional(before["error"])), interfaces=errors)
        previous = {"type": before["type"], "options": as_map(before["options"])}
        self._undo_on_error(errors, "interface %s" % name, lambda: self._change(
            [({"op": "update", "table": "Interface", "where": _by_name(name), "row": encode_row(previous)}, None)]))

    def del_port(self, name):
        """A port (and its interfaces), from whichever bridge has it."""
        port, bridges = self.db.transact(DB, [_select("Port", _by_name(name), ["_uuid"]),
                                              _select("Bridge", [], ["_uuid", "ports"])])
        if not port["rows"]:
            raise BackendError("no OVS port named %s" % name)
        uuid = decode(port["rows"][0]["_uuid"])
        owner = next((decode(row["_uuid"]) for row in bridges["rows"] if uuid in as_list(row["ports"])), None)
        if owner is None:
            raise BackendError("OVS port %s is on no bridge" % name)
        self._change([(_unchanged("Port", uuid, name), "OVS port %s changed meanwhile: rerun" % name),
                      ({"op": "mutate", "table": "Bridge", "where": [["_uuid", "==", encode(owner)]],
                        "mutations": [["ports", "delete", encode([uuid])]]}, None)])
