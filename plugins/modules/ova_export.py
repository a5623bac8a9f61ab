#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ova_export
short_description: Export a shut-off libvirt guest as an OVA (OVF 1.0 or 2.0, streamOptimized VMDK disks)
version_added: 0.1.0
description:
  - Writes one OVA file from a libvirt guest - its descriptor validates against the DMTF OVF schema
    (DSP8023) of the chosen O(ovf_version), its disks are streamOptimized VMDKs (what VMware, VirtualBox
    and most OVA importers read) and a SHA256 manifest lists every file.
  - "Members in the order DSP0243 asks for - the descriptor C(<name>.ovf) first, then the manifest
    C(<name>.mf), then C(<name>-disk1.vmdk), C(<name>-disk2.vmdk), ... in the order of the guest's disks.
    Member names are the guest name with characters other than letters, digits, C(.), C(_) and C(-)
    replaced by C(_); the guest's own name is kept in the descriptor."
  - Each disk (qcow2 with or without a backing chain, raw, file or pool volume) is read as the guest
    sees it, compressed and hashed on its way into the archive - no temporary copy of a disk is written.
    Unallocated and all-zero areas are skipped.
  - The OVA is written under a temporary name in the directory of O(dest) (C(.<file name>.<random>.part))
    and renamed to O(dest) at the end, so O(dest) only ever holds a complete archive; a failure removes the
    temporary file and leaves an existing O(dest) untouched.
  - "An OVA records what it was made from - a digest of the guest's definition, of every disk's path, size,
    modification time and inode, and of O(ovf_version), and the archive's size - as attributes of the
    descriptor's C(Envelope) in the namespace C(urn:virtcloud:core:ova) (C(vct:exportDigest),
    C(vct:archiveSize)). When O(dest) holds an OVA with the same digest and size, nothing is written;
    any other file at O(dest) is replaced."
  - The guest must be shut off - a running or paused guest is refused before anything is written.
  - "Hardware described - CPUs, memory, firmware (UEFI as VMware's C(firmware=efi) config), disk
    controllers (IDE, SATA/AHCI, SCSI with its model, virtio-blk as an C(Other storage device) with
    subtype C(virtio), which only libvirt-based importers understand), disks, CD-ROM drives (without
    media), NICs (model as C(ResourceSubType), MAC, the network or bridge name as the OVF network),
    the OS type from the guest's libosinfo metadata (generic 64-bit Linux when there is none)."
  - Floppy drives and LUNs are left out with a warning. Disks on buses OVF cannot describe (USB, ...)
    and network disks are refused.
options:
  name:
    description: Name of the libvirt guest to export.
    type: str
    required: true
  dest:
    description:
      - Path of the OVA file to write. Its directory must exist.
    type: path
    required: true
  ovf_version:
    description:
      - OVF version of the descriptor. V(1.0) (namespace C(http://schemas.dmtf.org/ovf/envelope/1)) is
        what every importer reads; V(2.0) uses the OVF 2 namespace.
    type: str
    default: "1.0"
    choices: ["1.0", "2.0"]
  force:
    description: Write the OVA even when O(dest) is up to date.
    type: bool
    default: false
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt_ova
requirements:
  - qemu-img and qemu-nbd (Debian/Ubuntu package qemu-utils) on the managed host
  - lxml
seealso:
  - module: virtcloud.core.ova_import
  - module: virtcloud.core.ovf_info
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

- name: A directory for the exports
  ansible.builtin.file:
    path: /var/tmp/example-export
    state: directory
    mode: "0755"

- name: Shut the guest down
  virtcloud.core.libvirt_domain:
    name: example-web1
    state: shutdown

- name: Export it as an OVA
  virtcloud.core.ova_export:
    name: example-web1
    dest: /var/tmp/example-export/web1.ova
  register: exported

- name: An OVF 2.0 package, written again even when up to date
  virtcloud.core.ova_export:
    name: example-web1
    dest: /var/tmp/example-export/web1-ovf2.ova
    ovf_version: "2.0"
    force: true

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
actions:
  description: What was done (or, in check mode, would be done).
  returned: always
  type: list
  elements: str
  sample: ["export guest web1 to /srv/export/web1.ova (OVF 1.0, 1 disk(s), 10 GiB)"]
ova:
  description: The OVA at O(dest) after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    path: {description: "Absolute path of the OVA.", type: str, returned: always}
    ovf_version: {description: "OVF version of its descriptor; null for a file that is no OVA of ours.", type: str, returned: always}
    digest: {description: "The export digest recorded in the descriptor (null when it has none).", type: str, returned: always}
    size: {description: "Size of the file in bytes (null when predicted).", type: int, returned: always}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.ova.export import OvaExportService


def main():
    run(OvaExportService)


if __name__ == "__main__":
    main()
