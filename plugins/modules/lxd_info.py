#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lxd_info
short_description: Facts about an LXD daemon - instances, images, networks, profiles, storage pools
version_added: 0.1.0
description:
  - Reads the LXD server and lists its instances (with their run state and addresses), images,
    networks, profiles and storage pools, from the local socket or a remote LXD over https.
  - Each kind costs one API call, however many objects the daemon has.
  - Instances, images, networks and profiles are those of O(project); storage pools belong to the
    whole daemon.
  - Changes nothing; C(changed) is always false. A remote LXD that does not trust the client
    certificate yet is asked to, with O(trust_password) or O(trust_token).
options:
  gather:
    description: Which kinds of object to list. All of them when not set.
    type: list
    elements: str
    choices: [instances, images, networks, profiles, storage_pools]
    default: [instances, images, networks, profiles, storage_pools]
    aliases: [kinds]
  names:
    description:
      - "Only the objects of these names, per kind, for example C({instances: [web, db], images: busybox}).
        A kind not named here is listed whole; every kind named must be among O(gather)."
      - An image answers to each of its aliases, its fingerprint and a prefix of it.
      - A name that matches nothing is no error; the list is shorter.
    type: dict
extends_documentation_fragment:
  - virtcloud.core.lxd
  - virtcloud.core.attributes.info
  - virtcloud.core.attributes.group_lxd
seealso:
  - module: virtcloud.core.lxd_instance
  - module: virtcloud.core.lxd_instances
  - module: virtcloud.core.lxd_image
  - module: virtcloud.core.lxd_network
  - module: virtcloud.core.lxd_profile
  - name: LXD REST API
    description: The API this module reads.
    link: https://documentation.ubuntu.com/lxd/en/latest/rest-api/
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
# No image server needed: a busybox image built from Debian's static busybox (busybox-static).
- name: Directories for the image's metadata and root filesystem
  ansible.builtin.file:
    path: /var/tmp/example-busybox/{{ item }}
    state: directory
    mode: "0755"
  loop: [meta, rootfs/bin, rootfs/sbin, rootfs/etc, rootfs/proc, rootfs/sys, rootfs/dev, rootfs/run, rootfs/tmp,
         rootfs/root, rootfs/var]

- name: A static busybox
  ansible.builtin.copy:
    src: /bin/busybox
    remote_src: true
    dest: /var/tmp/example-busybox/rootfs/bin/busybox
    mode: "0755"

- name: Its applets
  ansible.builtin.file:
    src: busybox
    dest: /var/tmp/example-busybox/rootfs/bin/{{ item }}
    state: link
  loop: [sh, sleep, mount, cat, ip, udhcpc]

- name: An init that idles until LXD stops it
  ansible.builtin.copy:
    dest: /var/tmp/example-busybox/rootfs/sbin/init
    mode: "0755"
    content: |
      #!/bin/sh
      mount -t proc proc /proc
      trap 'exit 0' PWR TERM
      while :; do sleep 1 & wait $!; done

- name: The image's metadata
  ansible.builtin.copy:
    dest: /var/tmp/example-busybox/meta/metadata.yaml
    mode: "0644"
    content: |
      architecture: {{ lookup('pipe', 'uname -m') }}
      creation_date: 1700000000
      properties: {description: busybox, os: busybox, release: "1"}

- name: Pack the metadata and the root filesystem
  ansible.builtin.command:
    cmd: tar -C /var/tmp/example-busybox/{{ item }} -czf /var/tmp/example-busybox/{{ item }}.tar.gz .
    creates: /var/tmp/example-busybox/{{ item }}.tar.gz
  loop: [meta, rootfs]

- name: Import the split image (metadata tarball + rootfs) under an alias
  virtcloud.core.lxd_image:
    aliases: [example-busybox]
    source:
      metadata: /var/tmp/example-busybox/meta.tar.gz
      rootfs: /var/tmp/example-busybox/rootfs.tar.gz

- name: A running instance
  virtcloud.core.lxd_instance:
    name: example-web
    image: example-busybox
    state: started

- name: Everything the local LXD has
  virtcloud.core.lxd_info:
  register: lxd

- name: Addresses of the running instances
  ansible.builtin.debug:
    msg: "{{ lxd.instances | selectattr('status', 'eq', 'running') | items2dict(key_name='name', value_name='ipv4') }}"

- name: One instance and one image by name
  virtcloud.core.lxd_info:
    gather: [instances, images]
    names:
      instances: [example-web]
      images: example-busybox
  register: web

# The same on a remote LXD, in a project, trusted with a join token the first time (not run here):
#   virtcloud.core.lxd_info:
#     url: https://lxd1.example.com:8443
#     client_cert: /etc/virtcloud/lxd-client.crt
#     client_key: /etc/virtcloud/lxd-client.key
#     server_cert: /etc/virtcloud/lxd1-server.crt
#     trust_token: "{{ lxd1_token }}"
#     project: tenant-a

- name: Remove the instance
  virtcloud.core.lxd_instance:
    name: example-web
    state: absent

- name: Delete the image (its aliases go with it)
  virtcloud.core.lxd_image:
    aliases: [example-busybox]
    state: absent

- name: Remove the image's files
  ansible.builtin.file:
    path: /var/tmp/example-busybox
    state: absent
"""

RETURN = r"""
actions:
  description: Always empty; the module only reads.
  returned: always
  type: list
  elements: str
server:
  description: The LXD daemon, from the GET /1.0 every connection makes.
  returned: always
  type: dict
  contains:
    api_version: {description: "API version.", type: str}
    auth: {description: "V(trusted): the client is trusted (always, once connected).", type: str}
    server_name: {description: "Host name of the server (or cluster member).", type: str}
    server_version: {description: "LXD version.", type: str}
    driver: {description: "Instance drivers (V(lxc), V(lxc | qemu)).", type: str}
    driver_version: {description: "Their versions.", type: str}
    kernel_version: {description: "Kernel version of the host.", type: str}
    architectures: {description: "Architectures the host runs.", type: list, elements: str}
    storage: {description: "Storage drivers in use.", type: str}
    clustered: {description: "Whether the server is a cluster member.", type: bool}
    addresses: {description: "The https addresses it listens on (C(core.https_address)).", type: list, elements: str}
    certificate_fingerprint: {description: "SHA-256 fingerprint of the server certificate.", type: str}
    project: {description: "The project the listings are of.", type: str}
    api_extensions: {description: "Number of API extensions the server has.", type: int}
instances:
  description: The instances (containers and virtual machines) of the project, by name.
  returned: when V(instances) is in O(gather)
  type: list
  elements: dict
  contains:
    name: {description: "Name.", type: str}
    project: {description: "Project.", type: str}
    type: {description: "V(container) or V(virtual-machine).", type: str}
    status: {description: "Run state, lower case (V(running), V(stopped), V(frozen), V(error)).", type: str}
    architecture: {description: "Architecture.", type: str}
    description: {description: "Description.", type: str}
    ephemeral: {description: "Whether it is deleted when it stops.", type: bool}
    stateful: {description: "Whether it has stateful snapshots.", type: bool}
    profiles: {description: "Its profiles, in the order they apply.", type: list, elements: str}
    config: {description: "Its own configuration, without LXD's generated C(volatile.*) keys.", type: dict}
    devices: {description: "Its own devices.", type: dict}
    expanded_config: {description: "The configuration in effect (profiles applied), without C(volatile.*) keys.", type: dict}
    expanded_devices: {description: "The devices in effect (profiles applied).", type: dict}
    volatile: {description: "LXD's generated C(volatile.*) keys (MAC addresses, UUIDs, ...).", type: dict}
    image: {description: "Fingerprint of the image it was made from (null when not known).", type: str}
    created_at: {description: "When it was made (RFC 3339).", type: str}
    last_used_at: {description: "When it last started (RFC 3339).", type: str}
    location: {description: "Cluster member it lives on (V(none) on a standalone server).", type: str}
    pid: {description: "Process ID of its init on the host; null when not running.", type: int}
    processes: {description: "Number of processes; null when not running.", type: int}
    memory_usage: {description: "Memory in use in bytes; null when not running.", type: int}
    ipv4: {description: "Its global IPv4 addresses on every interface but loopback, sorted.", type: list, elements: str}
    ipv6: {description: "Its global IPv6 addresses, sorted.", type: list, elements: str}
    network:
      description: "Its interfaces while it runs - name: hwaddr, mtu, state, host_name, addresses (address/prefix)."
      type: dict
    snapshots: {description: "Names of its snapshots.", type: list, elements: str}
images:
  description: The images of the project, by fingerprint.
  returned: when V(images) is in O(gather)
  type: list
  elements: dict
  contains:
    fingerprint: {description: "SHA-256 fingerprint.", type: str}
    aliases: {description: "Alias names, sorted.", type: list, elements: str}
    description: {description: "The C(description) property.", type: str}
    properties: {description: "Properties (os, release, description, ...).", type: dict}
    type: {description: "V(container) or V(virtual-machine).", type: str}
    architecture: {description: "Architecture.", type: str}
    size: {description: "Size in bytes.", type: int}
    public: {description: "Whether untrusted clients may use it.", type: bool}
    cached: {description: "Whether LXD cached it from a remote (and may expire it).", type: bool}
    auto_update: {description: "Whether LXD refreshes it from its source.", type: bool}
    profiles: {description: "Profiles an instance made from it gets.", type: list, elements: str}
    filename: {description: "File name of the image.", type: str}
    created_at: {description: "Build date (RFC 3339).", type: str}
    uploaded_at: {description: "When it was added (RFC 3339).", type: str}
    last_used_at: {description: "When an instance was last made from it (RFC 3339).", type: str}
    expires_at: {description: "When a cached image expires (RFC 3339).", type: str}
networks:
  description: The networks LXD sees, managed (made by LXD) or not (the host's own interfaces), by name.
  returned: when V(networks) is in O(gather)
  type: list
  elements: dict
  contains:
    name: {description: "Name.", type: str}
    type: {description: "Type (V(bridge), V(macvlan), V(physical), V(loopback), ...).", type: str}
    managed: {description: "Whether LXD made and manages it.", type: bool}
    description: {description: "Description.", type: str}
    config: {description: "Configuration (C(ipv4.address), ...).", type: dict}
    status: {description: "V(Created) for a managed network, null for others.", type: str}
    used_by: {description: "API paths of the instances and profiles that use it, sorted.", type: list, elements: str}
profiles:
  description: The profiles of the project, by name.
  returned: when V(profiles) is in O(gather)
  type: list
  elements: dict
  contains:
    name: {description: "Name.", type: str}
    description: {description: "Description.", type: str}
    config: {description: "Configuration.", type: dict}
    devices: {description: "Devices.", type: dict}
    used_by: {description: "API paths of the instances that use it, sorted.", type: list, elements: str}
storage_pools:
  description: The storage pools of the daemon, by name.
  returned: when V(storage_pools) is in O(gather)
  type: list
  elements: dict
  contains:
    name: {description: "Name.", type: str}
    driver: {description: "Driver (V(dir), V(btrfs), V(zfs), V(lvm), ...).", type: str}
    description: {description: "Description.", type: str}
    config: {description: "Configuration (C(source), C(size), ...).", type: dict}
    status: {description: "V(Created) when usable.", type: str}
    used_by: {description: "API paths of the objects that use it, sorted.", type: list, elements: str}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.info import LxdInfoService


def main():
    run(LxdInfoService)


if __name__ == "__main__":
    main()
