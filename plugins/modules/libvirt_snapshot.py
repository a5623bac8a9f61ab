#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_snapshot
short_description: Create, revert, delete and prune snapshots of a libvirt guest (internal qcow2 or external disk-only)
version_added: 0.2.0
description:
  - Manages the snapshots of one guest and always returns the guest's snapshot list.
  - An V(internal) snapshot is kept inside the guest's qcow2 images; taken while the guest runs it
    also holds the guest's memory (libvirt pauses the guest while it saves it, also under TCG), and
    reverting to it resumes the guest where it was. Taken while the guest is shut off it holds the
    disks only.
  - An V(external) snapshot is disk-only (libvirt's C(--disk-only)); each disk gets a new qcow2 overlay
    file next to it (C(<disk name without extension>.<snapshot name>)) that the guest writes to from
    then on, over the old image as its backing file. It works with raw disks too.
  - Retention (O(keep), O(max_age)) deletes snapshots with O(state=present), with or without O(name);
    the snapshot O(name) names is never deleted by it. A deleted snapshot's children take its parent,
    and libvirt merges (block commit) an external snapshot's overlay into its backing image.
  - Limits of libvirt are checked before anything is touched, in check mode too - an internal snapshot
    of a guest with a disk that is not qcow2, reverting to an external snapshot before libvirt 9.7, and
    deleting an external snapshot made after an internal one fail naming the option, with nothing done.
options:
  domain:
    description: Name of the guest.
    type: str
    required: true
  name:
    description:
      - Name of the snapshot. Required with O(state=absent) and O(state=reverted).
      - Without it, O(state=present) only applies the retention of O(keep) and O(max_age).
    type: str
  state:
    description:
      - V(present) - the snapshot exists; made now when it does not. An existing snapshot is never
        taken again; only its O(description) is updated (its metadata is redefined, its data untouched).
      - V(absent) - the snapshot is deleted; a snapshot that does not exist is no change.
      - V(reverted) - the guest is reverted to the snapshot, which becomes the current one. What the
        guest did since the snapshot cannot be known (its disks and memory move on while it runs), so
        this reverts on every run and always reports a change, like a restart.
    type: str
    default: present
    choices: [present, absent, reverted]
  kind:
    description:
      - V(internal) (the default for a new snapshot) - inside the qcow2 images; every writable disk
        must be qcow2.
      - V(external) - disk-only, into new qcow2 overlay files.
      - Compared with an existing snapshot of O(name); a different kind is an error (delete it first).
    type: str
    choices: [internal, external]
  description:
    description: Free-text description of the snapshot; a different one updates an existing snapshot.
    type: str
  keep:
    description:
      - Keep the newest O(keep) snapshots of the guest (counting the one O(name) makes) and delete the
        older ones. At least 1.
    type: int
  max_age:
    description:
      - Delete the snapshots older than this, as seconds or a number with a unit C(w), C(d), C(h), C(m)
        or C(s), for example V(7d), V(12h), V(1w2d).
    type: raw
notes:
  - Snapshots are ordered by creation time (libvirt keeps it to the second), then parent before child.
  - libvirt 9.0 (Debian 12) deletes external snapshots but reverts only to internal ones, and it cannot
    delete an external snapshot of a disk attached as a pool volume (C(disks[].pool) and C(volume) of
    M(virtcloud.core.libvirt_domain)) - attach the disk by its path to delete external snapshots of it.
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt
seealso:
  - module: virtcloud.core.libvirt_domain
  - module: virtcloud.core.libvirt_volume
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A directory pool for the guest's disk
  virtcloud.core.libvirt_pool:
    name: example-snapshots
    path: /var/tmp/example-snapshots

- name: A qcow2 disk
  virtcloud.core.libvirt_volume:
    pool: example-snapshots
    name: example-snap.qcow2
    capacity: 64MiB

- name: A guest using it by its path (defined, shut off)
  virtcloud.core.libvirt_domain:
    name: example-snap
    virt_type: qemu
    memory: 128MiB
    disks:
      - path: /var/tmp/example-snapshots/example-snap.qcow2

- name: An external (disk-only) snapshot; the guest's writes go to a new overlay file
  virtcloud.core.libvirt_snapshot:
    domain: example-snap
    name: backup-point
    kind: external
    description: back up the disk below the overlay now

- name: Delete it again (its overlay is merged back into the disk)
  virtcloud.core.libvirt_snapshot:
    domain: example-snap
    name: backup-point
    state: absent

- name: An internal snapshot before the upgrade
  virtcloud.core.libvirt_snapshot:
    domain: example-snap
    name: before-upgrade
    description: taken before the upgrade

- name: A nightly internal snapshot, keeping the newest two
  virtcloud.core.libvirt_snapshot:
    domain: example-snap
    name: nightly
    keep: 2

- name: Delete snapshots older than a week (no new snapshot)
  virtcloud.core.libvirt_snapshot:
    domain: example-snap
    max_age: 7d
  register: pruned

- name: Show what is left
  ansible.builtin.debug:
    msg: "{{ pruned.snapshots | map(attribute='name') | list }}"

- name: Revert the guest to a snapshot (changes on every run)
  virtcloud.core.libvirt_snapshot:
    domain: example-snap
    name: before-upgrade
    state: reverted

- name: Delete a snapshot
  virtcloud.core.libvirt_snapshot:
    domain: example-snap
    name: nightly
    state: absent

- name: Remove the guest (and its snapshot metadata)
  virtcloud.core.libvirt_domain:
    name: example-snap
    state: absent

- name: Remove the disk
  virtcloud.core.libvirt_volume:
    pool: example-snapshots
    name: example-snap.qcow2
    state: absent

- name: Remove the pool and its directory
  virtcloud.core.libvirt_pool:
    name: example-snapshots
    state: absent
    delete_data: true
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create internal snapshot before-upgrade of web1", "delete snapshot nightly-1 of web1 (retention)"]
snapshot:
  description: The snapshot O(name) names after the run (predicted in check mode); null when it does not exist.
  returned: always
  type: dict
  contains:
    name: {description: "Snapshot name.", type: str, returned: when present}
    description: {description: "Its description (null when none).", type: str, returned: when present}
    created: {description: "Creation time, seconds since the epoch (null until made).", type: int, returned: when present}
    creation_time: {description: "Creation time in UTC, ISO 8601 (null until made).", type: str, returned: when present}
    state:
      description: The guest's state the snapshot holds - V(running), V(paused), V(shutoff) or V(disk-snapshot) (external).
      type: str
      returned: when present
    kind: {description: "V(internal) or V(external).", type: str, returned: when present}
    parent: {description: "Name of its parent snapshot (null for a root).", type: str, returned: when present}
    current: {description: "Whether it is the guest's current snapshot.", type: bool, returned: when present}
    files:
      description: The overlay files an external snapshot made (null until made); empty for internal ones.
      type: list
      elements: str
      returned: when present
snapshots:
  description: Every snapshot of the guest after the run (predicted in check mode), oldest first, with the keys of RV(snapshot).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.snapshot import SnapshotService


def main():
    run(SnapshotService)


if __name__ == "__main__":
    main()
