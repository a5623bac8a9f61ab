#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ova_import
short_description: Import an OVA or OVF appliance (VMware, VirtualBox, generic) as a libvirt guest
version_added: 0.2.0
description:
  - Turns an OVA archive, or an OVF descriptor with its files beside it, into storage pool volumes and a
    libvirt guest, mapping the OVF's hardware (CPUs, memory, disk controllers, NIC models, BIOS or EFI
    firmware) onto the same guest service as M(virtcloud.core.libvirt_domain).
  - The archive is treated as hostile. Before anything is written, it refuses unsafe members (paths with
    C(..) or absolute, links, devices, duplicates, a truncated tar, a second descriptor), unsafe XML
    (any DOCTYPE, entities), references outside the archive, disk images that would read other files
    (backing files, VMDK extents naming host files) and disks the pool cannot hold.
  - Disks are converted straight out of the archive, never extracted, while the manifest digest of the
    same bytes is computed; a mismatch, or a manifest naming a file that is not there, fails. A
    gzip-compressed or chunked disk is expanded into a temporary file next to the volume first.
  - On any failure, everything this run created (volumes, guest, temporary files) is removed.
  - Idempotent - the OVA's identity (a digest of its descriptor, its manifest and its member list) is
    recorded in the guest's metadata; the same OVA again changes nothing, another one under the same
    name fails unless O(force=true).
  - Volumes are named C(NAME-diskN.qcow2) (or C(.img) for raw) and belong to the import; they are
    removed with the guest by O(force=true), or by M(virtcloud.core.libvirt_domain) with
    O(virtcloud.core.libvirt_domain#module:remove_storage=true).
options:
  src:
    description:
      - Path of the C(.ova) (a tar archive) or of the C(.ovf) descriptor with its files in the same directory.
      - Or an C(http://) or C(https://) URL of an C(.ova), fetched once into O(cache_dir) (written under a temporary
        name, renamed when complete) and used from there by later runs; its manifest is checked like any OVA's.
        Check mode fetches it too - the cache is the only thing it writes.
    type: str
    required: true
  cache_dir:
    description: Where OVAs given by URL are kept. Delete a cached file to fetch it again.
    type: path
    default: /var/cache/virtcloud/ova
  validate_certs:
    description: Verify the server's TLS certificate when O(src) is an C(https://) URL.
    type: bool
    default: true
  name:
    description:
      - Name of the guest. Default - the name of the OVF's virtual system.
    type: str
  pool:
    description: The active storage pool that receives the disks.
    type: str
    default: default
  network_map:
    description:
      - Maps each network name the OVF connects NICs to (its C(NetworkSection), for example C(VM Network)
        or C(NAT)) to a libvirt network (a name), or to a dictionary with one key, C(bridge) or
        C(ovs_bridge), naming a host bridge.
      - Every network the OVF uses must be mapped; an unmapped one is an error that names it.
    type: dict
    default: {}
  disk_format:
    description: Format of the new volumes.
    type: str
    default: qcow2
    choices: [qcow2, raw]
  preallocation:
    description:
      - V(off) - thin volumes. V(metadata) - qcow2 metadata preallocated. V(falloc), V(full) - raw volumes
        whose space is reserved.
      - The pool must hold what the OVF declares - the disks' summed capacity may not exceed the pool's size
        (thin), or its free space (preallocated, raw).
    type: str
    default: "off"
    choices: ["off", metadata, falloc, full]
  verify_manifest:
    description:
      - Check every file the manifest (C(.mf)) lists, with the digest it gives (SHA-256, SHA-512; SHA-1 with a
        warning). Without a manifest there is nothing to check, and a warning says so.
    type: bool
    default: true
  require_manifest:
    description: Refuse an archive without a manifest.
    type: bool
    default: false
  virt_type:
    description: Hypervisor type of the new guest, as O(virtcloud.core.libvirt_domain#module:virt_type).
    type: str
    default: auto
    choices: [auto, kvm, qemu]
  start:
    description: Start the guest after the import (and start it when it was imported before but is off).
    type: bool
    default: false
  force:
    description:
      - Replace a guest of the same name that was not imported from this OVA (powered off, undefined, its
        imported volumes deleted).
    type: bool
    default: false
  domain:
    description:
      - Options of M(virtcloud.core.libvirt_domain) set on top of what the OVF describes, when the guest is
        imported - V(title), V(description), V(memory), V(vcpus), V(cpu_mode), V(machine), V(graphics),
        V(serial), V(autostart), V(guest_agent), V(boot).
      - For example a VNC console for virt-manager, or a serial console written to a file. Later changes
        to an imported guest are made with M(virtcloud.core.libvirt_domain).
    type: dict
    default: {}
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt_ova
seealso:
  - module: virtcloud.core.ovf_info
  - module: virtcloud.core.ova_export
  - module: virtcloud.core.libvirt_domain
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A directory pool
  virtcloud.core.libvirt_pool:
    name: example-images
    path: /var/tmp/example-images

- name: A host-only network
  virtcloud.core.libvirt_network:
    name: example-hostonly
    forward: isolated
    address: 198.18.24.1/24

- name: A small guest with a disk, defined and shut off
  virtcloud.core.libvirt_domain:
    name: example-web1
    memory: 256MiB
    disks:
      - {pool: example-images, volume: example-web1.qcow2, size: 64MiB}
    nics:
      - {network: example-hostonly}
    state: present

- name: A directory for the appliance
  ansible.builtin.file:
    path: /var/tmp/example-export
    state: directory
    mode: "0755"

- name: An appliance to import (an OVA exported from the guest; its NICs are on example-hostonly)
  virtcloud.core.ova_export:
    name: example-web1
    dest: /var/tmp/example-export/web1.ova

- name: Import the appliance as a new guest on the host-only network, with a VNC console and a console log
  virtcloud.core.ova_import:
    src: /var/tmp/example-export/web1.ova
    name: example-tiny1
    pool: example-images
    network_map:
      example-hostonly: example-hostonly
    domain:
      graphics: {type: vnc, listen: 127.0.0.1}
      serial: {type: file, path: /var/tmp/example-export/tiny1-console.log}
    start: false

# A VirtualBox export, its NAT network on a Linux bridge, raw preallocated disks:
#   virtcloud.core.ova_import:
#     src: /srv/appliances/ubuntu.ova
#     pool: vc-images
#     network_map:
#       NAT: {bridge: br0}
#     disk_format: raw
#     preallocation: falloc

- name: Remove the imported guest and its volumes
  virtcloud.core.libvirt_domain:
    name: example-tiny1
    state: absent
    remove_storage: true

- name: Remove the guest and its volumes
  virtcloud.core.libvirt_domain:
    name: example-web1
    state: absent
    remove_storage: true

- name: Remove the network
  virtcloud.core.libvirt_network:
    name: example-hostonly
    state: absent

- name: Remove the pool
  virtcloud.core.libvirt_pool:
    name: example-images
    state: absent
    delete_data: true

- name: Remove the exports
  ansible.builtin.file:
    path: /var/tmp/example-export
    state: absent
"""

RETURN = r"""
domain:
  description: The imported guest, as M(virtcloud.core.libvirt_domain) returns it, plus the OVA's identity.
  returned: always
  type: dict
  contains:
    name: {description: Guest name., type: str}
    state: {description: "Run state: running, shutdown, ...", type: str}
    disks: {description: The guest's disks (pool volumes)., type: list, elements: dict}
    nics: {description: The guest's NICs., type: list, elements: dict}
    ova_identity: {description: Digest identifying the imported OVA (recorded in the guest's metadata)., type: str}
actions:
  description: What was done (or would be, in check mode).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.ova.importer import OvaImportService


def main():
    run(OvaImportService)


if __name__ == "__main__":
    main()
