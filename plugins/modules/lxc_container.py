#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lxc_container
short_description: Manage a classic LXC container - create, clone, configure, run, freeze, snapshot
version_added: 0.1.0
description:
  - Creates a classic LXC container from a template (C(busybox), C(download), ...) or clones it from
    another container, manages the configuration keys the task names and its network, takes it to
    a run state (started, stopped, frozen), takes named snapshots and restores them, and destroys it.
  - Every key and value is checked by liblxc itself before anything is touched, and compared in
    the form LXC stores it; only the keys the task names are managed. A change is written to the
    container's config. On a running container, cgroup limits (C(lxc.cgroup.*) on cgroup v1,
    C(lxc.cgroup2.*) on cgroup v2, as this host has the controller) are also applied at once, and
    autostart keys (C(lxc.start.*), C(lxc.group)) need nothing more; any other change takes
    effect at the next start, and the result has RV(restart_required=true) and a warning naming the keys.
  - "The steps of a run, in order: stop (with O(state=stopped)), create or clone, restore a snapshot,
    write the configuration, take a snapshot, then start, freeze or thaw. A failure after the
    container was created destroys it again: nothing is left half made."
options:
  name:
    description: Container name (1 to 64 letters, digits, C(_), C(.) or C(-), starting with a letter or digit).
    type: str
    required: true
  state:
    description:
      - V(started) - running (created, started, thawed as needed).
      - V(stopped) - not running; a clean shutdown first (O(timeout)), then LXC kills it.
      - V(frozen) - running, with all its processes frozen (the freezer cgroup).
      - V(restarted) - stopped if running, then started; changes on every run.
      - V(present) - exists; its run state is left as it is (a new container stays stopped).
      - V(absent) - stopped and destroyed with its snapshots. LXC refuses while copy-on-write clones of it exist.
    type: str
    default: started
    choices: [present, started, stopped, restarted, frozen, absent]
  template:
    description:
      - Template a new container is created from (C(lxc-create -t)) - a name from C(/usr/share/lxc/templates)
        without its C(lxc-) prefix, or a path. Only used when the container is created; an unknown template
        fails before anything is touched.
    type: str
  template_options:
    description:
      - Arguments for the template, passed as they are (what follows C(--) of C(lxc-create)), for example
        V([--dist, debian, --release, bookworm, --arch, amd64]) for C(download).
    type: list
    elements: str
  backing_store:
    description:
      - Backing store of the new container's root file system (C(lxc-create -B)); LXC's default (C(dir))
        when omitted. For a clone, the backing store of the copy.
    type: str
    choices: [dir, overlayfs, btrfs, zfs, lvm, loop, best]
  source:
    description:
      - Create the container as a clone of this (stopped) container - a template container made for it.
        Only used when the container is created.
      - LXC writes the clone's own name into its config; everything else (network included) comes from
        the source, so give the clone its own O(network) address.
    type: str
  copy_on_write:
    description:
      - With O(source), clone as a copy-on-write snapshot where the source's backing store allows
        (C(dir) and C(overlayfs) sources give an C(overlayfs) clone over the source's root file system;
        btrfs, zfs and lvm thin pools their own snapshots). The source must then stay - LXC refuses to
        destroy it while the clone exists. V(false) makes a full copy.
    type: bool
    default: true
  config:
    description:
      - "LXC configuration keys (lxc.container.conf(5)) and their values: a string, number or boolean
        (V(true) is C(1)); a list for a key that repeats (C(lxc.mount.entry)) - all of its values; null -
        the key unset (LXC's default)."
      - Only the keys named here are managed. Keys of network 0 (C(lxc.net.0.*)) go in O(network) when
        that is given.
    type: dict
  config_append:
    description:
      - With V(true), a list value in O(config) adds the entries it names to those the key has (the
        template's mount entries stay); with V(false), the list is all of the key's values.
    type: bool
    default: false
  network:
    description:
      - The container's network 0. V(none) - no network but its loopback (LXC's C(empty) as the only
        network; other networks are removed); or a dict with C(type) (V(veth), the default), C(link)
        (the host bridge, required), C(ipv4) (address/prefix, for example V(198.18.5.10/24)), C(gateway)
        (an address or V(auto)), C(name) (in the container, default V(eth0)), C(hwaddr), C(mtu).
      - Fields left out are not set; a MAC address LXC generated is kept. Other networks (C(lxc.net.1) ...)
        are managed through O(config).
      - Omitted, the network is not managed (a new container gets LXC's default from C(lxc.default_config)).
      - The host bridge must exist when the task starts the container.
    type: raw
  snapshot:
    description:
      - Take a snapshot of the (stopped) container under this name, unless it has one of that name
        (C(lxc-snapshot) with the name as its comment). A running container must be stopped in the same task (O(state=stopped)).
    type: str
  restore_snapshot:
    description:
      - Restore the (stopped) container from its snapshot of this name (or LXC's own name of a snapshot,
        C(snap0) ...). The container records the snapshot it was restored from, so a rerun does not
        restore it again; it is restored again after a restore of another snapshot, or when the snapshot
        was taken anew.
      - O(config) and O(network) are then compared with the snapshot's configuration.
    type: str
  timeout:
    description: Seconds to wait for the container to run after a start, and for a clean shutdown before LXC kills it.
    type: int
    default: 60
extends_documentation_fragment:
  - virtcloud.core.lxc
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_lxc
seealso:
  - module: virtcloud.core.lxd_instance
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A bridge for the containers
  virtcloud.core.host_bridge:
    name: example-br-lxc
    addresses: [198.18.5.1/24]

- name: A directory to share with the container
  ansible.builtin.file:
    path: /var/tmp/example-www
    state: directory
    mode: "0755"

- name: A busybox container on the bridge, with memory and CPU limits, started at boot
  virtcloud.core.lxc_container:
    name: example-web
    template: busybox
    network:
      type: veth
      link: example-br-lxc
      ipv4: 198.18.5.10/24
      gateway: 198.18.5.1
    config:
      lxc.cgroup.memory.limit_in_bytes: 128M
      lxc.cgroup.cpu.shares: 512
      lxc.start.auto: true
      lxc.mount.entry:
        - /var/tmp/example-www srv/www none bind,create=dir 0 0
    config_append: true
    state: started

- name: Freeze it
  virtcloud.core.lxc_container:
    name: example-web
    state: frozen

# With an image server: template download, template_options [--dist, debian, --release, bookworm, --arch, amd64].
- name: A stopped template container without network
  virtcloud.core.lxc_container:
    name: example-web-template
    template: busybox
    network: none
    state: stopped

- name: A copy-on-write clone of the stopped template container
  virtcloud.core.lxc_container:
    name: example-web2
    source: example-web-template
    network:
      link: example-br-lxc
      ipv4: 198.18.5.11/24

- name: Stop it and take a snapshot before an upgrade
  virtcloud.core.lxc_container:
    name: example-web2
    snapshot: before-upgrade
    state: stopped
    timeout: 5   # busybox's init in a container ignores the halt signal: LXC kills it after 5 s

- name: Go back to it (the container is stopped) and start it again
  virtcloud.core.lxc_container:
    name: example-web2
    restore_snapshot: before-upgrade
    state: started

- name: Remove the containers and their snapshots
  virtcloud.core.lxc_container:
    name: "{{ item }}"
    state: absent
  loop: [example-web2, example-web-template, example-web]

- name: Remove the bridge
  virtcloud.core.host_bridge:
    name: example-br-lxc
    state: absent

- name: Remove the shared directory
  ansible.builtin.file:
    path: /var/tmp/example-www
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create container web from template busybox", "configure container web", "start container web"]
restart_required:
  description: A configuration change takes effect only when the running container is restarted (a warning names the keys).
  returned: when true
  type: bool
container:
  description: The container after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: Container name., type: str, returned: when present}
    state: {description: "Run state - running, stopped or frozen.", type: str, returned: when present}
    config:
      description: "The keys the task manages, as LXC reports them - a string, or a list for a repeating key."
      type: dict
      returned: when present
      sample: {"lxc.start.auto": "1", "lxc.cgroup.memory.limit_in_bytes": ["128M"]}
    network:
      description: "Network 0 - type (veth, none or another LXC type), link, ipv4, gateway, name, hwaddr, mtu; null without one."
      type: dict
      returned: when present
    snapshots: {description: "Names of the container's snapshots, oldest first.", type: list, elements: str, returned: when present}
    restored_from: {description: The snapshot the container was last restored from by this module., type: str, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.lxc.container import ContainerService


def main():
    run(ContainerService)


if __name__ == "__main__":
    main()
