# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An Open vSwitch port with its one interface, the `type=ovs` side of host_vxlan and host_vlan:
read from one OVSDB snapshot, added, changed in place (VLAN columns, interface type and options),
moved to another bridge, removed. Each step has its undo."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Plan
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError


def observe(ovs, name):
    """{"bridge", "interface_type", "options", "tag", "trunks", "vlan_mode"} of port `name`, or None;
    and the names of the host's OVS bridges."""
    snapshot = ovs.snapshot()
    bridge = snapshot["ports_of"].get(name)
    if bridge is None:
        return None, set(snapshot["bridges"])
    port = snapshot["bridges"][bridge]["ports"][name]
    iface = port["interfaces"].get(name) or next(iter(port["interfaces"].values()), {})
    return ({"bridge": bridge, "interface_type": iface.get("type") or "", "options": dict(iface.get("options") or {}),
             "tag": port["tag"], "trunks": list(port["trunks"]), "vlan_mode": port["vlan_mode"],
             "error": iface.get("error")}, set(snapshot["bridges"]))


def require_bridge(bridges, name, option="bridge"):
    if not name:
        raise InputError(option, "is required with type=ovs: the Open vSwitch bridge the port belongs to")
    if name not in bridges:
        raise InputError(option, "Open vSwitch bridge %s does not exist; create it first (host_bridge type=ovs)" % name)


PORT_COLUMNS = ("tag", "trunks", "vlan_mode")


def plan(ovs, name, have, want, plan_=None, what="port"):
    """Steps from the observed port `have` (None: none) to `want` (None: removed), both in the form
    `observe` gives; appended to `plan_` (a new Plan when None), which is returned."""
    out = plan_ if plan_ is not None else Plan(have)
    if want is None:
        if have is not None:
            out.step("remove %s %s from %s" % (what, name, have["bridge"]), lambda: ovs.del_port(name),
                     undo=lambda: add(ovs, name, have))
        return out
    if have is None or have["bridge"] != want["bridge"]:
        if have is not None:
            out.step("move %s %s from %s to %s" % (what, name, have["bridge"], want["bridge"]),
                     lambda: (ovs.del_port(name), add(ovs, name, want)),
                     undo=lambda: (ovs.del_port(name), add(ovs, name, have)), partial=True)
        else:
            out.step("add %s %s to %s" % (what, name, want["bridge"]), lambda: add(ovs, name, want),
                     undo=lambda: ovs.del_port(name), partial=True)
        return out
    if (have["interface_type"], have["options"]) != (want["interface_type"], want["options"]):
        out.step("set %s %s options %s" % (what, name, _text(want["options"]) or "(none)"),
                 lambda: ovs.set_interface(name, type=want["interface_type"], options=want["options"]),
                 undo=lambda: ovs.set_interface(name, type=have["interface_type"], options=have["options"]))
    changed = {k: want[k] for k in PORT_COLUMNS if have[k] != want[k]}
    if changed:
        old = {k: have[k] for k in changed}
        out.step("set %s of %s %s" % (", ".join("%s=%s" % (k, v) for k, v in sorted(changed.items())), what, name),
                 lambda: ovs.set_port(name, **changed), undo=lambda: ovs.set_port(name, **old))
    return out


def add(ovs, name, port):
    ovs.add_port(port["bridge"], name, type=port["interface_type"], options=port["options"] or None,
                 tag=port["tag"], trunks=port["trunks"] or None, vlan_mode=port["vlan_mode"])


def _text(options):
    return ",".join("%s=%s" % item for item in sorted(options.items()))
