#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lxd_instances
short_description: Manage many LXD instances in one task
version_added: 0.1.0
description:
  - Reconciles a list of LXD instances in one task. Every item takes exactly the options of
    M(virtcloud.core.lxd_instance) (except the connection options, which are shared) and is handled
    by the same code, so both modules behave the same; this one is much faster for many instances.
  - All items are validated, observed and planned before anything is touched - a bad item (an
    unknown image or profile, a config key LXD does not know) fails the task with nothing changed.
  - One connection serves the whole list. The instances - config, devices, profiles, run state of
    every one - are read with one listing call (C(GET /1.0/instances?recursion=1)), plus one listing of
    the profiles and one of the images when items need them, before the changes and again after
    them; a rerun that changes nothing costs the same few calls for ten instances as for one.
  - Up to eight instances are changed at a time (created, started, stopped, removed), each instance's
    own steps in order. Results and actions are reported in list order.
  - An item that fails rolls back its own steps and no item after it in the list is started. The
    items that were changed stay done (a rerun finishes the list); those before the failed one are
    always changed, and are returned in RV(results).
options:
  instances:
    description:
      - Instances. Each item is a dictionary of the options of M(virtcloud.core.lxd_instance), for
        example C(name), C(image), C(config), C(devices), C(profiles), C(state).
    type: list
    elements: dict
    required: true
extends_documentation_fragment:
  - virtcloud.core.lxd
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_lxd
seealso:
  - module: virtcloud.core.lxd_instance
  - module: virtcloud.core.lxd_info
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

- name: Ten containers from one image, started, in one task
  virtcloud.core.lxd_instances:
    instances: "{{ nodes }}"
  vars:
    nodes: >-
      {% set out = [] %}{% for i in range(10) %}{% set x = out.append({'name': 'example-node%d' % i,
      'image': 'example-busybox', 'config': {'limits.memory': '128MiB'}, 'state': 'started'}) %}{% endfor %}{{ out }}

- name: Two instances spelled out
  virtcloud.core.lxd_instances:
    instances:
      - name: example-db1
        image: example-busybox
        config:
          limits.memory: 1GiB
          user.role: db
        state: started
      - name: example-old1
        state: absent

- name: Remove them all
  virtcloud.core.lxd_instances:
    instances: >-
      {% set out = [{'name': 'example-db1', 'state': 'absent'}] %}{% for i in range(10) %}{%
      set x = out.append({'name': 'example-node%d' % i, 'state': 'absent'}) %}{% endfor %}{{ out }}

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
  description: What was done (or, in check mode, would be done) for all items, in order.
  returned: always
  type: list
  elements: str
restart_required:
  description: At least one running instance has config changes that take effect when it restarts.
  returned: when true
  type: bool
results:
  description:
    - One result per item, in order, each as M(virtcloud.core.lxd_instance) returns it
      (C(changed), C(actions), C(instance), and C(restart_required) or C(diff) when applicable).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import run_batch
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.instance import InstanceService


def main():
    run_batch(InstanceService, "instances")


if __name__ == "__main__":
    main()
