# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_network_info: the host's interfaces, addresses, bridges, VLANs, VXLANs and Open vSwitch
bridges and ports, from one netlink snapshot (two or three dumps; one more for the VLANs of the ports
of VLAN-filtering bridges, where there are any) and one OVSDB transaction."""

from __future__ import annotations

import os

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import InfoService, Opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendUnavailable
from ansible_collections.virtcloud.core.plugins.module_utils.net.host import HostService
from ansible_collections.virtcloud.core.plugins.module_utils.net.vlan import bridge_port_facts

DEFAULT_SOCKET = "/var/run/openvswitch/db.sock"


class NetworkInfoService(InfoService, HostService):
    result_key = None
    connection = {"ovsdb": Opt(default=None)}
    options = {
        "names": Opt(type="list", elements="str",
                     parse=lambda v, o: [validate.interface_name(n, "%s[%d]" % (o, i)) for i, n in enumerate(v)]),
        "ovs": Opt(default="auto", choices=["auto", "always", "never"]),
    }

    def observe(self, desired, batch=None):
        links = self.kernel.snapshot()
        wanted = set(desired["names"]) if desired["names"] is not None else None
        shown = [link for name, link in sorted(links.items()) if wanted is None or name in wanted]
        out = {
            "interfaces": [{k: link[k] for k in ("name", "kind", "enabled", "operstate", "mtu", "mac", "master", "addresses")}
                           for link in shown],
            "bridges": [{"name": link["name"], "ports": link["ports"], **link["bridge"]} for link in shown if link["bridge"]],
            "vlans": [{"name": link["name"], **link["vlan"]} for link in shown if link["vlan"]],
            "vxlans": [{"name": link["name"], "bridge": link["master"], **link["vxlan"]} for link in shown if link["vxlan"]],
            "ovs": None,
        }
        filtering = [bridge for bridge in out["bridges"] if bridge["vlan_filtering"]]
        if filtering:  # one more dump, only on a host with a VLAN-filtering bridge
            vlans = self.kernel.bridge_vlans()
            for bridge in filtering:
                bridge["port_vlans"] = {port: bridge_port_facts(vlans.get(port, {})) for port in bridge["ports"]}
        ovs = self.open_ovs(desired)
        if ovs is not None:
            snapshot = ovs.snapshot()
            out["ovs"] = {"bridges": [self.ovs_bridge(name, bridge) for name, bridge in sorted(snapshot["bridges"].items())
                                      if wanted is None or name in wanted
                                      or wanted & set(bridge["ports"])]}
        out["round_trips"] = {"netlink": self.kernel.requests, "ovsdb": ovs.requests if ovs is not None else 0}
        return out

    def open_ovs(self, desired):
        """The OVSDB connection; with ovs=auto none when Open vSwitch is not installed or not running here."""
        if desired["ovs"] == "never":
            return None
        from ansible_collections.virtcloud.core.plugins.module_utils.net.ovs import Ovs  # pylint: disable=import-outside-toplevel
        socket = self.params.get("ovsdb")
        if desired["ovs"] == "auto" and socket is None and not os.path.exists(DEFAULT_SOCKET):
            return None
        try:
            return Ovs(socket)
        except BackendUnavailable:
            if desired["ovs"] == "always":
                raise
            return None

    @staticmethod
    def ovs_bridge(name, bridge):
        return {"name": name, **{k: bridge[k] for k in ("datapath_type", "fail_mode", "controllers", "protocols")},
                "ports": [{"name": port_name, "tag": port["tag"], "trunks": port["trunks"], "vlan_mode": port["vlan_mode"],
                           "interfaces": [{"name": n, **i} for n, i in sorted(port["interfaces"].items())]}
                          for port_name, port in sorted(bridge["ports"].items())]}
