#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_network_info
short_description: Report libvirt virtual networks and their DHCP leases
version_added: 0.1.0
description:
  - Lists all libvirt networks, active and inactive, from one listing call, normalised the same way
    M(virtcloud.core.libvirt_network) compares them, with the current DHCP leases of each active network.
options:
  name:
    description: Report only this network (an error when it does not exist).
    type: str
extends_documentation_fragment:
  - virtcloud.core.attributes.info
  - virtcloud.core.attributes.group_libvirt
  - virtcloud.core.libvirt
seealso:
  - module: virtcloud.core.libvirt_network
  - module: virtcloud.core.libvirt_domain_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A NAT network with a fixed lease
  virtcloud.core.libvirt_network:
    name: example-lab
    forward: nat
    address: 198.18.20.1/24
    dhcp_ranges:
      - {start: 198.18.20.100, end: 198.18.20.199}
    dhcp_hosts:
      - {mac: "52:54:00:20:00:10", ip: 198.18.20.10, name: db}

- name: All networks
  virtcloud.core.libvirt_network_info:
  register: nets

- name: Address the guest with MAC 52:54:00:20:00:10 got on network example-lab (none before it boots)
  ansible.builtin.debug:
    msg: "{{ (nets.networks | selectattr('name', 'eq', 'example-lab') | first).leases
             | selectattr('mac', 'eq', '52:54:00:20:00:10') | map(attribute='ip') | first | default('no lease yet') }}"

- name: Remove the network
  virtcloud.core.libvirt_network:
    name: example-lab
    state: absent
"""

RETURN = r"""
networks:
  description: The networks, by name.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Network name.", type: str, returned: always}
    uuid: {description: "UUID.", type: str, returned: always}
    forward: {description: "Forward mode: nat, route, open, isolated or bridge (others as libvirt names them).", type: str, returned: always}
    bridge: {description: "Bridge name.", type: str, returned: always}
    openvswitch: {description: "Whether the bridge is an Open vSwitch bridge.", type: bool, returned: always}
    address: {description: "IPv4 address/prefix of the host on the network.", type: str, returned: always}
    dhcp_ranges: {description: "DHCP ranges (start, end).", type: list, elements: dict, returned: always}
    dhcp_hosts: {description: "Static DHCP leases (mac, ip, name).", type: list, elements: dict, returned: always}
    dns_hosts: {description: "DNS host entries (ip, hostnames).", type: list, elements: dict, returned: always}
    portgroups: {description: "Port groups (name, vlan, trunk, default).", type: list, elements: dict, returned: always}
    mtu: {description: "MTU, null when libvirt's default.", type: int, returned: always}
    mac: {description: "MAC address of the bridge.", type: str, returned: always}
    active: {description: "Whether the network runs.", type: bool, returned: always}
    autostart: {description: "Whether the network starts at boot.", type: bool, returned: always}
    persistent: {description: "Whether the network has a persistent definition.", type: bool, returned: always}
    leases:
      description: Current DHCP leases (empty for an inactive network, null when the driver cannot report them).
      type: list
      elements: dict
      returned: always
      contains:
        mac: {description: "Client MAC address.", type: str, returned: always}
        ip: {description: "Leased address.", type: str, returned: always}
        prefix: {description: "Prefix length of the network.", type: int, returned: always}
        hostname: {description: "Host name the client sent, if any.", type: str, returned: always}
        client_id: {description: "DHCP client identifier, if any.", type: str, returned: always}
        expires: {description: "Expiry time (seconds since the epoch).", type: int, returned: always}
        interface: {description: "Bridge the lease was given on.", type: str, returned: always}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.network import NetworkInfoService


def main():
    run(NetworkInfoService)


if __name__ == "__main__":
    main()
