#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_storage_info
short_description: Report libvirt storage pools, their volumes and their overcommit
version_added: 0.1.0
description:
  - Lists the storage pools (one listing call) with capacity, allocation and free space, the summed
    virtual size of their volumes, the overcommit ratio, and each volume's thin or thick state.
  - Capacity figures exist only for active pools.
options:
  name:
    description: Report only this pool (an error when it does not exist).
    type: str
  refresh:
    description: Rescan active pools first, so volumes made outside libvirt are counted.
    type: bool
    default: false
extends_documentation_fragment:
  - virtcloud.core.attributes.info
  - virtcloud.core.attributes.group_libvirt
  - virtcloud.core.libvirt
seealso:
  - module: virtcloud.core.libvirt_pool
  - module: virtcloud.core.libvirt_volume
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: How thin are my pools?
  virtcloud.core.libvirt_storage_info:
  register: storage

- name: Warn about overcommitted pools
  ansible.builtin.debug:
    msg: "{{ item.name }} is overcommitted {{ item.overcommit }}x"
  loop: "{{ storage.pools | selectattr('overcommit', 'defined') | selectattr('overcommit', 'gt', 1) }}"
"""

RETURN = r"""
pools:
  description: The storage pools, by name.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Pool name.", type: str, returned: always}
    uuid: {description: "Pool UUID.", type: str, returned: always}
    type: {description: "Pool type (dir, logical, netfs, iscsi, ...).", type: str, returned: always}
    path: {description: "Target path.", type: str, returned: always}
    source: {description: "Source (host, port, dir, devices, name, format, iqn, initiator).", type: dict, returned: always}
    active: {description: "Whether the pool runs.", type: bool, returned: always}
    autostart: {description: "Whether the pool starts at boot.", type: bool, returned: always}
    owner: {description: "Owner uid of the target directory as libvirt reports it (null when not known).", type: int, returned: always}
    group: {description: "Group gid of the target directory.", type: int, returned: always}
    mode: {description: "Permission bits of the target directory, an octal string such as 0755.", type: str, returned: always}
    label: {description: "SELinux label of the target directory (null without SELinux).", type: str, returned: always}
    capacity: {description: "Size in bytes.", type: int, returned: when active}
    allocation: {description: "Bytes in use.", type: int, returned: when active}
    available: {description: "Free bytes.", type: int, returned: when active}
    virtual_size: {description: "Sum of the virtual sizes (capacities) of the pool's volumes.", type: int, returned: when active}
    overcommit: {description: "virtual_size / capacity; above 1 the pool is overcommitted.", type: float, returned: when active}
    volumes:
      description: The pool's volumes.
      type: list
      elements: dict
      returned: when active
      contains:
        name: {description: "Volume name.", type: str, returned: always}
        pool: {description: "Pool name.", type: str, returned: always}
        path: {description: "Path on the host.", type: str, returned: always}
        key: {description: "libvirt's unique key.", type: str, returned: always}
        format: {description: "Format (qcow2, raw, ...).", type: str, returned: always}
        capacity: {description: "Virtual size in bytes.", type: int, returned: always}
        allocation: {description: "Bytes allocated on the host.", type: int, returned: always}
        provisioning: {description: "V(thick) when fully allocated, else V(thin).", type: str, returned: always}
        owner: {description: "Owner uid of the volume's file, as libvirt reads it.", type: int, returned: always}
        group: {description: "Group gid of the volume's file.", type: int, returned: always}
        mode: {description: "Permission bits of the volume's file, an octal string such as 0600.", type: str, returned: always}
        label: {description: "SELinux label (null without SELinux).", type: str, returned: always}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage import StorageInfoService


def main():
    run(StorageInfoService)


if __name__ == "__main__":
    main()
