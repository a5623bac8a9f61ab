#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_pool
short_description: Manage a libvirt storage pool (directory, LVM volume group, NFS, iSCSI)
version_added: 0.1.0
description:
  - Defines, builds, starts, stops and removes one libvirt storage pool and reports its capacity.
  - Only options you set are compared; on an existing pool an omitted option is not managed.
  - A new V(dir) or V(netfs) pool's target directory is created (never overwritten). A V(logical)
    pool's devices are only formatted when O(build=true).
  - A run that fails takes back what it did where it can (a new pool's definition and the directory
    its build made; a pool it stopped for removal is started again), and its result says what ran
    (RV(actions)) and whether a change stays (C(changed)).
  - A changed O(path) or O(source) redefines the pool; a running pool uses the new definition after
    a restart, reported as RV(restart_required). The pool type of an existing pool is never changed.
  - Removing a pool keeps its data (the directory and its volumes) unless O(delete_data=true).
options:
  name:
    description:
      - Pool name.
      - Not empty, without C(/) or a newline, at most 247 bytes (libvirt keeps the definition in a file named after it).
    type: str
    required: true
  state:
    description:
      - V(present) - the pool is defined (and runs when O(active=true)).
      - V(absent) - the pool is stopped and undefined; its data is deleted only with O(delete_data=true).
    type: str
    default: present
    choices: [present, absent]
  type:
    description:
      - V(dir) - volumes are files in the directory O(path).
      - V(logical) - an LVM volume group (O(source.name)) on O(source.devices).
      - V(netfs) - a network file system (NFS by default) exported as O(source.dir) by O(source.host),
        mounted on O(path). Starting it needs the file system's mount helper on the libvirt host
        (C(mount.nfs), C(mount.cifs), C(mount.glusterfs)); on a local URI a missing one is an error
        naming O(source) before anything is defined.
      - V(iscsi) - the LUNs of iSCSI target O(source.iqn) on O(source.host).
      - Defaults to V(dir) when the pool is created. The type of an existing pool is never changed.
    type: str
    choices: [dir, logical, netfs, iscsi]
  path:
    description:
      - Target path where the pool's volumes appear. Required to create a V(dir) or V(netfs) pool.
      - Defaults to C(/dev/<volume group>) for V(logical) and C(/dev/disk/by-path) for V(iscsi).
      - On an existing pool, not managed when omitted.
    type: str
  source:
    description:
      - Where the storage comes from (not used by V(dir) pools). Compared as a whole when given.
    type: dict
    suboptions:
      host:
        description: NFS server or iSCSI portal (V(netfs), V(iscsi); required there).
        type: str
      port:
        description: Port of O(source.host).
        type: int
      dir:
        description: Exported directory (V(netfs); required there).
        type: str
      devices:
        description: Block devices, the physical volumes of a V(logical) pool.
        type: list
        elements: str
      name:
        description: Volume group name of a V(logical) pool.
        type: str
      format:
        description:
          - V(netfs) - V(auto) (the default), V(nfs), V(glusterfs) or V(cifs).
          - V(logical) - V(lvm2) (the default).
        type: str
      iqn:
        description: IQN of the iSCSI target (V(iscsi); required there).
        type: str
      initiator:
        description: Initiator IQN to log in with (V(iscsi)).
        type: str
  build:
    description:
      - Let libvirt build the pool when it is created, overwriting what is there (for V(logical)
        this runs C(pvcreate)/C(vgcreate) on the devices).
      - Without it only a missing V(dir)/V(netfs) directory is created.
    type: bool
    default: false
  active:
    description: Whether the pool runs (its volumes can be used and capacity is reported only then).
    type: bool
    default: true
  autostart:
    description: Whether libvirtd starts the pool at boot. Not managed when omitted.
    type: bool
  refresh:
    description: Rescan the pool before reporting, so volumes made outside libvirt are counted. Not a change.
    type: bool
    default: false
  delete_data:
    description:
      - With O(state=absent), also delete the pool's backing data (the directory of a V(dir) pool,
        which must then be empty of volumes; the volume group of a V(logical) pool).
      - A V(dir) or V(netfs) pool that still holds volumes is refused before anything is touched (the
        pool is not stopped), naming the volumes to delete first.
    type: bool
    default: false
  xml:
    description:
      - A C(<pool>) definition of your own, for example one made with C(virsh pool-dumpxml), managed as it is.
      - Merged onto the stored definition and compared semantically like libvirt_domain's O(xml); what
        libvirt reports (C(<capacity>), C(<allocation>), C(<available>)) and elements it leaves out are
        ignored. A difference redefines the pool, applied when it restarts (RV(restart_required)); changed
        C(<permissions>) are applied to its directory right away, like O(mode).
      - Options set as well (O(path), O(source), O(mode), ...) win. Its type attribute is required and must
        be the existing pool's type; a C(<name>) in it must be O(name).
    type: str
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.libvirt.permissions
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt
seealso:
  - module: virtcloud.core.libvirt_volume
  - module: virtcloud.core.libvirt_storage_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: Directory pool for guest disks
  virtcloud.core.libvirt_pool:
    name: example-images
    path: /var/tmp/example-images
    autostart: true

- name: Pool directory owned by root, group readable
  virtcloud.core.libvirt_pool:
    name: example-guests
    path: /var/tmp/example-guests
    owner: "0"
    group: "0"
    mode: "0750"

- name: A pool defined by your own XML
  virtcloud.core.libvirt_pool:
    name: example-templates
    xml: |
      <pool type='dir'>
        <target>
          <path>/var/tmp/example-templates</path>
        </target>
      </pool>

# Pools on other storage name a server or a volume group of your own (not run here):
#   - {name: shared, type: netfs, path: /srv/shared-images, source: {host: nfs.example.com, dir: /export/images}}
#   - {name: fast, type: logical, source: {name: vg_fast}}
#   - {name: san, type: iscsi, source: {host: san.example.com, iqn: "iqn.2013-06.com.example:storage"}}

- name: Remove the pools and their directories
  virtcloud.core.libvirt_pool:
    name: "{{ item }}"
    state: absent
    delete_data: true
  loop: [example-images, example-guests, example-templates]
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["define pool images", "build pool images", "start pool images"]
restart_required:
  description: The definition changed and applies when the running pool restarts.
  returned: when true
  type: bool
pool:
  description: The pool after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: "Pool name.", type: str, returned: when present}
    uuid: {description: "UUID (null for a pool still to be defined in check mode).", type: str, returned: when present}
    type: {description: "Pool type.", type: str, returned: when present}
    path: {description: "Target path.", type: str, returned: when present}
    source: {description: "Source (host, port, dir, devices, name, format, iqn, initiator) as set.", type: dict, returned: when present}
    active: {description: "Whether the pool runs.", type: bool, returned: when present}
    autostart: {description: "Whether the pool starts at boot.", type: bool, returned: when present}
    capacity: {description: "Size in bytes (null while inactive).", type: int, returned: when present}
    allocation: {description: "Bytes in use (null while inactive).", type: int, returned: when present}
    available: {description: "Free bytes (null while inactive).", type: int, returned: when present}
    volumes: {description: "Number of volumes (null while inactive).", type: int, returned: when present}
    owner: {description: "Owner uid of the target directory, as libvirt reports it (null when not known).", type: int, returned: when present}
    group: {description: "Group gid of the target directory, as libvirt reports it.", type: int, returned: when present}
    mode: {description: "Permission bits of the target directory, an octal string such as 0755.", type: str, returned: when present}
    label: {description: "SELinux label of the target directory (null without SELinux).", type: str, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage import StoragePoolService


def main():
    run(StoragePoolService)


if __name__ == "__main__":
    main()
