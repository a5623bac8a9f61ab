#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_network
short_description: Manage a Docker network and the containers attached to it
version_added: 0.1.0
description:
  - Creates, changes and removes a Docker network - a C(bridge) with its own subnet, an
    O(internal) bridge without outside access (the host-only case), or a C(macvlan) network on a
    host interface (the bridged case, containers appear on the interface's LAN).
  - Containers listed in O(connected) are attached and others detached, in place.
  - Docker cannot change a network's driver, addressing or options in place. Such a difference
    replaces the network, and the containers that were attached are reattached with their
    aliases and fixed addresses (a fixed address outside a new subnet is dropped).
  - The network carries the label C(io.virtcloud.managed-by=virtcloud.core).
options:
  name:
    description: Network name.
    type: str
    required: true
  driver:
    description: Network driver, for example C(bridge), C(macvlan), C(ipvlan).
    type: str
    default: bridge
  subnet:
    description: Subnet in CIDR form. When omitted Docker picks one from its address pools, and it is not compared.
    type: str
  gateway:
    description: Gateway address inside O(subnet).
    type: str
  ip_range:
    description: Range inside O(subnet) from which Docker assigns container addresses.
    type: str
  internal:
    description: No route to the outside; containers reach only each other (host-only network).
    type: bool
    default: false
  parent:
    description: Host interface a C(macvlan) or C(ipvlan) network sits on. Required for C(macvlan).
    type: str
  driver_options:
    description: Driver options, for example C(com.docker.network.bridge.name). Compared when given.
    type: dict
  labels:
    description: Labels of the network. Compared when given.
    type: dict
  connected:
    description:
      - Containers attached to the network. When given, exactly these are attached; others are
        disconnected. When omitted, attachments are not managed.
      - Manage one container's attachments in one place - here, or in the C(networks) option of
        M(virtcloud.core.docker_container) (which also sets aliases and fixed addresses) - not in
        both, or the two tasks undo each other.
    type: list
    elements: str
  state:
    description: V(present) or V(absent). V(absent) disconnects the attached containers and removes the network.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A bridge network with its own subnet
  virtcloud.core.docker_network:
    name: backend
    subnet: 198.18.250.0/24
    gateway: 198.18.250.1
    connected:
      - web
      - db

- name: A host-only network (no outside access)
  virtcloud.core.docker_network:
    name: isolated
    internal: true
    subnet: 198.18.251.0/24

- name: Containers directly on the LAN of eth1 (bridged)
  virtcloud.core.docker_network:
    name: lan
    driver: macvlan
    parent: eth1
    subnet: 198.18.252.0/24
    gateway: 198.18.252.1

- name: Remove a network
  virtcloud.core.docker_network:
    name: isolated
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create network backend", "connect container web to network backend"]
network:
  description: The network after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id: {description: "Network ID; null for a network still to be created in check mode.", type: str, returned: when present}
    name: {description: Network name., type: str, returned: when present}
    driver: {description: Driver., type: str, returned: when present}
    subnet: {description: Subnet., type: str, returned: when present}
    gateway: {description: Gateway., type: str, returned: when present}
    ip_range: {description: Address range for containers., type: str, returned: when present}
    internal: {description: Whether the network is internal., type: bool, returned: when present}
    parent: {description: Parent interface of a macvlan or ipvlan network., type: str, returned: when present}
    driver_options: {description: Driver options., type: dict, returned: when present}
    labels: {description: Labels beyond the ownership label., type: dict, returned: when present}
    connected: {description: Names of the attached containers., type: list, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.network import NetworkService


def main():
    run(NetworkService)


if __name__ == "__main__":
    main()
