# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker networks: bridge, internal (host-only), macvlan (bridged onto a host interface).

Container membership changes in place; anything else Docker cannot change on an existing network,
so the network is replaced and the containers attached to it are reattached with their aliases
and fixed addresses. What Docker would refuse about the new network (a subnet another network
has, an unknown driver, a missing parent interface, IPv6 without an IPv6 pool) is checked before
anything is removed; when the creation still fails, the rollback creates the old network again
as it was and reattaches its containers.

Labels are compared the way community.docker does: the labels the task names must have its
values; other labels on the network are no difference, and a replacement keeps them.
"""

from __future__ import annotations

import ipaddress
import os

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import (
    Change,
    Opt,
    Plan,
    differences,
    name_opt,
    state_opt,
)
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
    MANAGED_LABEL,
    MANAGED_VALUE,
    DockerService,
)
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import strings
from ansible_collections.virtcloud.core.plugins.module_utils.docker.volume import KEEP_OTHER_LABELS, own_labels

try:
    from docker.types import IPAMConfig, IPAMPool
except ImportError:  # reported by the engine (DockerService.requirements)
    IPAMConfig = IPAMPool = None

POOL = {
    "subnet": Opt(required=True),
    "gateway": Opt(),
    "iprange": Opt(),
    "aux_addresses": Opt(type="dict"),
}

# the state of a network to be created, before the task's values are put in
NEW = {"driver": "bridge", "id": None, "ipam_config": None, "enable_ipv6": False, "internal": False, "attachable": False,
       "parent": None, "driver_options": {}, "labels": {}, "connected": []}
STATE = ("name",) + tuple(NEW)


def pools(entries, option):
    """The task's address pools, checked and sorted (IPv4 first, then by subnet): [{subnet,
    gateway, iprange, aux_addresses}]. `option` names where they came from: subnet (the short
    form, its fields are the options gateway and ip_range) or ipam_config."""
    if entries is None:
        return None
    out = []
    for index, entry in enumerate(entries):
        where = "ipam_config[%d]" % index

        def field(name, where=where):
            return "%s.%s" % (where, name) if option == "ipam_config" else {"iprange": "ip_range"}.get(name, name)

        subnet = ipaddress.ip_network(validate.ip_network(entry.get("subnet"), field("subnet")))
        pool = {"subnet": str(subnet), "gateway": validate.ip_address(entry.get("gateway"), field("gateway")),
                "iprange": validate.ip_network(entry.get("iprange"), field("iprange")), "aux_addresses": None}
        if pool["gateway"] and ipaddress.ip_address(pool["gateway"]) not in subnet:
            raise InputError(field("gateway"), "%s is outside subnet %s" % (pool["gateway"], subnet))
        if pool["iprange"] and not _inside(ipaddress.ip_network(pool["iprange"]), subnet):
            raise InputError(field("iprange"), "%s is not inside subnet %s" % (pool["iprange"], subnet))
        if entry.get("aux_addresses") is not None:
            aux = strings(entry["aux_addresses"], field("aux_addresses"))
            pool["aux_addresses"] = {k: validate.ip_address(v, field("aux_addresses")) for k, v in aux.items()}
            for host, address in pool["aux_addresses"].items():
                if ipaddress.ip_address(address) not in subnet:
                    raise InputError(field("aux_addresses"), "%s (%s) is outside subnet %s" % (address, host, subnet))
        for other in out:
            if _overlap(subnet, ipaddress.ip_network(other["subnet"])):
                raise InputError(where, "subnet %s overlaps %s of another entry" % (subnet, other["subnet"]))
        out.append(pool)
    return sorted(out, key=_order)


def _order(pool):
    return ipaddress.ip_network(pool["subnet"]).version, pool["subnet"]


def _overlap(one, other):
    return one.version == other.version and one.overlaps(other)


def _inside(network, subnet):
    return network.version == subnet.version and network.subnet_of(subnet)


def has_ipv6(pool_list):
    return any(ipaddress.ip_network(p["subnet"]).version == 6 for p in pool_list or [])


def pools_differ(want, have):
    """Whether the pools the task names differ from the network's: the same subnets, and each
    value the task sets (gateway, iprange, aux_addresses) equal; order has no meaning."""
    if want is None:
        return False
    have = {p["subnet"]: p for p in have or []}
    if sorted(p["subnet"] for p in want) != sorted(have):
        return True
    return any(value is not None and value != have[pool["subnet"]][key] for pool in want for key, value in pool.items())


class NetworkService(DockerService):
    result_key = "network"
    options = {
        "name": name_opt(),
        "driver": Opt(default="bridge", update="recreate"),
        # subnet, gateway, ip_range: one pool, the short form of ipam_config
        "subnet": Opt(),
        "gateway": Opt(),
        "ip_range": Opt(),
        "ipam_config": Opt(type="list", elements="dict", options=POOL),  # compared by pools_differ
        "enable_ipv6": Opt(type="bool", update="recreate"),
        "internal": Opt(type="bool", default=False, update="recreate"),
        "attachable": Opt(type="bool", default=False, update="recreate"),
        "parent": Opt(update="recreate"),
        "driver_options": Opt(type="dict", update="recreate"),
        "labels": Opt(type="dict", update="recreate"),  # compared as KEEP_OTHER_LABELS says
        "connected": Opt(type="list", elements="str", compare="set", update="live"),
        "appends": Opt(type="bool", default=False),
        "state": state_opt(["present", "absent"]),
    }
    module_kwargs = {"required_by": {"gateway": "subnet", "ip_range": "subnet"},
                     "mutually_exclusive": [("ipam_config", "subnet"), ("ipam_config", "gateway"),
                                            ("ipam_config", "ip_range")],
                     "required_if": [("driver", "macvlan", ("parent",))]}

    def desired(self):
        p = self.params
        if p["subnet"] is not None:
            ipam = pools([{"subnet": p["subnet"], "gateway": p["gateway"], "iprange": p["ip_range"]}], "subnet")
        else:
            ipam = pools(p["ipam_config"], "ipam_config")
        enable_ipv6 = p["enable_ipv6"]
        if has_ipv6(ipam):
            if enable_ipv6 is False:
                raise InputError("enable_ipv6", "is false, but an IPv6 subnet is given: Docker would ignore the "
                                                "subnet; set enable_ipv6: true or drop the IPv6 subnet")
            enable_ipv6 = True
        elif enable_ipv6 is None and ipam is not None:
            enable_ipv6 = False  # the pools are managed, and none is IPv6
        desired = {
            "name": names.network(p["name"], "name"), "driver": p["driver"], "state": p["state"],
            "ipam_config": ipam, "ipam_option": "subnet" if p["subnet"] is not None else "ipam_config",
            "enable_ipv6": enable_ipv6, "internal": p["internal"], "attachable": p["attachable"],
            "parent": validate.interface_name(p["parent"], "parent"),
            "driver_options": strings(p["driver_options"], "driver_options"),
            "labels": strings(p["labels"], "labels"),
            "connected": None if p["connected"] is None else sorted({names.container(c, "connected")
                                                                     for c in p["connected"]}),
            "appends": bool(p["appends"]),
        }
        if desired["parent"] and desired["driver"] not in ("macvlan", "ipvlan"):
            raise InputError("parent", "only macvlan and ipvlan networks have a parent interface")
        return desired

    def observe(self, desired, batch=None):
        info = self.inspect("network", desired["name"])
        return None if info is None else self._state(info)

    @staticmethod
    def _state(info):
        options = dict(info.get("Options") or {})
        ipam = [{"subnet": c.get("Subnet"), "gateway": c.get("Gateway") or None, "iprange": c.get("IPRange") or None,
                 "aux_addresses": c.get("AuxiliaryAddresses") or None}
                for c in (info.get("IPAM") or {}).get("Config") or [] if c.get("Subnet")]
        return {
            "id": info["Id"], "name": info["Name"], "driver": info["Driver"],
            "ipam_config": sorted(ipam, key=_order),
            "enable_ipv6": bool(info.get("EnableIPv6")), "internal": bool(info.get("Internal")),
            "attachable": bool(info.get("Attachable")),
            "parent": options.pop("parent", None), "driver_options": options,
            "labels": own_labels(info.get("Labels")),
            "connected": sorted(c["Name"] for c in (info.get("Containers") or {}).values()),
        }

    def facts(self, state):
        """The state, with the first pool (IPv4 first) also as subnet, gateway and ip_range."""
        if not state:
            return state
        first = (state.get("ipam_config") or [{}])[0]
        return dict(state, subnet=first.get("subnet"), gateway=first.get("gateway"), ip_range=first.get("iprange"))

    def plan(self, desired, observed):
        name = desired["name"]
        plan = Plan(observed)
        connected = (observed or {}).get("connected") or []
        if desired["state"] == "absent":
            plan.after = None
            if observed is not None:
                for container in connected:
                    plan.step("disconnect container %s from network %s" % (container, name),
                              lambda c=container: self.api.disconnect_container_from_network(c, name, force=True))
                plan.step("remove network %s" % name, lambda: self.api.remove_network(name))
            return plan
        wanted = connected if desired["connected"] is None else desired["connected"]
        if desired["appends"]:
            wanted = sorted(set(wanted) | set(connected))
        for container in wanted:
            if self.inspect("container", container) is None:
                raise InputError("connected", "container %r does not exist" % container)
        plan.changes = [] if observed is None else self._changes(desired, observed)
        recreate = observed is None or any(c.update == "recreate" for c in plan.changes)
        managed = {k: desired[k] for k in STATE if desired.get(k) is not None}
        plan.after = dict(observed or dict(NEW, name=name), **managed)
        plan.after.update(connected=wanted, labels=dict((observed or {}).get("labels") or {}, **desired["labels"] or {}))
        if not recreate:
            for container in sorted(set(connected) - set(wanted)):
                plan.step("disconnect container %s from network %s" % (container, name),
                          lambda c=container: self.api.disconnect_container_from_network(c, name))
            for container in sorted(set(wanted) - set(connected)):
                plan.step("connect container %s to network %s" % (container, name),
                          lambda c=container: self._connect(c, name, {}, None))
            return plan
        plan.after.update(id=None)
        self._check_create(desired, plan.after, observed)
        self._replace(plan, observed, wanted)
        return plan

    def _changes(self, desired, observed):
        changes = differences(self.options, dict(desired, connected=None), observed, KEEP_OTHER_LABELS)
        if pools_differ(desired["ipam_config"], observed["ipam_config"]):
            changes.append(Change("ipam_config", observed["ipam_config"], desired["ipam_config"], "recreate"))
        return changes

    def _replace(self, plan, observed, wanted):
        """Steps that create the network as `plan.after` says, replacing `observed` if it exists.
        Every step can be undone: a failure restores the old network and its containers."""
        name, spec = plan.after["name"], plan.after
        # endpoints (aliases, fixed addresses) and the old network are read before it goes away
        endpoints = {c: self._endpoint(c, name) for c in wanted}
        if observed is not None:
            old = self.inspect("network", observed["id"])
            for container in observed["connected"]:
                endpoint = endpoints.get(container) or self._endpoint(container, name)
                plan.step("disconnect container %s from network %s (recreate)" % (container, name),
                          lambda c=container: self.api.disconnect_container_from_network(c, name, force=True),
                          undo=lambda c=container, e=endpoint: self._reconnect(c, name, e))
            plan.step("remove network %s (recreate)" % name, lambda: self.api.remove_network(observed["id"]),
                      undo=lambda: self._restore(old))
        plan.step("create network %s" % name, lambda: self._create(spec, dict(spec["labels"], **{MANAGED_LABEL: MANAGED_VALUE})),
                  undo=lambda: self.api.remove_network(name))
        for container in wanted:
            plan.step("connect container %s to network %s" % (container, name),
                      lambda c=container: self._connect(c, name, endpoints[c], spec["ipam_config"]),
                      undo=lambda c=container: self.api.disconnect_container_from_network(c, name, force=True))

    def _check_create(self, desired, spec, observed):
        """What Docker would refuse about creating `spec`, checked before anything is removed:
        a known driver, the parent interface, an IPv6 pool for IPv6, subnets no other network has."""
        info = self.api.info()
        drivers = ((info.get("Plugins") or {}).get("Network") or [])
        if spec["driver"] not in drivers and not self._plugin(spec["driver"]):
            raise InputError("driver", "Docker has no network driver %r; it has %s"
                             % (spec["driver"], ", ".join(sorted(drivers))))
        if spec["parent"] and self.params.get("docker_host", "").startswith("unix://"):
            base = spec["parent"].split(".")[0]  # eth1.20: docker creates VLAN 20 on eth1
            if not os.path.exists(os.path.join("/sys/class/net", base)):
                raise InputError("parent", "host interface %s does not exist" % base)
        if spec["enable_ipv6"] and not has_ipv6(spec["ipam_config"]) and self._needs_ipv6_pool(info):
            raise InputError("enable_ipv6", "this dockerd has no IPv6 address pool to pick from: add an IPv6 "
                                            "subnet to ipam_config (e.g. fd00:198:18:1::/64)")
        if desired["ipam_config"] is not None:
            self._check_overlaps(desired["ipam_config"], desired["ipam_option"], (observed or {}).get("id"))

    @staticmethod
    def _needs_ipv6_pool(info):
        """Docker before 27 picks IPv6 subnets only from IPv6 default address pools."""
        try:
            major = int(str(info.get("ServerVersion", "")).split(".", maxsplit=1)[0])
        except ValueError:
            major = 0
        return major < 27 and not any(":" in (p.get("Base") or "") for p in info.get("DefaultAddressPools") or [])

    def _plugin(self, driver):
        return any(p.get("Enabled") and driver in (p.get("Name"), (p.get("Name") or "").rsplit(":latest", 1)[0])
                   for p in self.api.plugins())

    def _check_overlaps(self, wanted, option, own_id):
        ours = [ipaddress.ip_network(p["subnet"]) for p in wanted]
        for network in self.api.networks():
            if network["Id"] == own_id:
                continue
            for config in (network.get("IPAM") or {}).get("Config") or []:
                if not config.get("Subnet"):
                    continue
                theirs = ipaddress.ip_network(config["Subnet"], strict=False)
                for subnet in ours:
                    if _overlap(subnet, theirs):
                        raise InputError(option, "%s overlaps subnet %s of Docker network %s%s"
                                         % (subnet, config["Subnet"], network["Name"],
                                            "; the network was left as it is" if own_id else ""))

    def _endpoint(self, container, network):
        info = self.inspect("container", container) or {}
        endpoint = ((info.get("NetworkSettings") or {}).get("Networks") or {}).get(network) or {}
        automatic = (info.get("Id", "")[:12], (info.get("Config") or {}).get("Hostname"))
        fixed = endpoint.get("IPAMConfig") or {}
        return {"aliases": [a for a in endpoint.get("Aliases") or [] if a not in automatic],
                "ipv4_address": fixed.get("IPv4Address") or None, "ipv6_address": fixed.get("IPv6Address") or None}

    def _connect(self, container, name, endpoint, pool_list):
        addresses = {}
        for key in ("ipv4_address", "ipv6_address"):
            address = endpoint.get(key)
            if address and pool_list is not None and not any(
                    ipaddress.ip_address(address) in ipaddress.ip_network(p["subnet"]) for p in pool_list):
                address = None  # the fixed address does not fit the new subnets; docker assigns one
            addresses[key] = address
        self.api.connect_container_to_network(container, name, aliases=endpoint.get("aliases") or None, **addresses)

    def _reconnect(self, container, name, endpoint):
        try:
            self._connect(container, name, endpoint, None)
        except Exception as exc:
            raise BackendError("container %s is left disconnected from network %s: %s"
                               % (container, name, self._why(exc)))

    def _restore(self, info):
        """Create the removed network again as `info` (its inspection) describes it."""
        state = self._state(info)
        ipam = info.get("IPAM") or {}
        try:
            self._create(state, info.get("Labels") or {}, ipam.get("Driver"), ipam.get("Options"))
        except Exception as exc:
            raise BackendError("network %s is gone, creating it again failed: %s" % (info["Name"], self._why(exc)))

    def _why(self, exc):
        error = self.translate(exc)
        return error.msg if error is not None else str(exc)

    def _create(self, spec, labels, ipam_driver=None, ipam_options=None):
        ipam = None
        if spec["ipam_config"] or ipam_driver not in (None, "default") or ipam_options:
            ipam = IPAMConfig(driver=ipam_driver or "default", options=ipam_options or None, pool_configs=[
                IPAMPool(subnet=p["subnet"], gateway=p["gateway"], iprange=p["iprange"],
                         aux_addresses=p["aux_addresses"]) for p in spec["ipam_config"] or []])
        options = dict(spec["driver_options"] or {})
        if spec["parent"]:
            options["parent"] = spec["parent"]
        self.api.create_network(spec["name"], driver=spec["driver"], options=options or None, ipam=ipam,
                                internal=spec["internal"], attachable=spec["attachable"],
                                enable_ipv6=spec["enable_ipv6"], check_duplicate=True, labels=labels)
