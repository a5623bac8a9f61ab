#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_vlan
short_description: Manage a VLAN on the host - an 802.1Q sub-interface, a Linux bridge port's VLANs, or an Open vSwitch port
version_added: 0.2.0
description:
  - V(type=linux) - a kernel 802.1Q sub-interface of O(parent) (through rtnetlink), optionally a port of a Linux bridge.
  - V(type=ovs) - a port of an Open vSwitch bridge (through the OVSDB protocol) in one VLAN (access, O(vlan_id)) or
    carrying several (trunk, O(trunks)); an existing interface (a NIC, a veth) or an interface of the switch's own
    (O(internal=true), which can have addresses).
  - V(type=bridge) - the VLANs of a port (O(name)) of a Linux bridge that filters VLANs (host_bridge
    O(virtcloud.core.host_bridge#module:vlan_filtering=true)), through rtnetlink - an access port in one VLAN, a trunk,
    or both (native). The port is attached to the bridge if it is not yet; its VLANs are then exactly those of O(mode).
  - A kernel without 802.1Q (no C(8021q) module) or without bridge VLAN filtering is named in the error before
    anything is touched; Open vSwitch needs neither.
seealso:
  - module: virtcloud.core.host_bridge
  - module: virtcloud.core.host_vxlan
  - module: virtcloud.core.host_network_info
options:
  name:
    description: Name of the sub-interface, or of the Open vSwitch port (at most 15 bytes).
    type: str
    required: true
  state:
    description: V(present) creates or updates, V(absent) removes (an Open vSwitch port leaves its bridge, and with
      V(type=bridge) the port leaves the Linux bridge; a system interface itself stays).
    type: str
    default: present
    choices: [present, absent]
  type:
    description:
      - V(linux) for an 802.1Q sub-interface, V(ovs) for an Open vSwitch port, V(bridge) for a port's VLANs on a Linux
        bridge with VLAN filtering (on a kernel without VLAN filtering the error names the missing feature).
    type: str
    default: linux
    choices: [linux, ovs, bridge]
  vlan_id:
    description: VLAN ID, 1 to 4094 - the sub-interface's VLAN, the access tag of an Open vSwitch port, or the VLAN of a
      Linux bridge port that untagged frames belong to (its PVID).
    type: int
  parent:
    description: Interface the sub-interface is made on (O(type=linux)).
    type: str
  bridge:
    description: With O(type=ovs) the Open vSwitch bridge of the port (required), with O(type=bridge) the Linux bridge
      (required with V(present)); with O(type=linux) a Linux bridge the sub-interface is a port of.
    type: str
  trunks:
    description: VLAN IDs or ranges (C(100-110)) a trunk port carries tagged (O(type=ovs) or O(type=bridge)).
    type: list
    elements: raw
  mode:
    description:
      - VLAN mode of an Open vSwitch port; Open vSwitch's choice (access with a tag, trunk without) when omitted.
      - With O(type=bridge) - V(access) (O(vlan_id) untagged), V(trunk) (O(trunks) tagged, untagged frames dropped),
        V(native-untagged) (O(vlan_id) untagged and O(trunks) tagged), V(native-tagged) (as native-untagged, but
        O(vlan_id) leaves tagged). When omitted - V(access) with O(vlan_id) only, V(trunk) with O(trunks) only,
        V(native-untagged) with both.
    type: str
    choices: [access, trunk, native-tagged, native-untagged]
  internal:
    description: With O(type=ovs), make an interface of the switch's own (an internal port) instead of adding an existing one.
    type: bool
    default: false
  enabled:
    description: Whether the interface's link is up (sub-interface or internal port).
    type: bool
    default: true
  mtu:
    description: MTU of the sub-interface or internal port.
    type: int
  addresses:
    description: IP addresses of the sub-interface or internal port - exactly these.
    type: list
    elements: str
extends_documentation_fragment:
  - virtcloud.core.host
  - virtcloud.core.host.change
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_host
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: An Open vSwitch bridge as the switch
  virtcloud.core.host_bridge:
    name: example-ovs
    type: ovs
    datapath_type: netdev

- name: An internal port in VLAN 10 with an address on it
  virtcloud.core.host_vlan:
    name: example-vlan10
    type: ovs
    bridge: example-ovs
    vlan_id: 10
    internal: true
    addresses: [198.18.71.1/24]

- name: An internal trunk port carrying VLANs 10 and 20 to 29
  virtcloud.core.host_vlan:
    name: example-trunk
    type: ovs
    bridge: example-ovs
    internal: true
    trunks: [10, 20-29]

# A kernel 802.1Q sub-interface of eth0 in VLAN 20. A kernel without the 8021q module fails here,
# naming it, before anything is touched.
- name: VLAN 20 on eth0
  virtcloud.core.host_vlan:
    name: eth0.20
    parent: eth0
    vlan_id: 20
    addresses: [198.18.20.1/24]

# Linux bridge VLAN filtering (a kernel without it fails here, naming it, before anything is touched)
- name: A VLAN-aware Linux bridge
  virtcloud.core.host_bridge:
    name: example-vbr
    vlan_filtering: true

- name: A VXLAN tunnel to another host, to carry the VLANs there
  virtcloud.core.host_vxlan:
    name: example-vx
    vni: 5000
    remotes: [198.18.72.2]

# An access port needs vlan_id only (mode access); a NIC such as eth1 works the same way.
- name: The tunnel as a trunk port of the bridge, VLANs 40 to 49 tagged, untagged frames in VLAN 30
  virtcloud.core.host_vlan:
    name: example-vx
    type: bridge
    bridge: example-vbr
    vlan_id: 30
    trunks: [40-49]
    mode: native-untagged

- name: Remove the VLAN interfaces
  virtcloud.core.host_vlan:
    name: "{{ item.name }}"
    type: "{{ item.type }}"
    bridge: "{{ item.bridge | default(omit) }}"
    state: absent
  loop:
    - {name: eth0.20, type: linux}
    - {name: example-vlan10, type: ovs, bridge: example-ovs}
    - {name: example-trunk, type: ovs, bridge: example-ovs}
    - {name: example-vx, type: bridge}

- name: Remove the tunnel
  virtcloud.core.host_vxlan:
    name: example-vx
    state: absent

- name: Remove the bridges
  virtcloud.core.host_bridge:
    name: "{{ item.name }}"
    type: "{{ item.type }}"
    state: absent
  loop:
    - {name: example-ovs, type: ovs}
    - {name: example-vbr, type: linux}
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["add VLAN port vlan10 to ovs-lab"]
vlan:
  description: The VLAN interface or port after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: "Name.", type: str, returned: when present}
    type: {description: "V(vlan) (sub-interface), V(bridge) (Linux bridge port) or V(ovs).", type: str, returned: when present}
    vlan_id: {description: "VLAN ID (access tag, PVID) or null.", type: int, returned: when present}
    bridge: {description: "Bridge the interface is a port of, or null.", type: str, returned: when present}
    parent: {description: "Parent interface (sub-interface).", type: str, returned: for a sub-interface}
    trunks: {description: "Trunked VLAN IDs.", type: list, elements: int, returned: for an Open vSwitch or Linux bridge port}
    mode: {description: "VLAN mode or null.", type: str, returned: for an Open vSwitch or Linux bridge port}
    internal: {description: "Internal port (Open vSwitch).", type: bool, returned: for an Open vSwitch port}
    enabled: {description: "Link up.", type: bool, returned: for a sub-interface or internal port}
    mtu: {description: "MTU.", type: int, returned: for a sub-interface or internal port}
    addresses: {description: "IP addresses.", type: list, elements: str, returned: for a sub-interface or internal port}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.net.vlan import VlanService


def main():
    run(VlanService)


if __name__ == "__main__":
    main()
