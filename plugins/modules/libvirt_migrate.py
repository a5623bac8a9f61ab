#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_migrate
short_description: Migrate a libvirt guest to another host (live, with or without its storage)
version_added: 0.1.0
description:
  - Moves the guest O(name) from the libvirt host of O(uri) to the one of O(dest_uri). A running (or paused)
    guest moves live by default - it keeps running, its memory is copied while it runs and it pauses only for
    the final switch-over; its disks are on shared storage, or copied along with O(copy_storage).
  - The guest is where it should be when O(dest_uri) has it and O(uri) does not run it. A rerun then reports
    no change, also when O(undefine_source=false) left its shut-off definition on the source.
  - The module drives the migration itself (libvirt's managed direct migration). It opens both connections, so
    O(dest_uri) must be reachable from where the module runs (for example C(qemu+ssh://root@host2/system)).
  - Check mode connects to both hosts and predicts the outcome, and fails where the run would fail - an
    unreachable destination, a guest that is not running for a live migration, a different guest of the
    same name on the destination - before anything is touched.
options:
  name:
    description:
      - The guest to move, by name. It keeps its name and UUID on the destination.
    type: str
    required: true
  dest_uri:
    description:
      - The libvirt URI of the destination host, as the module's host reaches it, for example
        V(qemu+ssh://root@198.18.1.11/system).
      - Must differ from O(uri). libvirt refuses a destination that is the source host itself (the same host UUID).
    type: str
    required: true
  migrate_uri:
    description:
      - Where QEMU's migration stream (and, with O(copy_storage), the disks' copy) goes, for example
        V(tcp://198.18.1.11) or V(tcp://198.18.1.11:49152).
      - Default V(tcp://HOST) with the host of O(dest_uri), so the data takes the same network as the
        connection. Without a host in O(dest_uri), libvirt's own default (the destination's host name).
    type: str
  copy_storage:
    description:
      - V(none) - the disks are on storage both hosts share (the same paths reach the same data).
      - V(all) - every writable disk is copied to the destination while the guest runs. A disk file of the same
        path and at least the same size must exist on the destination unless it is a volume of a storage pool
        there (libvirt then creates it).
      - V(inc) - like V(all), for disks whose backing images both hosts have; only the top image is copied.
    type: str
    default: none
    choices: [none, all, inc]
  live:
    description:
      - V(true) - the guest keeps running while its memory is copied.
      - V(false) - a running guest is paused during the copy (shorter, with a longer pause). A shut-off guest
        moves as a definition only (an offline migration), which needs V(false) here and O(persistent=true).
    type: bool
    default: true
  persistent:
    description: Define the guest persistently on the destination (else it runs there as a transient guest).
    type: bool
    default: true
  undefine_source:
    description: Remove the guest's definition from the source once it runs on the destination.
    type: bool
    default: true
  unsafe:
    description:
      - Migrate although libvirt considers it unsafe, for example disks with a host cache on storage libvirt does
        not know to be shared. Only when the disks really are shared, or copied with O(copy_storage).
    type: bool
    default: false
  bandwidth:
    description:
      - The most the migration may send, in MiB/s (memory and, with O(copy_storage), the disks' copy). Default
        no limit.
    type: int
  timeout:
    description:
      - Seconds the migration may take. Past them it is aborted and the guest keeps running on the source; the
        task fails saying so. Default no limit.
    type: int
notes:
  - Both hosts need compatible QEMU and CPUs (the guest's CPU model must exist on the destination), and the
    networks and bridges the guest's NICs use must exist there under the same names.
  - The destination must accept the migration stream on O(migrate_uri) (ports 49152 to 49215 by default) from the
    source host.
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt
seealso:
  - module: virtcloud.core.libvirt_domain
  - module: virtcloud.core.libvirt_domain_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
# The migrations need a second libvirt host (tagged second_host); the guest is defined and removed on this one.
- name: A guest to move (defined, shut off)
  virtcloud.core.libvirt_domain:
    name: example-migrate
    virt_type: qemu
    memory: 128MiB

- name: Move its definition to host2 while it is shut off
  virtcloud.core.libvirt_migrate:
    name: example-migrate
    dest_uri: qemu+ssh://root@198.18.1.11/system
    live: false
  tags: [second_host]

- name: Start it there
  virtcloud.core.libvirt_domain:
    name: example-migrate
    uri: qemu+ssh://root@198.18.1.11/system
    virt_type: qemu
    memory: 128MiB
    state: running
  tags: [second_host]

- name: Move it back live, its disks copied along (their files exist on both hosts)
  virtcloud.core.libvirt_migrate:
    name: example-migrate
    uri: qemu+ssh://root@198.18.1.11/system
    dest_uri: qemu:///system
    migrate_uri: tcp://198.18.1.254
    copy_storage: all
    timeout: 600
  tags: [second_host]

- name: Remove the guest
  virtcloud.core.libvirt_domain:
    name: example-migrate
    state: absent
"""

RETURN = r"""
domain:
  description: The guest as both hosts see it after the run (predicted in check mode).
  type: dict
  returned: always
  contains:
    name: {description: "Guest name.", type: str, returned: always}
    uuid: {description: "Guest UUID (the same on both hosts).", type: str, returned: always}
    dest_uri: {description: "The destination URI.", type: str, returned: always}
    source:
      description: The guest on the source host, V(null) when it is not defined there (any longer).
      type: dict
      returned: always
      contains:
        state: {description: "running, paused, shutdown, ...", type: str, returned: when defined}
        persistent: {description: "Whether its definition outlives a shutdown.", type: bool, returned: when defined}
    destination:
      description: The guest on the destination host (same keys as RV(domain.source)), V(null) when not there.
      type: dict
      returned: always
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.migrate import MigrateService


def main():
    run(MigrateService)


if __name__ == "__main__":
    main()
