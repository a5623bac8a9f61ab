# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every host_* service shares: the kernel link it manages (create, recreate, change in
place, ports, addresses, up/down), the guard of the connection Ansible uses, and persistence.

A service describes its kind of link with a few methods (`facts_of`, `create_args`, `immutable`,
`mutable`); `LinkService.plan` turns desired into steps, each with its undo, so a failure
midway puts back what this run changed (engine.apply).
"""

from __future__ import annotations

import ipaddress
import os

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, Service
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.net import netlink, ovsport

LINK_FACTS = ("name", "type", "enabled", "mtu", "mac", "addresses")


def addresses(value, option):
    """A list of IP interfaces ("198.18.5.1/24"), normalised and sorted; duplicates refused."""
    if value is None:
        return None
    out = [str(validate.ip_interface(item, "%s[%d]" % (option, i))) for i, item in enumerate(value)]
    if len(set(out)) != len(out):
        raise InputError(option, "an address is given twice: %s" % ", ".join(out))
    return sorted(out, key=netlink.address_key)


def names(value, option):
    """A list of interface names, sorted, each checked."""
    if value is None:
        return None
    out = [validate.interface_name(item, "%s[%d]" % (option, i)) for i, item in enumerate(value)]
    if len(set(out)) != len(out):
        raise InputError(option, "an interface is given twice")
    return sorted(out)


def ip(value, option, multicast=None):
    """One IP address; `multicast` True or False requires that kind."""
    if value is None:
        return None
    parsed = ipaddress.ip_address(validate.ip_address(value, option))
    if multicast is True and not parsed.is_multicast:
        raise InputError(option, "%s is not a multicast address (e.g. 239.1.1.1)" % parsed)
    if multicast is False and parsed.is_multicast:
        raise InputError(option, "%s is a multicast address; give it as group, or a unicast address here" % parsed)
    return str(parsed)


# persist.FORMATS: net/persist (uuid, hashlib, tempfile: a sixth of a module's own import time) is
# imported only by a task that persists
PERSIST_FORMATS = ("ifupdown", "networkd", "nm_keyfile")


def _persist():
    from ansible_collections.virtcloud.core.plugins.module_utils.net import persist  # pylint: disable=import-outside-toplevel
    return persist


# the link rows of every host_* module that manages a link
LINK_OPTIONS = {
    "enabled": Opt(type="bool", default=True),
    "mtu": Opt(type="int", parse=validate.mtu),
    "addresses": Opt(type="list", elements="str", parse=addresses),
}

# options of every host_* module that changes the host (doc fragment virtcloud.core.host.change)
CHANGE_OPTIONS = {
    "persist": Opt(default="none", choices=["none", "auto", *PERSIST_FORMATS]),
    "persist_dir": Opt(type="path"),
    "force": Opt(type="bool", default=False),
}


def connection_address():
    """The address of this host that the controller's SSH connection arrived at, or None for a
    local connection. SSH_CONNECTION ('client port server port') is in the module's environment, or,
    under become (sudo resets the environment), in that of a process it runs under."""
    value, pid = os.environ.get("SSH_CONNECTION"), os.getppid()
    for _level in range(32):
        if value or pid <= 1:
            break
        value, pid = _ancestor(pid)
    parts = (value or "").split()
    if len(parts) == 4:
        try:
            return str(ipaddress.ip_address(parts[2].split("%")[0]))
        except ValueError:
            return None
    return None


def _ancestor(pid):
    """(SSH_CONNECTION of process pid or None, its parent's pid; 0 when unreadable)."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as handle:
            env = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
        with open("/proc/%d/stat" % pid) as handle:
            parent = int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None, 0
    value = env.get(b"SSH_CONNECTION")
    return (value.decode(errors="replace") if value else None), parent


def guard(links, cuts, force):
    """Refuse (unless force) a plan that would cut the connection Ansible uses. `cuts`: (interface,
    what the plan does to it) for each interface that loses an address, goes down, is deleted, is
    detached or becomes a bridge port. What matters is the path of the connection: the interface
    that has the address, the bridges above it, and the ports and parents below them."""
    address = connection_address()
    if force or address is None:
        return
    carrying = [link["name"] for link in links.values()
                if any(a.split("/")[0] == address for a in link["addresses"])]
    path, todo = set(), list(carrying)
    while todo:
        name = todo.pop()
        link = links.get(name)
        if name in path or link is None:
            continue
        path.add(name)
        todo.extend([link["master"]] if link["master"] else [])
        if name in carrying or link["kind"] == "bridge":
            todo.extend(link["ports"])
        todo.extend([link["vlan"]["parent"]] if link["vlan"] else [])
    for name, what in cuts:
        if name in path:
            raise InputError("force", "this change %s, which carries the connection Ansible uses (SSH to %s); "
                                      "it would cut this run off. Set force=true to do it anyway" % (what, address))


class HostService(Service):
    """Base of the host_* services: a kernel (netlink) connection and the persistence options."""

    result_key = "interface"
    kernel = None

    def connect(self):
        self.kernel = netlink.Kernel()

    def persistence(self, desired):
        """(format, directory) the task asks for, or None. `auto` picks the host's own tool."""
        fmt = desired.get("persist") or "none"
        if fmt == "none":
            return None
        if fmt == "auto":
            fmt, reason = _persist().detect()
            if fmt is None:
                raise InputError("persist", "auto found no network configuration tool on this host (%s); "
                                            "name one (ifupdown, networkd, nm_keyfile) or none" % reason)
        return fmt, desired.get("persist_dir") or _persist().default_dir(fmt)

    def plan_persist(self, plan, target, obj=None, name=None):
        """Steps that write (obj) or remove (name) the object's configuration files."""
        if target is None:
            return
        fmt, directory = target
        persist = _persist()
        changes = persist.changes(fmt, obj, directory) if obj is not None else persist.removal(fmt, name, directory)
        if not changes:
            return
        paths = [path for path, _content in changes]
        saved = {}

        def write():
            saved.update(persist.snapshot(paths))
            persist.write(changes)

        plan.step("write %s configuration (%s)" % (fmt, ", ".join(sorted(paths))), write,
                  undo=lambda: persist.restore(saved))


class LinkService(HostService):
    """A kernel link of one kind. Subclasses define:
        kind            -- the rtnetlink kind ("bridge", "vxlan", "vlan")
        facts_of(link)  -- the facts of an observed link
        created(d)      -- the facts a new link gets from the desired state (kernel defaults filled)
        create_args(f)  -- keyword arguments of Kernel.create for a link with the facts f (data, link)
        immutable       -- facts that only a new link changes
        mutable         -- fact -> function(value) giving the keyword arguments of Kernel.change
    """

    kind = None
    immutable = ()
    mutable = {"mtu": lambda v: {"mtu": v}}  # every link's MTU changes in place
    master_fact = None  # the fact naming the bridge the link is a port of ("bridge"), if any
    port_what = None    # with type=ovs the service manages an Open vSwitch port: what to call it
    ovs = None

    def connect(self):
        super().connect()
        if self.params.get("type") == "ovs":
            from ansible_collections.virtcloud.core.plugins.module_utils.net.ovs import Ovs  # pylint: disable=import-outside-toplevel
            self.ovs = Ovs(self.params.get("ovsdb"))

    def facts_type(self):
        return "ovs" if self.params.get("type") == "ovs" else self.kind

    @staticmethod
    def check_ovs_persist(desired):
        if desired["type"] == "ovs" and desired["persist"] != "none":
            raise InputError("persist", "Open vSwitch keeps its configuration in its own database (conf.db); it "
                                        "survives a reboot without persist, so leave it at none")

    # ------------------------------------------------------------------ an Open vSwitch port (type=ovs)
    def plan_port(self, desired, observed):
        """The plan of the Open vSwitch port form: `port_after(desired, observed)` gives the predicted
        facts, `ovs_port(facts)` the port they make (both of the subclass)."""
        name = desired["name"]
        have = self.ovs_port(observed)
        if desired["state"] == "absent":
            out = ovsport.plan(self.ovs, name, have, None, what=self.port_what)
            out.after = None
            return out
        _port, bridges = ovsport.observe(self.ovs, name)
        ovsport.require_bridge(bridges, desired["bridge"])
        after = self.port_after(desired, observed)
        return ovsport.plan(self.ovs, name, have, self.ovs_port(after), Plan(observed, after=after), what=self.port_what)

    def port_after(self, desired, observed):
        raise NotImplementedError

    def ovs_port(self, facts):
        raise NotImplementedError

    def observe(self, desired, batch=None):
        link = self.kernel.snapshot().get(desired["name"])
        return None if link is None else self.facts_of(link)

    def resolve(self, desired, observed, batch=None):
        self.check_kind(observed)
        return desired

    def delete(self, facts):
        self.kernel.delete(facts["name"])

    def check_kind(self, observed, option="name"):
        if observed is not None and observed.get("type") != self.facts_type():
            wanted = "Open vSwitch " + self.port_what if self.facts_type() == "ovs" else "%s device" % self.kind
            raise InputError(option, "%s exists and is a %s, not a %s; choose another name"
                             % (observed["name"], observed.get("type"), wanted))

    def base_facts(self, link):
        return {"name": link["name"], "type": link["kind"], "enabled": link["enabled"], "mtu": link["mtu"],
                "mac": link["mac"], "addresses": list(link["addresses"])}

    def wanted(self, desired, observed):
        """The facts after the change: observed (or a new link) with every managed option applied."""
        after = dict(observed) if observed is not None else self.created(desired)
        for key, value in desired.items():
            if key in after and value is not None and key not in ("name", "type"):
                after[key] = value
        return after

    def check_references(self, links, desired):
        """The interfaces the task names exist; its addresses are on no other interface."""
        master = self.master_fact and desired.get(self.master_fact)
        if master:
            link = netlink.require_interface(links, master, self.master_fact)
            if link["kind"] != "bridge":
                raise InputError(self.master_fact, "%s is a %s, not a Linux bridge" % (master, link["kind"]))
        self.check_addresses(links, desired)

    @staticmethod
    def check_addresses(links, desired):
        """The task's addresses are on no other interface."""
        for address in desired.get("addresses") or []:
            ip_only = address.split("/")[0]
            for link in links.values():
                if link["name"] != desired["name"] and any(a.split("/")[0] == ip_only for a in link["addresses"]):
                    raise InputError("addresses", "%s is already an address of %s; remove it there first"
                                     % (ip_only, link["name"]))

    def plan(self, desired, observed):
        target = self.persistence(desired)
        links = self.kernel.snapshot()
        if desired["state"] == "absent":
            plan = Plan(observed)
            plan.after = None
            if observed is not None:
                guard(links, [(observed["name"], "deletes %s" % observed["name"])], desired.get("force"))
                saved = observed
                plan.step("delete %s %s" % (self.kind, observed["name"]), lambda: self.delete(saved),
                          undo=lambda: self.build(saved))
            self.plan_persist(plan, target, name=desired["name"])
            return plan
        self.check_references(links, desired)
        after = self.wanted(desired, observed)
        plan = Plan(observed, after=after)
        cuts = []
        name = desired["name"]
        recreate = observed is not None and any(observed.get(k) != after.get(k) for k in self.immutable)
        if observed is None or recreate:
            if recreate:
                before = observed
                cuts.append((name, "deletes and recreates %s" % name))
                plan.step("recreate %s %s (%s changed)" % (self.kind, name, ", ".join(
                    k for k in self.immutable if observed.get(k) != after.get(k))),
                    lambda: (self.delete(before), self.build(after)),
                    undo=lambda: (self.delete(before), self.build(before)), partial=True)
                plan.after["mac"] = None  # a new link gets a new MAC
            else:
                plan.step("create %s %s" % (self.kind, name), lambda: self.build(after),
                          undo=lambda: self.delete(after), partial=True)
            cuts.extend((port, "makes %s a port of %s" % (port, name)) for port in after.get("ports") or [])
        else:
            self.plan_changes(plan, observed, after, cuts)
        guard(links, cuts, desired.get("force"))
        obj = self.persisted(self.to_persist(desired, after))
        if obj is not None:
            self.plan_persist(plan, target, obj=obj)
        return plan

    @staticmethod
    def to_persist(desired, after):
        """What the configuration files say: what the task manages, so that they depend on its input
        only - not the MTU the kernel picked, nor the ports other tasks added (a VXLAN that joins a
        bridge writes that in its own file)."""
        return {**after, "mtu": desired.get("mtu"), "ports": desired.get("ports") or []}

    def build(self, facts):
        """Create the link with everything the facts say, in as few requests as it takes."""
        name = facts["name"]
        self.kernel.create(name, self.kind, **self.create_args(facts))
        self.connect_extra(facts, None)
        if facts.get("mtu"):  # after the ports: a bridge takes the smallest MTU of its ports until one is set
            self.kernel.change(name, mtu=facts["mtu"])
        for address in facts.get("addresses") or []:
            self.kernel.address(name, address)
        if facts.get("enabled"):
            self.kernel.set_enabled(name, True)

    def connect_extra(self, facts, before):
        """What a link needs besides its creation attributes (its master, flood entries)."""
        master = self.master_fact and facts.get(self.master_fact)
        if master and (before is None or before.get(self.master_fact) != master):
            self.kernel.set_master(facts["name"], master)

    def plan_changes(self, plan, observed, after, cuts):
        name = observed["name"]
        for fact, attrs in self.mutable.items():
            if observed.get(fact) != after.get(fact):
                new, old = attrs(after[fact]), attrs(observed[fact])
                plan.step("set %s of %s to %s" % (fact, name, after[fact]),
                          lambda new=new: self.kernel.change(name, **new), undo=lambda old=old: self.kernel.change(name, **old))
        self.plan_extra(plan, observed, after, cuts)
        have, want = set(observed["addresses"]), set(after["addresses"])
        for address in sorted(want - have, key=netlink.address_key):
            plan.step("add address %s to %s" % (address, name), lambda a=address: self.kernel.address(name, a),
                      undo=lambda a=address: self.kernel.address(name, a, add=False))
        for address in sorted(have - want, key=netlink.address_key):
            cuts.append((name, "removes address %s" % address.split("/")[0]))
            plan.step("remove address %s from %s" % (address, name),
                      lambda a=address: self.kernel.address(name, a, add=False),
                      undo=lambda a=address: self.kernel.address(name, a))
        if observed["enabled"] != after["enabled"]:
            if not after["enabled"]:
                cuts.append((name, "takes %s down" % name))
            plan.step("set %s %s" % (name, "up" if after["enabled"] else "down"),
                      lambda: self.kernel.set_enabled(name, after["enabled"]),
                      undo=lambda: self.kernel.set_enabled(name, observed["enabled"]))

    def plan_extra(self, plan, observed, after, cuts):
        """Kind-specific in-place changes (ports, master, flood entries)."""
        master = self.master_fact
        if master and observed.get(master) != after.get(master):
            name = observed["name"]
            plan.step("attach %s to %s" % (name, after[master]) if after[master] else "detach %s from %s"
                      % (name, observed[master]),
                      lambda: self.kernel.set_master(name, after[master]),
                      undo=lambda: self.kernel.set_master(name, observed[master]))

    def persisted(self, after):
        """The object as the persistence renderers take it."""
        raise NotImplementedError
