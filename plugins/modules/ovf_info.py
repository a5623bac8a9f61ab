#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ovf_info
short_description: Facts about an OVF package (.ova archive or .ovf descriptor) without importing it
version_added: 0.1.0
description:
  - Reads the OVF descriptor of an C(.ova) (a tar archive) or a directory-form C(.ovf) (its disks and
    manifest beside it) and returns what the virtual system needs - CPUs, memory, firmware, disks with
    capacity and bus, CD-ROMs, NICs and their networks, guest OS, product, EULAs, properties - plus the
    package's files, its manifest and its certificate.
  - Reads OVF 1.0, 1.1 and 2.0 descriptors written by VMware (ovftool, vCenter, vCloud Director, Studio),
    VirtualBox and others; sections it does not interpret are listed in RV(foreign), never an error.
  - Nothing is extracted or written. Hostile packages are refused before anything is read from their
    disks - member names with C(..) or absolute paths, links, devices, duplicate names, truncated
    archives, several descriptors, descriptors with a DOCTYPE (entity expansion, external entities).
  - Changes nothing; C(changed) is always false.
options:
  src:
    description:
      - Path of the C(.ova) archive or of the C(.ovf) descriptor on the managed host.
      - For a C(.ovf), the files its References name must be regular files in the same directory
        (links are not followed).
    type: path
    required: true
  verify_manifest:
    description:
      - Check every digest of the manifest (C(.mf)) against the package's files; the result is in
        RV(manifest.verified) and RV(manifest.mismatched), and a mismatch is a warning, not a failure.
      - This reads every byte of every disk, so it is off by default.
    type: bool
    default: false
notes:
  - A VirtualSystemCollection (several virtual systems in one package) is described by its first
    virtual system at the top level, with a warning; RV(systems) has every system.
  - Allocation units such as C(byte * 2^20) and C(MegaBytes) are converted to bytes; KB, MB and GB
    are powers of 1024, as the tools that write them mean them.
extends_documentation_fragment:
  - virtcloud.core.attributes.info
  - virtcloud.core.attributes.group_ova
seealso:
  - module: virtcloud.core.ova_import
  - module: virtcloud.core.ova_export
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

- name: An appliance to import (an OVA exported from the guest)
  virtcloud.core.ova_export:
    name: example-web1
    dest: /var/tmp/example-export/web1.ova

- name: What does the appliance need?
  virtcloud.core.ovf_info:
    src: /var/tmp/example-export/web1.ova
  register: appliance

- name: Show its size
  ansible.builtin.debug:
    msg: "{{ appliance.cpus }} CPUs, {{ appliance.memory // 1048576 }} MiB, disks {{ appliance.disks | map(attribute='capacity') }}"

- name: Check the manifest before importing
  virtcloud.core.ovf_info:
    src: /var/tmp/example-export/web1.ova
    verify_manifest: true
  register: checked
  failed_when: checked.manifest.present and not checked.manifest.verified

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
  description: Always empty; the module only reads.
  returned: always
  type: list
  elements: str
src:
  description: The package read.
  returned: always
  type: str
format:
  description: V(ova) (tar archive) or V(ovf) (directory-form descriptor).
  returned: always
  type: str
descriptor:
  description: File name of the OVF descriptor.
  returned: always
  type: str
members:
  description: The package's files in archive order (for a C(.ovf), the descriptor, manifest, certificate and referenced files).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: File name., type: str}
    size: {description: Size in bytes., type: int}
missing_files:
  description: Files the descriptor's References name that the package lacks.
  returned: always
  type: list
  elements: str
manifest:
  description: The manifest (C(.mf)).
  returned: always
  type: dict
  contains:
    present: {description: Whether the package has one., type: bool}
    name: {description: Its file name., type: str}
    algorithm: {description: "Digest algorithm (sha1, sha256, sha512; comma-separated if mixed).", type: str}
    unlisted: {description: Package files the manifest does not list., type: list, elements: str}
    missing: {description: Files the manifest lists that the package lacks., type: list, elements: str}
    mismatched: {description: Files whose digest differs (only with O(verify_manifest))., type: list, elements: str}
    verified: {description: "True when every digest matched; null unless O(verify_manifest) is set.", type: bool}
certificate:
  description: The signing certificate (C(.cert)); its presence only, it is not validated.
  returned: always
  type: dict
  contains:
    present: {description: Whether the package has one., type: bool}
    name: {description: Its file name., type: str}
version:
  description: OVF version by namespace, V(1.0) (1.0 and 1.1) or V(2.0).
  returned: always
  type: str
name:
  description: Name of the virtual system.
  returned: always
  type: str
description:
  description: Its annotation.
  returned: always
  type: str
virtual_system_id:
  description: The VirtualSystem's ovf:id.
  returned: always
  type: str
system_type:
  description: "Virtual hardware family, such as vmx-13 or virtualbox-2.2."
  returned: always
  type: str
os:
  description: "Guest OS: id (CIM OS number), type (VMware's osType or VirtualBox's OSType), description."
  returned: always
  type: dict
cpus:
  description: Number of virtual CPUs.
  returned: always
  type: int
cores_per_socket:
  description: VMware's cores per socket, when given.
  returned: always
  type: int
memory:
  description: Memory in bytes.
  returned: always
  type: int
firmware:
  description: V(bios) or V(efi).
  returned: always
  type: str
files:
  description: "The References: file ID -> href, size, compression (null or gzip), chunk_size (null unless split into href.000000000 ...)."
  returned: always
  type: dict
disks:
  description: >-
    Disks: id, file_id (null for a blank disk), capacity and populated_size in bytes, format (streamOptimized,
    monolithicSparse, vmdk, qcow2, raw, ...), format_url, bus (ide, sata, scsi, nvme, virtio, usb, fdc; null when
    attached to no controller), controller_model, controller (the controller's Address), unit (AddressOnParent).
  returned: always
  type: list
  elements: dict
cdroms:
  description: "CD/DVD drives: bus, controller_model, controller, unit, file_id (an ISO of the package, or null)."
  returned: always
  type: list
  elements: dict
nics:
  description: "NICs: network (OVF network name), model (e1000, e1000e, vmxnet3, pcnet, virtio, rtl8139, ...), mac, connected."
  returned: always
  type: list
  elements: dict
networks:
  description: "The NetworkSection: name, description."
  returned: always
  type: list
  elements: dict
product:
  description: "ProductSection: product, vendor, version, full_version, url; null when absent."
  returned: always
  type: dict
eula:
  description: License texts (of the collection around the system, then the system's).
  returned: always
  type: list
  elements: str
properties:
  description: "Properties: key (class.key.instance), type, value, user_configurable, label, description."
  returned: always
  type: list
  elements: dict
foreign:
  description: Qualified names of sections and elements not interpreted (vbox:Machine, vmw:IpAssignmentSection, ...).
  returned: always
  type: list
  elements: str
systems:
  description: Every virtual system (more than one in a VirtualSystemCollection), each with the per-system keys above.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.ova.info import OvfInfoService


def main():
    run(OvfInfoService)


if __name__ == "__main__":
    main()
