# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker networks: bridge, internal (host-only), macvlan (bridged onto a host interface).

Container membership changes in place; anything else Docker cannot change on an existing network,
so the network is replaced and the containers attached to it are reattached with their aliases
and fixed addresses.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, differences, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
    MANAGED_LABEL,
    MANAGED_VALUE,
    DockerService,
)
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import strings
from ansible_collections.virtcloud.core.plugins.module_utils.docker.volume import own_labels

try:
    from docker.types import IPAMConfig, IPAMPool
except ImportError:  # reported by the engine (DockerService.requirements)
    IPAMConfig = IPAMPool = None


class NetworkService(DockerService):
    result_key = "network"
    options = {
        "name": name_opt(),
        "driver": Opt(default="bridge", update="recreate"),
        "subnet": Opt(update="recreate"),
        "gateway": Opt(update="recreate"),
        "ip_range": Opt(update="recreate"),
        "internal": Opt(type="bool", default=False, update="recreate"),
        "parent": Opt(update="recreate"),
        "driver_options": Opt(type="dict", update="recreate"),
        "labels": Opt(type="dict", update="recreate"),
        "connected": Opt(type="list", elements="str", compare="set", update="live"),
        "state": state_opt(["present", "absent"]),
    }
    module_kwargs = {"required_by": {"gateway": "subnet", "ip_range": "subnet"},
                     "required_if": [("driver", "macvlan", ("parent",))]}

    def desired(self):
        p = self.params
        desired = {
            "name": names.network(p["name"], "name"), "driver": p["driver"], "state": p["state"],
            "subnet": validate.ip_network(p["subnet"], "subnet"), "gateway": validate.ip_address(p["gateway"], "gateway"),
            "ip_range": validate.ip_network(p["ip_range"], "ip_range"), "internal": p["internal"],
            "parent": validate.interface_name(p["parent"], "parent"),
            "driver_options": strings(p["driver_options"], "driver_options"),
            "labels": strings(p["labels"], "labels"),
            "connected": None if p["connected"] is None else sorted({names.container(c, "connected")
                                                                     for c in p["connected"]}),
        }
        subnet = desired["subnet"] and ipaddress.ip_network(desired["subnet"])
        if desired["gateway"] and ipaddress.ip_address(desired["gateway"]) not in subnet:
            raise InputError("gateway", "%s is outside subnet %s" % (desired["gateway"], subnet))
        if desired["ip_range"] and not ipaddress.ip_network(desired["ip_range"]).subnet_of(subnet):
            raise InputError("ip_range", "%s is not inside subnet %s" % (desired["ip_range"], subnet))
        if desired["parent"] and desired["driver"] not in ("macvlan", "ipvlan"):
            raise InputError("parent", "only macvlan and ipvlan networks have a parent interface")
        return desired

    def observe(self, desired, batch=None):
        info = self.inspect("network", desired["name"])
        if info is None:
            return None
        options = dict(info.get("Options") or {})
        pools = (info.get("IPAM") or {}).get("Config") or [{}]
        return {
            "id": info["Id"], "name": info["Name"], "driver": info["Driver"],
            "subnet": pools[0].get("Subnet"), "gateway": pools[0].get("Gateway"),
            "ip_range": pools[0].get("IPRange") or None, "internal": bool(info.get("Internal")),
            "parent": options.pop("parent", None), "driver_options": options,
            "labels": own_labels(info.get("Labels")),
            "connected": sorted(c["Name"] for c in (info.get("Containers") or {}).values()),
        }

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
        wanted = desired["connected"] if desired["connected"] is not None else connected
        for container in wanted:
            if self.inspect("container", container) is None:
                raise InputError("connected", "container %r does not exist" % container)
        plan.changes = [] if observed is None else differences(self.options, desired, observed)
        recreate = observed is None or any(c.update == "recreate" for c in plan.changes)
        plan.after = dict(observed or {}, **{k: v for k, v in desired.items() if v is not None and k != "state"})
        plan.after.update(connected=wanted)
        if recreate:
            plan.after.update(id=None)
            # endpoints (aliases, fixed address) are read before the network goes away
            endpoints = {c: self._endpoint(c) for c in wanted}
            for container in connected:
                plan.step("disconnect container %s from network %s (recreate)" % (container, name),
                          lambda c=container: self.api.disconnect_container_from_network(c, name, force=True))
            if observed is not None:
                plan.step("remove network %s (recreate)" % name, lambda: self.api.remove_network(observed["id"]))
            plan.step("create network %s" % name, lambda: self._create(desired),
                      undo=(lambda: self.api.remove_network(name)) if observed is None else None)
            for container in wanted:
                plan.step("connect container %s to network %s" % (container, name),
                          lambda c=container: self._connect(c, name, endpoints[c], desired["subnet"]))
            return plan
        for container in sorted(set(connected) - set(wanted)):
            plan.step("disconnect container %s from network %s" % (container, name),
                      lambda c=container: self.api.disconnect_container_from_network(c, name))
        for container in sorted(set(wanted) - set(connected)):
            plan.step("connect container %s to network %s" % (container, name),
                      lambda c=container: self._connect(c, name, {}, None))
        return plan

    def _endpoint(self, container):
        info = self.inspect("container", container) or {}
        endpoint = ((info.get("NetworkSettings") or {}).get("Networks") or {}).get(self.params["name"]) or {}
        automatic = (info.get("Id", "")[:12], (info.get("Config") or {}).get("Hostname"))
        return {"aliases": [a for a in endpoint.get("Aliases") or [] if a not in automatic],
                "ipv4_address": (endpoint.get("IPAMConfig") or {}).get("IPv4Address")}

    def _connect(self, container, name, endpoint, subnet):
        address = endpoint.get("ipv4_address")
        if address and subnet and ipaddress.ip_address(address) not in ipaddress.ip_network(subnet):
            address = None  # the fixed address does not fit the new subnet; docker assigns one
        self.api.connect_container_to_network(container, name, aliases=endpoint.get("aliases") or None,
                                              ipv4_address=address)

    def _create(self, desired):
        ipam = None
        if desired["subnet"]:
            ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=desired["subnet"], gateway=desired["gateway"],
                                                     iprange=desired["ip_range"])])
        options = dict(desired["driver_options"] or {})
        if desired["parent"]:
            options["parent"] = desired["parent"]
        self.api.create_network(desired["name"], driver=desired["driver"], options=options or None, ipam=ipam,
                                internal=desired["internal"], check_duplicate=True,
                                labels=dict(desired["labels"] or {}, **{MANAGED_LABEL: MANAGED_VALUE}))
