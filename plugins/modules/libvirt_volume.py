#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_volume
short_description: Manage a libvirt storage volume (thin or thick, grow, clone, linked clone, base image, wipe)
version_added: 0.1.0
description:
  - Creates, grows, shrinks (only when allowed), wipes and deletes one volume in an active storage pool.
  - A volume is independent of guests; removing a guest that used it leaves it in place.
  - A new volume is thin unless O(preallocation) asks for reserved space, made empty, as a clone of
    O(clone_from), as a linked clone of O(backing), from the local image O(upload), or from the base image
    O(source) (a local file or an http(s) URL, checked against O(checksum)); images are converted to the
    volume's format when needed.
  - Growing an existing volume is done in place; when the volume is a disk of a running guest it grows
    through that guest (libvirt's block resize), so the running QEMU sees the new size at once and the guest
    is neither redefined nor restarted. A volume in use by a running guest is never shrunk.
  - O(max_overcommit) guards thin provisioning; a create or grow that would take the ratio of the
    pool's summed virtual sizes to its capacity above the limit fails before anything is touched.
  - O(preallocation), O(clone_from), O(upload), O(source) and O(checksum) only apply when the volume is
    created; an existing volume is never re-cloned or re-uploaded, and its format is never converted in place.
  - A volume does not remember the image it was made from (libvirt keeps no such record, and a file
    beside it would drift from it), so a rerun with O(source) finds the volume and reports no change without
    downloading or reading the image - also when O(source) or O(checksum) now name another image. To move a
    guest disk to a new image, give the volume a new name (for example one with the image's version in it)
    or delete it first.
  - While a volume is made (created, then cloned, uploaded, resized or written), a marker volume
    C(<name>.virtcloud-partial) stands next to it in the pool, deleted once the volume is complete. A
    create that fails partway (the pool filled up during the upload) deletes the volume and its marker.
    A volume found with its marker (its run was killed) is incomplete - it is deleted and made again,
    with a warning, and never taken as it is.
options:
  name:
    description:
      - Volume name (the file name in a V(dir) pool).
      - Not empty, without C(/) or a newline, at most 255 bytes (in a directory pool the volume is a file of that name).
    type: str
    required: true
  pool:
    description: Name of the active storage pool that holds the volume.
    type: str
    required: true
  state:
    description:
      - V(present) - the volume exists with the given O(capacity).
      - V(absent) - the volume is deleted (wiped first with O(wipe=true)).
    type: str
    default: present
    choices: [present, absent]
  capacity:
    description:
      - Virtual size, as bytes or with a unit, for example V(20GiB), V(512 MiB), V(10G) (binary, as in
        libvirt), V(1.5GB) (decimal). Rounded up to whole 512-byte sectors.
      - Required to create an empty volume; for O(clone_from) and O(upload) the source's size is the
        minimum.
      - A larger value grows the volume; a smaller one is refused unless O(allow_shrink=true).
    type: raw
    aliases: [size]
  format:
    description:
      - Format of a new volume; V(qcow2) when omitted.
      - An existing volume of another format is an error, not a conversion.
    type: str
    choices: [qcow2, raw]
  preallocation:
    description:
      - V(none) - thin; nothing is allocated until the guest writes (raw files are sparse).
      - V(metadata) - qcow2 only; its metadata is allocated, data is not.
      - V(falloc) - the whole size is reserved on disk (thick) without writing it.
      - V(full) - raw only; the whole size is reserved and written with zeros.
      - Applies when the volume is created, and to growth of a raw volume.
    type: str
    default: none
    choices: [none, metadata, falloc, full]
  allow_shrink:
    description: Allow O(capacity) below the current size. Data past the new end is lost.
    type: bool
    default: false
  clone_from:
    description: Create the volume as a copy of this volume of the same pool (a template).
    type: str
  upload:
    description:
      - Create the volume from this local image file (any format qemu-img reads), converted to
        O(format) when it differs.
      - Only a self-contained image is taken - one with a backing file, a qcow2 external data file
        or VMDK extents in other files is refused before anything is created, because qemu-img
        would copy those files' content into the volume. Its format is probed once (or taken from
        O(upload_format)) and stated to every qemu-img call.
    type: path
  source:
    description:
      - Create the volume from this base image - a local path or an V(http://) or V(https://) URL.
      - A URL is downloaded into O(cache_dir) once per URL and O(checksum) (to a temporary name, renamed
        when whole), and reused from there by later runs and other volumes; delete the cached file to fetch
        it anew. An unreachable URL fails naming O(source); nothing is left behind.
      - A file that starts with the xz or gzip magic bytes (whatever its name) is decompressed into
        O(cache_dir) once. Its format (qcow2, raw, vmdk, vhd, ...) is then read from its header by qemu-img,
        and it is converted to O(format) when that differs. Only self-contained images are taken, as with
        O(upload).
      - Check mode downloads and decompresses too (into O(cache_dir) only, never the pool), so that it can
        predict the volume's size and fail as the real run would.
    type: str
  checksum:
    description:
      - Expected digest of the O(source) file as published (the compressed file for a compressed one), as
        V(sha256:<hex>) or V(sha512:<hex>).
      - Checked before anything is uploaded, also for a file taken from the cache; a mismatch fails naming
        O(checksum), and a download that does not match is not kept.
    type: str
  cache_dir:
    description:
      - Directory for downloaded and decompressed O(source) images, on the host the module runs on.
    type: path
    default: ~/.cache/virtcloud/images
  validate_certs:
    description: Check the server's TLS certificate when O(source) is an V(https://) URL.
    type: bool
    default: true
  backing:
    description:
      - Create the volume as a linked clone of this template volume of the same pool - a qcow2 overlay
        whose backing store is the template (format qcow2 or raw), made in constant time whatever the
        template's size; only what the guest writes is stored in the volume.
      - The template must not change while clones use it. O(capacity) may be larger than the template's
        (the clone is grown); the template's size is the minimum.
      - An existing volume must already have this template as its backing store; it is never rebased.
      - O(clone_from) makes a full, independent copy instead.
    type: str
    aliases: [linked_clone_from]
  upload_format:
    description:
      - Format of the O(upload) file, instead of probing it. V(raw) takes the file's bytes as they
        are, whatever header they carry.
    type: str
    choices: [raw, qcow2, qcow, vmdk, vpc, vhdx, vdi, qed, parallels, dmg]
  max_overcommit:
    description:
      - Largest allowed ratio of the pool's summed volume virtual sizes to its capacity after a create
        or grow, for example V(1.0) (no overcommit) or V(3.0).
      - Not checked when omitted.
    type: float
  wipe:
    description: With O(state=absent), overwrite the volume's data with zeros before deleting it.
    type: bool
    default: false
  xml:
    description:
      - A C(<volume>) definition of your own, for example one made with C(virsh vol-dumpxml); what libvirt
        generates or reports (C(<key>), C(<allocation>), C(<physical>), the target path, timestamps) is ignored.
      - A new volume is created from it; its C(<capacity>), format and C(<permissions>) count where
        O(capacity), O(format), O(owner), O(group), O(mode), O(label) are not set (the options win).
        The allocation of a new volume comes from O(preallocation).
      - An existing volume is resized to its capacity and gets its permissions (as with O(mode)); libvirt
        changes nothing else of a volume, so any other difference (a format, C(<compat>), features) is an
        error naming O(xml), nothing changed. Delete the volume to recreate it.
      - A C(<name>) in it must be O(name).
    type: str
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.libvirt.permissions
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt
seealso:
  - module: virtcloud.core.libvirt_pool
  - module: virtcloud.core.libvirt_storage_info
  - module: virtcloud.core.libvirt_domain
  - module: virtcloud.core.disk_image
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A directory pool to hold the volumes
  virtcloud.core.libvirt_pool:
    name: example-images
    path: /var/tmp/example-images

- name: Thin 64 GiB disk, refused if the pool would be more than 1000x overcommitted
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: data.qcow2
    capacity: 64GiB
    max_overcommit: 1000.0

- name: Thick raw disk with its space reserved
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: db.raw
    format: raw
    capacity: 16MiB
    preallocation: falloc

- name: A template volume
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: template.qcow2
    capacity: 1GiB

- name: Guest disk cloned from the template volume
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: web1.qcow2
    clone_from: template.qcow2
    capacity: 2GiB

- name: Linked clone of the template, larger than it (only the guest's writes are stored)
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: web2.qcow2
    backing: template.qcow2
    capacity: 4GiB

- name: A local base image (a file an earlier task made)
  virtcloud.core.disk_image:
    path: /var/tmp/example-base.qcow2
    format: qcow2
    size: 64MiB

- name: Its checksum
  ansible.builtin.stat:
    path: /var/tmp/example-base.qcow2
    checksum_algorithm: sha256
  register: example_base

- name: Guest disk from the base image, checked, converted to raw
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: base.raw
    format: raw
    source: /var/tmp/example-base.qcow2
    checksum: "sha256:{{ example_base.stat.checksum }}"

- name: Grow a disk
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: data.qcow2
    capacity: 128GiB

- name: Delete a disk, zeroing it first
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: db.raw
    state: absent
    wipe: true

- name: Disk readable by a group, owned by a service user
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: shared.qcow2
    capacity: 10GiB
    owner: "0"
    group: "0"
    mode: "0640"

- name: A volume from your own XML
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: scratch.qcow2
    xml: |
      <volume>
        <capacity unit='G'>4</capacity>
        <target>
          <format type='qcow2'/>
          <permissions>
            <mode>0600</mode>
          </permissions>
        </target>
      </volume>

- name: Remove the volumes
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: "{{ item }}"
    state: absent
  loop: [data.qcow2, web1.qcow2, web2.qcow2, base.raw, template.qcow2, shared.qcow2, scratch.qcow2]

- name: Remove the base image file
  virtcloud.core.disk_image:
    path: /var/tmp/example-base.qcow2
    state: absent

- name: Remove the pool and its directory (refused while it holds volumes)
  virtcloud.core.libvirt_pool:
    name: example-images
    state: absent
    delete_data: true
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create volume images/data.qcow2 (1 TiB, none)"]
volume:
  description: The volume after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: "Volume name.", type: str, returned: when present}
    pool: {description: "Pool name.", type: str, returned: when present}
    path: {description: "Path of the volume on the host (null until created).", type: str, returned: when present}
    key: {description: "libvirt's unique key of the volume (null until created).", type: str, returned: when present}
    format: {description: "Format (qcow2, raw, ...).", type: str, returned: when present}
    capacity: {description: "Virtual size in bytes.", type: int, returned: when present}
    allocation: {description: "Bytes allocated on the host (null when predicted).", type: int, returned: when present}
    provisioning:
      description: V(thick) when the whole virtual size is allocated, else V(thin).
      type: str
      returned: when present
    owner: {description: "Owner uid of the volume's file, as libvirt reads it (null when not known).", type: int, returned: when present}
    group: {description: "Group gid of the volume's file.", type: int, returned: when present}
    mode: {description: "Permission bits of the volume's file, an octal string such as 0600.", type: str, returned: when present}
    label: {description: "SELinux label (null without SELinux).", type: str, returned: when present}
    backing:
      description: The backing store (path and format) of a linked clone, null for other volumes.
      type: dict
      returned: when present
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage import VolumeService


def main():
    run(VolumeService)


if __name__ == "__main__":
    main()
