#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lxd_instance
short_description: Manage an LXD instance (container or virtual machine) through the LXD REST API
version_added: 0.1.0
description:
  - Creates an LXD instance from a local image, changes its configuration, devices and profiles in
    place, starts, stops, freezes, restarts and removes it. An existing instance is never
    recreated - every change is one update of the instance (C(PUT /1.0/instances/<name>)).
  - Only what the task names is managed. Config keys it does not set, and devices it does not name
    (unless O(devices_exclusive=true)), are left as they are. Keys LXD writes itself
    (C(volatile.*) such as the generated MAC addresses, C(image.*) describing the source image)
    are never compared and never changed.
  - Everything is checked before anything is touched, in check mode too - the instance name, the
    config keys and their values (against the keys LXD 5.0 knows), the image, the profiles, and
    whether the host runs virtual machines. When LXD still refuses a value when it is written
    (a C(raw.lxc) line, a device it cannot start), nothing half made stays - a new instance is
    removed again, an existing one gets its previous configuration back.
  - LXD background operations (create, start, stop) are waited for, up to O(timeout) seconds each.
options:
  name:
    description:
      - Instance name - 1 to 63 letters, digits and C(-), starting with a letter and not ending
        with C(-) (a host name label, as LXD requires).
    type: str
    required: true
  type:
    description:
      - V(container) or V(virtual-machine); V(container) when a new instance is created without it.
      - A virtual machine needs an LXD host with QEMU (its C(environment.driver) lists C(qemu));
        elsewhere the task fails before anything is touched.
      - LXD cannot change the type of an existing instance; a different type is refused.
    type: str
    choices: [container, virtual-machine]
  image:
    description:
      - The local image a new instance is created from - an alias or a fingerprint (a unique
        prefix is enough). Required when the instance does not exist yet.
      - Used at creation only; the image of an existing instance is not compared.
    type: str
  config:
    description:
      - Instance configuration keys, for example C(limits.memory), C(limits.cpu),
        C(security.nesting), C(boot.autostart), C(environment.*), C(user.*).
      - Only the keys given are managed; a key set to V(null) is removed from the instance.
      - Values are stored as strings by LXD - numbers and booleans are turned into them
        (V(true) becomes C("true"), V(512) becomes C("512")); boolean keys also take C(yes),
        C(on), C(1) and their opposites, stored as C(true) / C(false).
      - Changes reach a running instance at once, except the keys LXD applies on restart only
        (C(security.privileged), C(security.idmap.*), C(raw.lxc), C(raw.idmap), C(raw.seccomp),
        C(security.syscalls.*), C(limits.kernel.*), C(nvidia.*), C(cloud-init.*)) - they are
        stored, a warning names them and RV(restart_required) is set. Measured on LXD 5.0 -
        C(limits.memory) and C(limits.processes) change the cgroup at once, C(security.privileged)
        changes the uid map only on restart, C(environment.*) reaches new C(lxc exec) sessions at
        once (the running init keeps its environment).
      - Keys LXD does not know, C(volatile.*) and C(image.*), and keys of virtual machines on a
        container (C(security.secureboot), C(raw.qemu), ...) are refused naming the key.
    type: dict
  devices:
    description:
      - Devices of the instance itself (not those of its profiles), by name, each a dictionary of
        its properties with its C(type) (C(disk), C(nic), C(proxy), C(none), ...), for example a
        C(disk) device with C(source=/srv/data) and C(path=/data).
      - Each device given is set exactly as given (its whole set of properties); a device set to
        V(null) is removed. Other devices of the instance are kept unless O(devices_exclusive=true).
      - A device named like one of a profile overrides it for this instance (as in LXD).
    type: dict
  devices_exclusive:
    description: Remove the instance's own devices that O(devices) does not name.
    type: bool
    default: false
  profiles:
    description:
      - The profiles of the instance, in order (later profiles override earlier ones). When
        given, exactly this list; every profile must exist.
      - A new instance gets LXD's C(default) profile when not given.
    type: list
    elements: str
  ephemeral:
    description:
      - An ephemeral instance is deleted by LXD when it stops. V(false) for a new instance when not
        given.
      - O(state=stopped) is refused for a running ephemeral instance (it would be deleted); use
        O(state=absent).
    type: bool
  description:
    description: The instance's description.
    type: str
  state:
    description:
      - V(started) - exists and runs (a frozen instance is unfrozen).
      - V(stopped) - exists and is stopped.
      - V(frozen) - exists with its processes frozen (started first if needed).
      - V(restarted) - restarted (started when stopped); always a change.
      - V(present) - exists; a new instance is created stopped and the run state of an existing one
        is left alone.
      - V(absent) - stopped (forcibly) and deleted.
    type: str
    default: started
    choices: [started, stopped, frozen, restarted, present, absent]
  force_stop:
    description: Stop and restart forcibly (kill) instead of asking the instance to shut down.
    type: bool
    default: false
  stop_timeout:
    description: Seconds a clean stop or restart may take before LXD gives up (then the task fails).
    type: int
    default: 30
extends_documentation_fragment:
  - virtcloud.core.lxd
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_lxd
seealso:
  - module: virtcloud.core.lxd_instances
  - module: virtcloud.core.lxd_image
  - module: virtcloud.core.lxd_profile
  - module: virtcloud.core.lxd_network
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

- name: A data directory on the host
  ansible.builtin.file:
    path: /var/tmp/example-web1-data
    state: directory
    mode: "0755"

- name: A container from a local image, with a memory limit and a data directory
  virtcloud.core.lxd_instance:
    name: example-web1
    image: example-busybox
    config:
      limits.memory: 256MiB
      limits.cpu: 1
      boot.autostart: true
      user.role: web
    devices:
      data:
        type: disk
        source: /var/tmp/example-web1-data
        path: /data
    profiles:
      - default
    state: started

- name: Freeze it
  virtcloud.core.lxd_instance:
    name: example-web1
    state: frozen

- name: Drop a key and a device, and restart
  virtcloud.core.lxd_instance:
    name: example-web1
    config:
      user.role: null
    devices:
      data: null
    state: restarted

- name: Remove it
  virtcloud.core.lxd_instance:
    name: example-web1
    state: absent

- name: Remove the data directory
  ansible.builtin.file:
    path: /var/tmp/example-web1-data
    state: absent

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
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create instance web1 from image busybox", "start instance web1"]
restart_required:
  description: Config keys were changed that a running instance applies only when it restarts.
  returned: when true
  type: bool
instance:
  description: The instance after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: Instance name., type: str, returned: when present}
    type: {description: "C(container) or C(virtual-machine).", type: str, returned: when present}
    state: {description: "Run state - C(started), C(stopped) or C(frozen).", type: str, returned: when present}
    config:
      description: "The instance's own config keys, without C(volatile.*) and C(image.*) (LXD's own)."
      type: dict
      returned: when present
      sample: {"limits.memory": "256MiB", "user.role": "web"}
    devices: {description: "The instance's own devices (not its profiles').", type: dict, returned: when present}
    profiles: {description: Profiles in order., type: list, elements: str, returned: when present}
    ephemeral: {description: Whether LXD deletes the instance when it stops., type: bool, returned: when present}
    description: {description: Description., type: str, returned: when present}
    architecture: {description: "Architecture, e.g. C(x86_64).", type: str, returned: when present}
    image: {description: Fingerprint of the image the instance was created from., type: str, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.instance import InstanceService


def main():
    run(InstanceService)


if __name__ == "__main__":
    main()
