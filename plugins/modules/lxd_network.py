#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lxd_network
short_description: Manage an LXD bridge network
version_added: 0.1.0
description:
  - Creates, changes in place and removes an LXD managed bridge network through the LXD REST API.
  - Nothing gets an address the task did not give. LXD picks a random subnet for C(ipv4.address) or
    C(ipv6.address) set to C(auto) or left unset; here C(auto) is refused, and a bridge the task creates
    without one of them gets C(none) (no address of that family, no DHCP for it). On an existing
    network an address the task does not give is kept.
  - Addresses are checked before anything is touched, in check mode too, and an address whose subnet
    overlaps the subnet of another LXD network is refused (LXD itself would take it). Other config keys are checked
    by LXD when the network is created or changed; a refused one leaves the network as it was.
  - A network that instances or profiles use is not removed - the task fails naming them (LXD's own
    C(used_by)), before anything is touched.
options:
  name:
    description:
      - Network name. LXD makes a host interface of it - 2 to 15 letters, digits, C(-), C(_) or C(.).
      - A host interface LXD does not manage (C(eth0)) or an LXD network of another type is refused.
    type: str
    required: true
  description:
    description: Description of the network. Not managed when omitted.
    type: str
  config:
    description:
      - Config keys of the bridge, for example C(ipv4.address), C(ipv4.nat), C(ipv4.dhcp.ranges), C(bridge.mtu),
        C(dns.domain).
      - C(ipv4.address) and C(ipv6.address) - the bridge's own address with the prefix length
        (C(198.18.5.1/24), C(2001:db8:5::1/64)), or C(none). C(auto) is refused. When the network is created
        without them, they are C(none).
      - C(ipv4.nat) - V(true) masquerades the subnet's traffic to the outside; LXD's default is no NAT for
        a subnet it did not pick.
      - Only the keys given are managed - each gets its value, a key given the value V(null) is removed
        (not the addresses - give C(none)), and keys not named are kept as they are.
      - LXD holds every value as text - V(true) becomes C(true). Quote a number with a decimal point.
    type: dict
  state:
    description:
      - V(present) creates or updates the network, V(absent) removes it (it fails while the network is in use).
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - virtcloud.core.lxd
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_lxd
seealso:
  - module: virtcloud.core.lxd_instance
  - module: virtcloud.core.lxd_profile
  - module: virtcloud.core.lxd_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A bridge with its own IPv4 subnet, NAT to the outside and no IPv6
  virtcloud.core.lxd_network:
    name: example-lab0
    description: Lab bridge
    config:
      ipv4.address: 198.18.60.1/24
      ipv4.nat: true
      ipv4.dhcp.ranges: 198.18.60.100-198.18.60.200
      ipv6.address: none

- name: An isolated bridge without addresses (no DHCP, no NAT)
  virtcloud.core.lxd_network:
    name: example-iso0
    config:
      ipv4.address: none
      ipv6.address: none

- name: Turn NAT off, keep the rest
  virtcloud.core.lxd_network:
    name: example-lab0
    config:
      ipv4.nat: false

- name: Remove the networks (fails while instances or profiles use them)
  virtcloud.core.lxd_network:
    name: "{{ item }}"
    state: absent
  loop: [example-lab0, example-iso0]
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create network lab0"]
network:
  description: The network after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: Network name., type: str, returned: when present}
    type: {description: "Network type, C(bridge).", type: str, returned: when present}
    description: {description: Description., type: str, returned: when present}
    config: {description: "All config keys of the network, as text.", type: dict, returned: when present,
             sample: {"ipv4.address": "198.18.60.1/24", "ipv4.nat": "true", "ipv6.address": "none"}}
    used_by: {description: "What uses the network, as C(instance NAME) or C(profile NAME).",
              type: list, elements: str, returned: when present, sample: ["profile default", "instance web"]}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.network import NetworkService


def main():
    run(NetworkService)


if __name__ == "__main__":
    main()
