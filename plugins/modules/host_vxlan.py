#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_vxlan
short_description: Manage a VXLAN tunnel endpoint on the host (kernel device or Open vSwitch port)
version_added: 0.2.0
description:
  - Creates, changes and removes a kernel VXLAN device (through rtnetlink), optionally attached to a Linux bridge,
    or an Open vSwitch VXLAN port (through the OVSDB protocol) - the building block of an overlay network between
    hosts.
  - A kernel device reaches several peers by head-end replication - one flood entry per peer in its forwarding
    database - so peers are added and removed in place. Changing the VNI, local address, group, underlay device,
    UDP port or learning recreates the device (the action says so).
  - A change that would cut the connection Ansible uses is refused unless O(force=true).
seealso:
  - module: virtcloud.core.host_bridge
  - module: virtcloud.core.host_vlan
  - module: virtcloud.core.host_network_info
options:
  name:
    description: Name of the VXLAN device, or of the Open vSwitch port (at most 15 bytes).
    type: str
    required: true
  state:
    description: V(present) creates or updates the endpoint, V(absent) removes it.
    type: str
    default: present
    choices: [present, absent]
  type:
    description: V(linux) for a kernel VXLAN device, V(ovs) for a VXLAN port of an Open vSwitch bridge.
    type: str
    default: linux
    choices: [linux, ovs]
  vni:
    description: VXLAN network identifier, 1 to 16777215. Required with O(state=present).
    type: int
  local:
    description: Local (underlay) address the tunnel is sent from.
    type: str
  remotes:
    description:
      - Unicast underlay addresses of the peers - exactly these. An Open vSwitch port has exactly one (make one port
        per peer). Not with O(group).
    type: list
    elements: str
    aliases: [remote]
  group:
    description: Multicast group that carries the overlay's broadcast traffic (kernel device only), instead of O(remotes).
    type: str
  dev:
    description: Underlay interface the tunnel uses (kernel device only).
    type: str
  port:
    description: UDP destination port. The IANA port 4789 by default (the kernel's own default is 8472).
    type: int
    default: 4789
  learning:
    description: Whether the kernel device learns remote MAC addresses from received traffic. Kernel default on.
    type: bool
  bridge:
    description:
      - With O(type=linux) the Linux bridge the device is a port of (it must exist). With O(type=ovs) the Open vSwitch
        bridge of the port (required).
    type: str
  enabled:
    description: Whether the device's link is up (kernel device).
    type: bool
    default: true
  mtu:
    description: MTU of the kernel device. The kernel's choice (underlay MTU minus 50) when omitted.
    type: int
  addresses:
    description: IP addresses of the kernel device itself (when it is not a bridge port) - exactly these.
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
- name: An overlay bridge with its tunnel address
  virtcloud.core.host_bridge:
    name: example-br-ov
    addresses: [198.19.0.11/24]

- name: A VXLAN to two peers, attached to the overlay bridge
  virtcloud.core.host_vxlan:
    name: example-vx4242
    vni: 4242
    local: 198.18.1.11
    remotes: [198.18.1.12, 198.18.1.13]
    bridge: example-br-ov

- name: An Open vSwitch bridge for the same overlay
  virtcloud.core.host_bridge:
    name: example-ovs-ov
    type: ovs
    datapath_type: netdev

- name: The same overlay on the Open vSwitch bridge - one port per peer
  virtcloud.core.host_vxlan:
    name: example-vx-h2
    type: ovs
    bridge: example-ovs-ov
    vni: 4242
    remote: 198.18.1.12

- name: Remove the tunnels
  virtcloud.core.host_vxlan:
    name: "{{ item.name }}"
    type: "{{ item.type }}"
    bridge: "{{ item.bridge | default(omit) }}"
    state: absent
  loop:
    - {name: example-vx4242, type: linux}
    - {name: example-vx-h2, type: ovs, bridge: example-ovs-ov}

- name: Remove the bridges
  virtcloud.core.host_bridge:
    name: "{{ item.name }}"
    type: "{{ item.type }}"
    state: absent
  loop:
    - {name: example-br-ov, type: linux}
    - {name: example-ovs-ov, type: ovs}
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create vxlan vx4242"]
vxlan:
  description: The endpoint after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: "Name.", type: str, returned: when present}
    type: {description: "V(vxlan) (kernel device) or V(ovs).", type: str, returned: when present}
    vni: {description: "VNI.", type: int, returned: when present}
    local: {description: "Local address or null.", type: str, returned: when present}
    remotes: {description: "Peer addresses.", type: list, elements: str, returned: when present}
    port: {description: "UDP port.", type: int, returned: when present}
    bridge: {description: "Bridge the endpoint is a port of, or null.", type: str, returned: when present}
    group: {description: "Multicast group or null (kernel).", type: str, returned: for a kernel device}
    dev: {description: "Underlay device or null (kernel).", type: str, returned: for a kernel device}
    learning: {description: "MAC learning (kernel).", type: bool, returned: for a kernel device}
    enabled: {description: "Link up (kernel).", type: bool, returned: for a kernel device}
    mtu: {description: "MTU (kernel; null in check mode when the kernel picks it).", type: int, returned: for a kernel device}
    mac: {description: "MAC address (kernel; null in check mode for a new device).", type: str, returned: for a kernel device}
    addresses: {description: "IP addresses (kernel).", type: list, elements: str, returned: for a kernel device}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.net.vxlan import VxlanService


def main():
    run(VxlanService)


if __name__ == "__main__":
    main()
