#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_network_info
short_description: Facts about the host's network - interfaces, addresses, bridges, VLANs, VXLANs, Open vSwitch
version_added: 0.2.0
description:
  - Reads every network interface with its addresses, the Linux bridges with their ports, the 802.1Q sub-interfaces,
    the VXLAN devices with their peers, and the Open vSwitch bridges with their ports and interfaces.
  - One pass - the kernel's links, addresses and VXLAN flood entries in three netlink dumps, Open vSwitch in one
    database transaction, however many objects there are (C(round_trips) says how many it took).
  - Changes nothing; C(changed) is always false.
seealso:
  - module: virtcloud.core.host_bridge
  - module: virtcloud.core.host_vlan
  - module: virtcloud.core.host_vxlan
options:
  names:
    description: Only these interfaces (and the Open vSwitch bridges named or having one of them as a port). All when omitted.
    type: list
    elements: str
  ovs:
    description:
      - Whether to read Open vSwitch - V(auto) when its database is reachable, V(always) (fail when it is not),
        V(never).
    type: str
    default: auto
    choices: [auto, always, never]
extends_documentation_fragment:
  - virtcloud.core.host
  - virtcloud.core.attributes.info
  - virtcloud.core.attributes.group_host
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: Read the host's network
  virtcloud.core.host_network_info:
  register: net

- name: Show the bridges and their ports
  ansible.builtin.debug:
    msg: "{{ net.bridges | items2dict(key_name='name', value_name='ports') }}"

- name: Only the loopback interface, without Open vSwitch
  virtcloud.core.host_network_info:
    names: [lo]
    ovs: never
"""

RETURN = r"""
interfaces:
  description: Every interface (or those of O(names)).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Name.", type: str}
    kind: {description: "Link kind - C(bridge), C(vxlan), C(vlan), C(veth), C(tun), ..., or C(device) for a NIC.", type: str}
    enabled: {description: "Administratively up.", type: bool}
    operstate: {description: "Operational state (C(up), C(down), C(unknown), ...).", type: str}
    mtu: {description: "MTU.", type: int}
    mac: {description: "MAC address.", type: str}
    master: {description: "Bridge the interface is a port of, or null.", type: str}
    addresses: {description: "IP addresses with prefix length (not the IPv6 link-local ones).", type: list, elements: str}
bridges:
  description:
    - Linux bridges.
    - A bridge that filters VLANs has C(port_vlans) too - port name to its C(vlan_id) (PVID), C(trunks) and
      C(mode), as virtcloud.core.host_vlan O(virtcloud.core.host_vlan#module:type=bridge) sets them.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "br-lab", "ports": ["veth1"], "stp": false, "forward_delay": 15, "vlan_filtering": false}]
vlans:
  description: 802.1Q sub-interfaces - name, parent, vlan_id.
  returned: always
  type: list
  elements: dict
vxlans:
  description: VXLAN devices - name, vni, local, group, dev, port, learning, remotes, bridge.
  returned: always
  type: list
  elements: dict
ovs:
  description:
    - Open vSwitch - C(bridges), each with datapath_type, fail_mode, controllers, protocols and C(ports) (name, tag,
      trunks, vlan_mode, C(interfaces) with type, options, ofport, error). Null when not read.
  returned: always
  type: dict
round_trips:
  description: How many netlink requests and Open vSwitch database transactions the read took.
  returned: always
  type: dict
  sample: {"netlink": 3, "ovsdb": 1}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.net.info import NetworkInfoService


def main():
    run(NetworkInfoService)


if __name__ == "__main__":
    main()
