#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_bridge
short_description: Manage a Linux or Open vSwitch bridge on the host
version_added: 0.2.0
description:
  - Creates, changes in place and removes a Linux bridge (through rtnetlink) or an Open vSwitch bridge (through the
    OVSDB protocol) - its ports, addresses, MTU, link state, STP, and for Open vSwitch the datapath, fail mode and
    OpenFlow controllers (the SDN southbound link).
  - Everything is checked before anything is touched - ports exist, addresses are on no other interface, the kernel
    has the features asked for. A change that fails midway puts back what it changed.
  - A change that would cut the connection Ansible uses is refused unless O(force=true).
seealso:
  - module: virtcloud.core.host_vlan
  - module: virtcloud.core.host_vxlan
  - module: virtcloud.core.host_network_info
  - module: virtcloud.core.libvirt_network
options:
  name:
    description: Name of the bridge (a Linux interface name, at most 15 bytes).
    type: str
    required: true
  state:
    description: V(present) creates or updates the bridge, V(absent) removes it (its ports are released, not deleted).
    type: str
    default: present
    choices: [present, absent]
  type:
    description: V(linux) for a kernel bridge, V(ovs) for an Open vSwitch bridge.
    type: str
    default: linux
    choices: [linux, ovs]
  enabled:
    description: Whether the bridge's link is up.
    type: bool
    default: true
  mtu:
    description: MTU of the bridge. Not managed when omitted.
    type: int
  addresses:
    description:
      - IP addresses of the bridge with their prefix length (C(198.18.5.1/24)) - exactly these, others are removed.
        V([]) removes all. Not managed when omitted.
    type: list
    elements: str
  ports:
    description:
      - Interfaces that are ports of the bridge. They must exist. Other ports are kept unless O(ports_exclusive=true).
    type: list
    elements: str
  ports_exclusive:
    description: With V(true), ports not in O(ports) are released from the bridge.
    type: bool
    default: false
  stp:
    description: Spanning tree protocol on (V(true)) or off. Linux bridges only; kernel default off.
    type: bool
  forward_delay:
    description: STP forward delay in seconds, 0 to 30 (2 to 30 with O(stp=true)). Linux bridges only; kernel default 15.
    type: int
  vlan_filtering:
    description:
      - VLAN filtering of a Linux bridge. A kernel without it (CONFIG_BRIDGE_VLAN_FILTERING) is named in the error;
        an Open vSwitch bridge does VLANs instead (see M(virtcloud.core.host_vlan)).
    type: bool
  datapath_type:
    description:
      - Open vSwitch datapath - V(system) (the kernel module) or V(netdev) (userspace). Open vSwitch's default is
        V(system); without the kernel's C(openvswitch) module a new bridge must use V(netdev), and the task says so.
    type: str
    choices: [system, netdev]
  fail_mode:
    description: Open vSwitch fail mode while no controller is connected - V(standalone) (learning switch) or V(secure).
    type: str
    choices: [standalone, secure]
  controllers:
    description:
      - OpenFlow controller targets of an Open vSwitch bridge (C(tcp:198.18.1.254:6653), C(ssl:IP:PORT), C(unix:PATH),
        C(ptcp:6653)) - exactly these. V([]) removes all.
    type: list
    elements: str
  protocols:
    description: OpenFlow versions an Open vSwitch bridge speaks.
    type: list
    elements: str
    choices: [OpenFlow10, OpenFlow11, OpenFlow12, OpenFlow13, OpenFlow14, OpenFlow15]
extends_documentation_fragment:
  - virtcloud.core.host
  - virtcloud.core.host.change
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_host
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
# persist writes the bridge's configuration where the host's network tools read it at boot; persist_dir
# points it at another directory (here a scratch one, so that trying the example leaves the host's
# /etc/network/interfaces.d alone: drop persist_dir to write there).
- name: A Linux bridge with an address, STP on, written for ifupdown so it survives a reboot
  virtcloud.core.host_bridge:
    name: example-br
    addresses: [198.18.70.1/24]
    stp: true
    forward_delay: 4
    persist: ifupdown
    persist_dir: /var/tmp/example-interfaces.d

- name: An Open vSwitch bridge (userspace datapath) driven by an SDN controller
  virtcloud.core.host_bridge:
    name: example-ovs
    type: ovs
    datapath_type: netdev
    fail_mode: secure
    controllers: [tcp:198.18.70.254:6653]
    protocols: [OpenFlow13]

- name: Remove them (the persisted configuration too)
  virtcloud.core.host_bridge:
    name: "{{ item.name }}"
    type: "{{ item.type }}"
    persist: "{{ item.persist | default(omit) }}"
    persist_dir: "{{ item.persist_dir | default(omit) }}"
    state: absent
  loop:
    - {name: example-br, type: linux, persist: ifupdown, persist_dir: /var/tmp/example-interfaces.d}
    - {name: example-ovs, type: ovs}

- name: Remove the scratch directory
  ansible.builtin.file:
    path: /var/tmp/example-interfaces.d
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create bridge br-lab", "write ifupdown configuration (/etc/network/interfaces.d/virtcloud-br-lab)"]
bridge:
  description: The bridge after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: "Bridge name.", type: str, returned: when present}
    type: {description: "V(linux) or V(ovs).", type: str, returned: when present}
    enabled: {description: "Whether the link is up.", type: bool, returned: when present}
    mtu: {description: "MTU (null in check mode when the kernel picks it).", type: int, returned: when present}
    mac: {description: "MAC address (null in check mode for a new bridge).", type: str, returned: when present}
    addresses: {description: "IP addresses with prefix length.", type: list, elements: str, returned: when present}
    ports: {description: "Names of the ports.", type: list, elements: str, returned: when present}
    stp: {description: "STP on or off (Linux).", type: bool, returned: for a Linux bridge}
    forward_delay: {description: "STP forward delay in seconds (Linux).", type: int, returned: for a Linux bridge}
    vlan_filtering: {description: "VLAN filtering (Linux).", type: bool, returned: for a Linux bridge}
    datapath_type: {description: "Datapath (Open vSwitch).", type: str, returned: for an Open vSwitch bridge}
    fail_mode: {description: "Fail mode or null (Open vSwitch).", type: str, returned: for an Open vSwitch bridge}
    controllers: {description: "Controller targets (Open vSwitch).", type: list, elements: str, returned: for an Open vSwitch bridge}
    protocols: {description: "OpenFlow versions (Open vSwitch).", type: list, elements: str, returned: for an Open vSwitch bridge}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.net.bridge import BridgeService


def main():
    run(BridgeService)


if __name__ == "__main__":
    main()
