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
  - Docker cannot change a network's driver, addressing, options or labels in place. Such a
    difference replaces the network, and the containers that were attached are reattached with
    their aliases and fixed addresses (a fixed address outside the new subnets is dropped). What
    the task does not set (the subnets when neither O(subnet) nor O(ipam_config) is given, labels
    it does not name) is kept by the replacement.
  - Before anything is removed, the task fails naming the option when Docker would refuse the new
    network - a subnet that overlaps one of another Docker network, a driver Docker does not have,
    a O(parent) interface that does not exist on the host (checked when O(docker_host) is a local
    socket), IPv6 without an IPv6 subnet on a dockerd that cannot pick one. When Docker still
    refuses the new network, the old one is created again as it was and its containers are
    reattached; the error lists what was rolled back and anything that could not be.
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
    description:
      - Subnet in CIDR form, the one address pool of the network (the short form of O(ipam_config)).
      - When neither O(subnet) nor O(ipam_config) is given Docker picks one from its address pools,
        and the pools are not compared.
    type: str
  gateway:
    description: Gateway address inside O(subnet).
    type: str
  ip_range:
    description: Range inside O(subnet) from which Docker assigns container addresses.
    type: str
  ipam_config:
    description:
      - The address pools of the network, for example one IPv4 and one IPv6 pool. Compared as a
        set (order has no meaning) - the same subnets, and each value an entry sets equal; a value
        an entry leaves out (a gateway Docker picked) is not compared.
      - Mutually exclusive with O(subnet), O(gateway) and O(ip_range).
    type: list
    elements: dict
    suboptions:
      subnet:
        description: Subnet in CIDR form, IPv4 or IPv6.
        type: str
        required: true
      gateway:
        description: Gateway address inside the subnet.
        type: str
      iprange:
        description: Range inside the subnet from which Docker assigns container addresses.
        type: str
      aux_addresses:
        description: Addresses inside the subnet Docker must not assign, by host name.
        type: dict
  enable_ipv6:
    description:
      - Whether the network has IPv6. Docker takes it per network; the daemon's own IPv6 setting
        is not needed.
      - When omitted, it is V(true) when O(ipam_config) has an IPv6 subnet, V(false) when the
        address pools are given without one, and not compared when they are not given.
      - A dockerd before 27.0 needs an IPv6 subnet in O(ipam_config) (or an IPv6 default address
        pool); without one the task fails before anything is touched.
    type: bool
  internal:
    description: No route to the outside; containers reach only each other (host-only network).
    type: bool
    default: false
  attachable:
    description: Whether containers may be attached by hand to a swarm-scoped network (C(docker network create --attachable)).
    type: bool
    default: false
  parent:
    description: Host interface a C(macvlan) or C(ipvlan) network sits on. Required for C(macvlan).
    type: str
  driver_options:
    description: Driver options, for example C(com.docker.network.bridge.name). Compared when given.
    type: dict
  labels:
    description:
      - Labels of the network. Each label given must have its value; labels on the network that
        are not given are no difference and are kept when the network is replaced (as in
        community.docker). Docker cannot change labels in place, so a new label or another value
        replaces the network.
    type: dict
  connected:
    description:
      - Containers attached to the network. When given, exactly these are attached; others are
        disconnected (unless O(appends=true)). When omitted, attachments are not managed.
      - Manage one container's attachments in one place - here, or in the C(networks) option of
        M(virtcloud.core.docker_container) (which also sets aliases and fixed addresses) - not in
        both, or the two tasks undo each other.
    type: list
    elements: str
  appends:
    description: With O(connected), attach the listed containers and leave the others attached.
    type: bool
    default: false
  state:
    description: V(present) or V(absent). V(absent) disconnects the attached containers and removes the network.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_docker
seealso:
  - module: virtcloud.core.docker_container
  - module: virtcloud.core.docker_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
# No registry needed: the image is built from a static busybox (Debian's busybox-static) in a local context.
- name: A build context directory
  ansible.builtin.file:
    path: /var/tmp/example-build
    state: directory
    mode: "0755"

- name: A static busybox in it
  ansible.builtin.copy:
    src: /bin/busybox
    remote_src: true
    dest: /var/tmp/example-build/busybox
    mode: "0755"

- name: Its Dockerfile
  ansible.builtin.copy:
    dest: /var/tmp/example-build/Dockerfile
    mode: "0644"
    content: |
      FROM scratch
      COPY busybox /bin/busybox
      RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir /www && echo It works > /www/index.html"]
      CMD ["sh"]

- name: Build an image from the local context; rebuilt only when the context changes
  virtcloud.core.docker_image:
    name: example-busybox:1
    build:
      path: /var/tmp/example-build

- name: Containers to connect
  virtcloud.core.docker_container:
    name: "{{ item }}"
    image: example-busybox:1
    command: sleep infinity
    init: true  # an init as PID 1: the container stops at once on SIGTERM
  loop: [example-web, example-db, example-cache]

- name: A bridge network with its own subnet
  virtcloud.core.docker_network:
    name: example-backend
    subnet: 198.18.250.0/24
    gateway: 198.18.250.1
    connected:
      - example-web
      - example-db

- name: A host-only network (no outside access)
  virtcloud.core.docker_network:
    name: example-isolated
    internal: true
    subnet: 198.18.251.0/24

- name: Containers directly on the LAN of eth1 (bridged)
  virtcloud.core.docker_network:
    name: example-lan
    driver: macvlan
    parent: "{{ lan_interface | default('eth1') }}"
    subnet: 198.18.252.0/24
    gateway: 198.18.252.1
  when: lan_interface is defined

- name: An internal network with an IPv4 and an IPv6 pool
  virtcloud.core.docker_network:
    name: example-dual
    internal: true
    ipam_config:
      - subnet: 198.18.253.0/24
        gateway: 198.18.253.1
      - subnet: fd00:198:18:253::/64
        gateway: fd00:198:18:253::1

- name: Attach one more container, leaving the others attached
  virtcloud.core.docker_network:
    name: example-backend
    connected:
      - example-cache
    appends: true

- name: Remove the containers
  virtcloud.core.docker_container:
    name: "{{ item }}"
    state: absent
  loop: [example-web, example-db, example-cache]

- name: Remove the networks
  virtcloud.core.docker_network:
    name: "{{ item }}"
    state: absent
  loop: [example-backend, example-isolated, example-dual, example-lan]

- name: Remove the image and its build context
  virtcloud.core.docker_image:
    name: example-busybox:1
    state: absent

- name: Remove the build context
  ansible.builtin.file:
    path: /var/tmp/example-build
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
    subnet: {description: "Subnet of the first pool (IPv4 first).", type: str, returned: when present}
    gateway: {description: "Gateway of the first pool.", type: str, returned: when present}
    ip_range: {description: "Address range for containers of the first pool.", type: str, returned: when present}
    ipam_config:
      description: "The address pools (IPv4 first); null for a network still to be created in check mode when Docker picks them."
      type: list
      elements: dict
      returned: when present
      sample: [{"subnet": "198.18.253.0/24", "gateway": "198.18.253.1", "iprange": null, "aux_addresses": null}]
    enable_ipv6: {description: Whether the network has IPv6., type: bool, returned: when present}
    internal: {description: Whether the network is internal., type: bool, returned: when present}
    attachable: {description: Whether the network is attachable., type: bool, returned: when present}
    parent: {description: Parent interface of a macvlan or ipvlan network., type: str, returned: when present}
    driver_options: {description: Driver options., type: dict, returned: when present}
    labels: {description: "Labels beyond the ownership label (all of them, also those the task does not name).", type: dict, returned: when present}
    connected: {description: Names of the attached containers., type: list, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.network import NetworkService


def main():
    run(NetworkService)


if __name__ == "__main__":
    main()
