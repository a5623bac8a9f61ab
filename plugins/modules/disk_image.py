#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: disk_image
short_description: Create, convert and resize disk image files (qcow2, raw, VMDK, VHD, VHDX)
version_added: 0.1.0
description:
  - Manages one disk image file outside libvirt storage pools with C(qemu-img), reading its JSON output.
  - Without O(source) and O(size) it only reports the image (format, virtual and actual size).
  - An image that already has the wanted format, subformat and size, and is newer than its O(source),
    is left alone; O(force=true) rewrites it anyway.
  - A new or rewritten image is written next to O(path) (as O(path) with C(.virtcloud-tmp) appended) and
    moved over it at the end, so a failed conversion (the disk filled up) leaves the previous file untouched,
    or no file at all, and removes what it wrote; a killed run's leftover temporary file is overwritten and
    removed by the next run.
  - An image that would make C(qemu-img) read other files (a backing file, an external data file,
    VMDK extents elsewhere) is never converted, as O(source) or rewritten in place - their content
    would land in the result; growing or shrinking such an image in place reads nothing and is allowed.
  - Fixed VHDs (which C(qemu-img) alone would take for raw files) are recognised by their footer.
options:
  path:
    description: The image file to create, convert to, resize, report or remove.
    type: path
    required: true
  state:
    description:
      - V(present) - the image exists as described.
      - V(absent) - the file is removed.
    type: str
    default: present
    choices: [present, absent]
  format:
    description:
      - Format of the image. V(vpc) is VHD (Azure, Hyper-V), V(vhdx) is Hyper-V's newer format.
      - Defaults to the format of the existing O(path), else of O(source). Required to create an empty image.
      - A different format than the existing file's converts the file.
    type: str
    choices: [qcow2, raw, vmdk, vpc, vhdx]
  size:
    description:
      - Virtual size, as bytes or with a unit (V(10GiB), V(512M), V(1.5GB)); rounded up to whole
        512-byte sectors (whole MiB with O(profile=azure_page_blob)).
      - Required to create an empty image. With O(source), defaults to the source's size.
      - A larger size grows the image; a smaller one is refused unless O(allow_shrink=true).
    type: raw
  source:
    description:
      - Image to convert into O(path) (any format qemu-img reads; its format is detected once, or
        taken from O(source_format), and stated to every qemu-img call).
      - Only a self-contained image is taken - one with a backing file, a qcow2 external data file
        or VMDK extents in other files is refused before anything is written, because qemu-img
        would copy those files' content into O(path).
      - O(path) is rewritten when it is older than the source or differs in format or size.
    type: path
  source_format:
    description:
      - Format of O(source), instead of probing it. V(raw) takes the file's bytes as they are,
        whatever header they carry.
    type: str
    choices: [raw, qcow2, qcow, vmdk, vpc, vhdx, vdi, qed, parallels, dmg]
  profile:
    description:
      - V(azure_page_blob) - a fixed-size VHD (C(subformat=fixed)) whose virtual size is a whole
        number of MiB, as Azure page blobs require. Implies O(format=vpc).
    type: str
    choices: [azure_page_blob]
  allow_shrink:
    description: Allow a O(size) below the current (or source) size. Data past the new end is lost.
    type: bool
    default: false
  force:
    description: Rewrite the image even when it is up to date.
    type: bool
    default: false
extends_documentation_fragment:
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_none
requirements:
  - qemu-img (Debian/Ubuntu package qemu-utils) on the managed host
seealso:
  - module: virtcloud.core.libvirt_volume
  - module: virtcloud.core.ova_import
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A directory for the images
  ansible.builtin.file:
    path: /var/tmp/example-images
    state: directory
    mode: "0755"

- name: Empty 1 GiB qcow2 image
  virtcloud.core.disk_image:
    path: /var/tmp/example-images/data.qcow2
    format: qcow2
    size: 1GiB

- name: Make an Azure-ready fixed VHD from a qcow2 build
  virtcloud.core.disk_image:
    path: /var/tmp/example-images/app.vhd
    source: /var/tmp/example-images/data.qcow2
    profile: azure_page_blob

- name: VMDK for VMware
  virtcloud.core.disk_image:
    path: /var/tmp/example-images/app.vmdk
    source: /var/tmp/example-images/data.qcow2
    format: vmdk

- name: Grow an image
  virtcloud.core.disk_image:
    path: /var/tmp/example-images/data.qcow2
    size: 2GiB

- name: What is this file?
  virtcloud.core.disk_image:
    path: /var/tmp/example-images/app.vmdk
  register: img

- name: Remove the images
  virtcloud.core.disk_image:
    path: /var/tmp/example-images/{{ item }}
    state: absent
  loop: [data.qcow2, app.vhd, app.vmdk]

- name: Remove their directory
  ansible.builtin.file:
    path: /var/tmp/example-images
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["convert /srv/images/app.qcow2 (qcow2) to /srv/export/app.vhd (vpc, 2 GiB)"]
image:
  description: The image after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    path: {description: "Image path.", type: str, returned: when present}
    format: {description: "Image format.", type: str, returned: when present}
    subformat: {description: "VHD disk type: fixed, dynamic or differencing; null for other formats.", type: str, returned: when present}
    virtual_size: {description: "Virtual size in bytes (what the guest sees).", type: int, returned: when present}
    actual_size: {description: "Bytes allocated on the host (null when predicted).", type: int, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.storage.disk_image import DiskImageService


def main():
    run(DiskImageService)


if __name__ == "__main__":
    main()
